// The page's choice of transport before `ready` (KernelLink.negotiate) and kernel envelopes on the
// base64 transport (routeKernelMessage), with a fake anywidget model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { KernelLink, routeKernelMessage } from "../src/kernel_link.js";
import { probeBuffer, PROBE_BYTES } from "../src/messages.js";
import { fakeModel } from "./helpers.js";

/** A fake model whose kernel answers the page: `kernel(msg, buffers)` returns [reply, buffers] or null. */
function answeringModel(traits, kernel) {
  const model = fakeModel(traits);
  const record = model.send.bind(model);
  model.send = (msg, cb, buffers) => {
    record(msg, cb, buffers);
    const reply = kernel(msg, buffers || []);
    if (reply) setTimeout(() => model.emit("msg:custom", ...reply), 1);
  };
  return model;
}

const handlers = (got) => ({ message: (r) => got.push(r), status() {}, muted() {}, jitter() {} });
const intact = (b) => b.length === 1 && new Uint8Array(b[0]).every((x, i) => x === PROBE_BYTES[i]) && new Uint8Array(b[0]).length === 256;

test("auto: binary when the probe buffer arrives intact both ways", async () => {
  const model = answeringModel({ transport: "auto" }, (msg, b) => (msg.kind === "probe" ? [{ kind: "probe", id: msg.id, received: intact(b) }, [new DataView(probeBuffer())]] : null));
  const got = [];
  const link = new KernelLink(model, handlers(got), new AbortController().signal);
  const r = await link.negotiate(new AbortController().signal);
  assert.deepEqual(r, { transport: "binary", probe: { to_kernel: true, to_page: true, forced: false } });
  assert.equal(got.length, 0, "the probe answer is the link's, not the engine's");
  link.mic(1, new Int16Array(480).buffer);
  assert.equal(model.sent.at(-1).buffers.length, 1);
});

test("auto: base64 when the kernel's buffer is lost (Colab), or its page buffer was, or no answer comes", async () => {
  const cases = [
    [(msg, b) => [{ kind: "probe", id: msg.id, received: intact(b) }, []], { to_kernel: true, to_page: false }],
    [(msg) => [{ kind: "probe", id: msg.id, received: false }, [probeBuffer()]], { to_kernel: false, to_page: true }],
    [() => null, { to_kernel: null, to_page: false }],
  ];
  for (const [kernel, want] of cases) {
    const model = answeringModel({}, (msg, b) => (msg.kind === "probe" ? kernel(msg, b) : null));
    const link = new KernelLink(model, handlers([]), new AbortController().signal);
    const r = await link.negotiate(new AbortController().signal, 50);
    assert.deepEqual(r, { transport: "base64", probe: { ...want, forced: false } });
    link.mic(1, new Int16Array([1, 2, 3]).buffer);
    const last = model.sent.at(-1);
    assert.deepEqual(last.buffers, []);
    assert.equal(typeof last.msg.buffers_b64[0], "string");
  }
});

test("forced: no probe; an aborted call step stops waiting", async () => {
  const model = answeringModel({ transport: "base64" }, () => null);
  const link = new KernelLink(model, handlers([]), new AbortController().signal);
  assert.deepEqual(await link.negotiate(new AbortController().signal), { transport: "base64", probe: { to_kernel: null, to_page: null, forced: true } });
  assert.equal(model.sent.length, 0);
  const m2 = answeringModel({ transport: "auto" }, () => null);
  const l2 = new KernelLink(m2, handlers([]), new AbortController().signal);
  const step = new AbortController();
  const pending = l2.negotiate(step.signal, 60_000);
  step.abort();
  assert.equal((await pending).transport, "base64");
  const gone = new AbortController();
  gone.abort();
  assert.equal((await l2.negotiate(gone.signal, 60_000)).transport, "base64"); // already aborted: at once
});

test("kernel envelopes on the base64 transport are routed like binary ones", () => {
  const audio = { kind: "audio", turn_id: "t1", seq: 0, final: true, buffers_b64: [Buffer.from([1, 0, 255, 127]).toString("base64")] };
  const r = routeKernelMessage(audio, []);
  assert.equal(r.kind, "audio");
  assert.deepEqual([...new Uint8Array(r.buffer)], [1, 0, 255, 127]);
  assert.equal(routeKernelMessage({ ...audio, buffers_b64: ["!!"] }, []).kind, "invalid");
  assert.deepEqual(routeKernelMessage({ kind: "probe", id: 3, received: true }, []), { kind: "probe", id: 3, received: true, intact: false });
});
