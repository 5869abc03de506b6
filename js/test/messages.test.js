import { test } from "node:test";
import assert from "node:assert/strict";
import * as M from "../src/messages.js";

test("kind sets match the contract (docs/architecture.md, vatel_nb/widget/_messages.py)", () => {
  assert.deepEqual([...M.BROWSER_KINDS].sort(), ["control", "mic", "playback", "pong", "probe", "ready", "status"]);
  assert.deepEqual([...M.KERNEL_KINDS].sort(), ["audio", "end", "interrupt", "ping", "probe"]);
  assert.deepEqual([...M.CONTROL_ACTIONS].sort(), ["end", "mute", "probe-kernel-audio", "start", "unmute", "use-kernel-audio", "use-page-audio"]);
  assert.deepEqual([...M.PLAYBACK_EVENTS].sort(), ["flushed", "started", "stopped", "underrun"]);
  assert.ok(Object.isFrozen(M.BROWSER_KINDS));
  for (const s of ["mic-denied", "insecure-context", "no-audio-worklet", "vscode-webview"]) assert.ok(M.STATUS_STATES.includes(s));
});

test("builders produce valid browser envelopes with the contract's field names", () => {
  const ready = M.readyMsg({ contextRate: 48000, baseLatencyMs: 5.3333, outputLatencyMs: 12, userAgent: "UA", processing: true });
  assert.deepEqual(ready, { kind: "ready", sample_rate: 24000, context_rate: 48000, base_latency_ms: 5.333, output_latency_ms: 12, user_agent: "UA", processing: true, transport: "binary" });
  const msgs = [
    [ready, []],
    [M.micMsg(3, 1234.56789, 480), [new ArrayBuffer(960)]],
    [M.playbackMsg({ event: "started", turnId: "t1", tBrowser: 99.5, samples: 0, outputLatencyMs: 20 }), []],
    [M.playbackMsg({ event: "flushed", turnId: null, tBrowser: 99.5, samples: 10, droppedSamples: 5, targetMs: 21.3333333 }), []],
    [M.pongMsg(7, 12.5), []],
    [M.controlMsg("mute"), []],
    [M.statusMsg("mic-denied", "Allow it."), []],
    [M.statusMsg("starting"), []],
  ];
  for (const [m, b] of msgs) assert.deepEqual(M.validateBrowserMessage(m, b), { ok: true, kind: m.kind }, JSON.stringify(m));
  assert.deepEqual(M.micMsg(3, 1234.56789, 480), { kind: "mic", seq: 3, t_browser: 1234.568, samples: 480 });
  assert.deepEqual(msgs[3][0], { kind: "playback", event: "flushed", turn_id: null, t_browser: 99.5, samples: 10, dropped_samples: 5, target_ms: 21.333 });
  assert.equal(msgs[2][0].output_latency_ms, 20);
  assert.ok(!("error" in M.statusMsg("starting")));
  assert.throws(() => M.controlMsg("dance"), /unknown control action/);
  assert.throws(() => M.playbackMsg({ event: "paused", turnId: null, tBrowser: 0, samples: 0 }), /unknown playback event/);
});

test("browser validator rejects what the kernel would reject", () => {
  const bad = [
    [null, [], /object/],
    [{ kind: "hello" }, [], /unknown envelope kind/],
    [{ kind: "mic", seq: 1.5, t_browser: 0, samples: 480 }, [new ArrayBuffer(2)], /seq/],
    [{ kind: "mic", seq: 1, t_browser: 0, samples: 480 }, [], /1 buffer/],
    [{ kind: "playback", event: "started", turn_id: "t", samples: 0 }, [], /t_browser/],
    [{ kind: "control", action: "dance" }, [], /action/],
    [{ kind: "status", state: "" }, [], /state/],
  ];
  for (const [m, b, re] of bad) {
    const v = M.validateBrowserMessage(m, b);
    assert.equal(v.ok, false);
    assert.match(v.error, re);
  }
});

