import { test } from "node:test";
import assert from "node:assert/strict";
import { Sender } from "../src/sender.js";
import { takenUp } from "../src/kernel_link.js";
import { unpackBuffers, validateBrowserMessage, pongMsg } from "../src/messages.js";

const frame = (v) => new Int16Array(480).fill(v);

test("a channel whose send returns nothing (Jupyter): every frame is its own mic envelope", () => {
  const sent = [];
  const s = new Sender((msg, buffers) => sent.push({ msg, buffers }));
  for (let i = 0; i < 5; i++) s.mic(100 + 20 * i, frame(i));
  assert.deepEqual(sent.map((x) => [x.msg.seq, x.msg.t_browser, x.msg.samples]), [0, 1, 2, 3, 4].map((i) => [i, 100 + 20 * i, 480]));
  for (const { msg, buffers } of sent) assert.deepEqual(validateBrowserMessage(msg, buffers), { ok: true, kind: "mic" });
  assert.equal(s.counts.coalesced, 0);
});

test("a promise channel (marimo): frames coalesce while two sends are in flight, none lost, order kept", async () => {
  const sent = [];
  const resolvers = [];
  const s = new Sender((msg, buffers) => {
    sent.push({ msg, buffers });
    return new Promise((r) => resolvers.push(r));
  });
  for (let i = 0; i < 7; i++) s.mic(20 * i, frame(i));
  assert.equal(sent.length, 2); // two in flight, five waiting
  resolvers.shift()();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(sent.length, 3);
  assert.deepEqual([sent[2].msg.seq, sent[2].msg.t_browser, sent[2].msg.samples], [2, 40, 5 * 480]);
  const pcm = new Int16Array(sent[2].buffers[0]);
  assert.deepEqual([pcm[0], pcm[480], pcm[5 * 480 - 1]], [2, 3, 6]);
  assert.equal(s.counts.maxBatch, 5);
  // a failed send frees its slot too
  resolvers.shift()();
  s.mic(200, frame(9));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(sent.length, 4);
  assert.equal(sent[3].msg.seq, 3);
  // a new call: seq from 0, old in-flight promises do not free slots of the new call
  s.reset();
  s.mic(1000, frame(1));
  resolvers.shift()();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(sent[4].msg.seq, 0);
  assert.equal(s.inFlight, 1);
});

test("base64 transport: mic and any other envelope are packed; a send that throws is reported", () => {
  const sent = [];
  const errors = [];
  const s = new Sender((msg, buffers) => sent.push({ msg, buffers }), { onError: (k) => errors.push(k) });
  s.transport = "base64";
  s.mic(5, frame(7));
  s.send(pongMsg(1, 2));
  assert.deepEqual(sent[0].buffers, []);
  const back = unpackBuffers(JSON.parse(JSON.stringify(sent[0].msg)), sent[0].buffers);
  assert.deepEqual(validateBrowserMessage(back.msg, back.buffers), { ok: true, kind: "mic" });
  assert.deepEqual(new Int16Array(back.buffers[0].buffer), frame(7));
  assert.deepEqual(sent[1].msg, pongMsg(1, 2));
  const bad = new Sender(() => {
    throw new Error("comm closed");
  }, { onError: (k) => errors.push(k) });
  bad.send(pongMsg(1, 2));
  assert.deepEqual(errors, ["pong"]);
});

/** A Jupyter-like channel: send returns nothing; the kernel's idle status for a message comes later. */
function ackChannel() {
  const sent = [];
  const timers = [];
  const s = new Sender((msg, buffers, done) => sent.push({ msg, buffers, done }), {
    setTimeout: (fn, ms) => timers.push({ fn, ms, live: true }) - 1,
    clearTimeout: (i) => (timers[i].live = false),
  });
  return { s, sent, timers };
}

test("a channel with acknowledgements (Jupyter's idle status): frames coalesce while two wait for the kernel", () => {
  const { s, sent, timers } = ackChannel();
  // before any acknowledgement: every frame goes at once (a host that never acknowledges)
  for (let i = 0; i < 3; i++) s.mic(20 * i, frame(i));
  assert.equal(sent.length, 3);
  assert.equal(s.inFlight, 0);
  sent[0].done(); // the kernel took message 0 up: from now on, wait for acknowledgements
  for (let i = 3; i < 7; i++) s.mic(20 * i, frame(i));
  assert.equal(sent.length, 5); // two more in flight, two frames waiting
  assert.deepEqual(sent.slice(3).map((x) => x.msg.samples), [480, 480]);
  sent[3].done();
  assert.equal(sent.length, 6);
  assert.deepEqual([sent[5].msg.seq, sent[5].msg.t_browser, sent[5].msg.samples], [5, 100, 2 * 480]);
  const pcm = new Int16Array(sent[5].buffers[0]);
  assert.deepEqual([pcm[0], pcm[2 * 480 - 1]], [5, 6]);
  sent[3].done(); // a second idle for the same message counts once
  assert.equal(s.inFlight, 2);
  // a kernel that stays busy: a batch still goes out at 3 frames (60 ms), never a second's worth
  for (let i = 7; i < 14; i++) s.mic(20 * i, frame(i));
  assert.deepEqual(sent.slice(6).map((x) => x.msg.samples), [3 * 480, 3 * 480]);
  assert.equal(s.pending.length, 1);
  // a lost acknowledgement frees its slot after ackTimeoutMs, and is counted
  const t = timers.find((x) => x.live);
  assert.equal(t.ms, 1000);
  t.fn();
  assert.equal(s.counts.ackTimeouts, 1);
  assert.ok(s.inFlight >= 0, String(s.inFlight));
  // an acknowledgement after the timeout changes nothing
  const before = s.inFlight;
  sent[4].done();
  assert.equal(s.inFlight, before);
});

test("takenUp: ipywidgets' iopub status callback (idle only) and marimo's plain callback both mean done", () => {
  let n = 0;
  const cb = takenUp(() => n++);
  cb.iopub.status({ content: { execution_state: "busy" } });
  assert.equal(n, 0);
  cb.iopub.status({ content: { execution_state: "idle" } });
  assert.equal(n, 1);
  cb();
  assert.equal(n, 2);
});