test("kernel validator: accepts the four kinds, DataView and Uint8Array buffers; never throws", () => {
  const dv = new DataView(new ArrayBuffer(960));
  const u8 = new Uint8Array(960);
  assert.equal(M.validateKernelMessage({ kind: "audio", turn_id: "t", seq: 0, final: false }, [dv]).ok, true);
  assert.equal(M.validateKernelMessage({ kind: "audio", turn_id: null, seq: 0, final: true }, [u8]).ok, true);
  assert.equal(M.validateKernelMessage({ kind: "interrupt", turn_id: "t" }).ok, true);
  assert.equal(M.validateKernelMessage({ kind: "ping", id: 4 }).ok, true);
  assert.equal(M.validateKernelMessage({ kind: "end", reason: "bye" }).ok, true);
  const bad = [
    [{ kind: "audio", turn_id: "t", final: false }, []],
    [{ kind: "audio", turn_id: "t", final: "yes" }, [u8]],
    [{ kind: "audio", turn_id: {}, final: false }, [u8]],
    [{ kind: "audio", turn_id: "t", final: false }, ["text"]],
    [{ kind: "ping" }, []],
    [{ kind: "end", reason: 3 }, []],
    [{ kind: "mic" }, []],
    ["audio", []],
    [[1, 2], []],
  ];
  for (const [m, b] of bad) assert.equal(M.validateKernelMessage(m, b).ok, false, JSON.stringify(m));
});

test("base64 transport: pack and unpack are inverses, both ways; the probe checks every byte", () => {
  const pcm = new Int16Array([0, 1, -1, 32767, -32768, 1234]);
  const { msg, buffers } = M.packBuffers(M.micMsg(0, 1, 6), [pcm], "base64");
  assert.deepEqual(buffers, []);
  assert.equal(msg.buffers_b64.length, 1);
  assert.equal(Buffer.from(msg.buffers_b64[0], "base64").toString("hex"), Buffer.from(pcm.buffer).toString("hex"));
  const back = M.unpackBuffers(JSON.parse(JSON.stringify(msg)), []);
  assert.equal(back.ok, true);
  assert.deepEqual(back.msg, M.micMsg(0, 1, 6));
  assert.deepEqual(new Int16Array(back.buffers[0].buffer), pcm);
  assert.deepEqual(M.validateBrowserMessage(back.msg, back.buffers), { ok: true, kind: "mic" });
  // binary: unchanged, the same buffers
  const bin = M.packBuffers(M.micMsg(0, 1, 6), [pcm.buffer], "binary");
  assert.equal(bin.buffers[0], pcm.buffer);
  // kernel → page, as the kernel's envelope.pack writes it
  const audio = { kind: "audio", turn_id: "t", seq: 0, final: false, buffers_b64: [Buffer.from([1, 0, 2, 0]).toString("base64")] };
  const got = M.unpackBuffers(audio, undefined);
  assert.deepEqual(M.validateKernelMessage(got.msg, got.buffers), { ok: true, kind: "audio" });
  assert.deepEqual([...got.buffers[0]], [1, 0, 2, 0]);
  assert.equal(M.unpackBuffers({ kind: "audio", buffers_b64: ["***"] }, []).ok, false);
  assert.match(M.unpackBuffers({ kind: "audio", buffers_b64: ["AA=="] }, [new ArrayBuffer(2)]).error, /both/);
  assert.match(M.unpackBuffers({ kind: "audio", buffers_b64: "AA==" }, []).error, /list of base64/);
  // probes
  assert.ok(M.probeOk([M.probeBuffer()]));
  assert.ok(M.probeOk([new DataView(M.probeBuffer())]));
  const bad = new Uint8Array(M.probeBuffer());
  bad[200] = 0;
  assert.equal(M.probeOk([bad]), false);
  assert.equal(M.probeOk([]), false);
  assert.equal(M.probeOk(undefined), false);
  assert.equal(M.probeOk([new Uint8Array(255)]), false);
  assert.deepEqual(M.validateBrowserMessage(M.probeMsg(1), [M.probeBuffer()]), { ok: true, kind: "probe" });
  assert.deepEqual(M.validateKernelMessage({ kind: "probe", id: 1, received: false }, [M.probeBuffer()]), { ok: true, kind: "probe" });
  assert.equal(M.validateKernelMessage({ kind: "probe", id: 1 }, []).ok, false);
  const ready = M.readyMsg({ contextRate: 24000, baseLatencyMs: 0, outputLatencyMs: 0, userAgent: "", processing: false, transport: "base64", probe: { to_kernel: false, to_page: null, forced: false } });
  assert.equal(ready.transport, "base64");
  assert.deepEqual(ready.probe, { to_kernel: false, to_page: null, forced: false });
  assert.throws(() => M.readyMsg({ contextRate: 1, baseLatencyMs: 0, outputLatencyMs: 0, userAgent: "", processing: false, transport: "text" }), /transport/);
});
