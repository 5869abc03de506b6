// The engine's kernel-message handling and lifecycle, without audio (node has no AudioContext).
import { test } from "node:test";
import assert from "node:assert/strict";
import { AudioEngine } from "../src/engine.js";

function fakeModel(traits = {}) {
  const state = { muted: false, mic_processing: true, jitter_ms: 60, ...traits };
  const handlers = new Map();
  return {
    sent: [],
    saves: 0,
    get: (k) => state[k],
    set(k, v) {
      state[k] = v;
      for (const h of handlers.get(`change:${k}`) || []) h();
    },
    save_changes() {
      this.saves++;
    },
    on(ev, fn) {
      if (!handlers.has(ev)) handlers.set(ev, new Set());
      handlers.get(ev).add(fn);
    },
    off(ev, fn) {
      handlers.get(ev)?.delete(fn);
    },
    send(msg, _cb, buffers) {
      this.sent.push({ msg, buffers });
    },
    emit(ev, ...args) {
      for (const h of handlers.get(ev) || []) h(...args);
    },
    count: (ev) => (handlers.get(ev) || new Set()).size,
  };
}

test("ping → pong at once, with the same id and a performance.now() stamp", () => {
  const model = fakeModel();
  const eng = new AudioEngine(model, { global: {} });
  const before = performance.now();
  model.emit("msg:custom", { kind: "ping", id: 42 }, []);
  assert.equal(model.sent.length, 1);
  const pong = model.sent[0].msg;
  assert.equal(pong.kind, "pong");
  assert.equal(pong.id, 42);
  assert.ok(pong.t_browser >= before - 0.001 && pong.t_browser <= performance.now() + 0.001);
  assert.equal(eng.snapshot().pings, 1);
});

test("audio before the engine runs is dropped and counted; malformed messages are ignored", () => {
  const model = fakeModel();
  const eng = new AudioEngine(model, { global: {} });
  model.emit("msg:custom", { kind: "audio", turn_id: "t", seq: 0, final: false }, [new DataView(new ArrayBuffer(960))]);
  model.emit("msg:custom", { kind: "audio", turn_id: "t", seq: 1, final: false }, []);
  model.emit("msg:custom", { kind: "anywidget-command", id: "x" }, []);
  const s = eng.snapshot();
  assert.equal(s.chunksReceived, 1);
  assert.equal(s.chunksDropped, 1);
  assert.equal(s.invalid, 1);
  assert.equal(model.sent.length, 0);
});

test("start in an insecure context fails clearly: widget state and a status envelope", async () => {
  const model = fakeModel();
  const g = { isSecureContext: false, navigator: { userAgent: "X" }, location: { protocol: "http:", hostname: "10.1.2.3" } };
  const eng = new AudioEngine(model, { global: g });
  const seen = [];
  eng.subscribe(() => seen.push(eng.state));
  await eng.start();
  assert.equal(eng.state, "error");
  assert.match(eng.error, /https/);
  assert.deepEqual(seen, ["starting", "error"]);
  const kinds = model.sent.map((s) => `${s.msg.kind}:${s.msg.state}`);
  assert.deepEqual(kinds, ["status:starting", "status:insecure-context"]);
  assert.match(model.sent[1].msg.error, /localhost/);
  assert.equal(g.__vatel.engines.at(-1), eng);
  assert.equal(g.__vatel.stats().state, "error");
});

test("mute from the UI sets the trait and tells the kernel; mute from the kernel only updates state", () => {
  const model = fakeModel();
  const eng = new AudioEngine(model, { global: {} });
  eng.setMuted(true);
  assert.equal(model.get("muted"), true);
  assert.equal(model.saves, 1);
  assert.deepEqual(model.sent.map((s) => s.msg), [{ kind: "control", action: "mute" }]);
  model.set("muted", false);
  assert.equal(eng.muted, false);
  assert.equal(model.sent.length, 1);
});

test("dispose detaches every model listener", () => {
  const model = fakeModel();
  const eng = new AudioEngine(model, { global: {} });
  assert.equal(model.count("msg:custom"), 1);
  eng.dispose();
  assert.equal(model.count("msg:custom"), 0);
  assert.equal(model.count("change:muted"), 0);
  assert.equal(model.count("change:status"), 0);
  assert.equal(model.count("change:jitter_ms"), 0);
});

test("the kernel setting status ended/error while the engine runs stops capture", async () => {
  const model = fakeModel();
  const eng = new AudioEngine(model, { global: {} });
  eng.state = "running"; // as if start() had succeeded (node has no audio)
  let stopped = 0;
  eng._stopCapture = () => stopped++;
  model.set("status", "live");
  assert.equal(stopped, 0);
  model.set("status", "error");
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(stopped >= 1, true);
  assert.equal(eng.state, "ended");
  assert.deepEqual(model.sent.at(-1).msg, { kind: "status", state: "ended" });
});

test("Start after End: the last call's late `end` is ignored until the kernel takes up the new call", () => {
  const model = fakeModel({ status: "ended" });
  const eng = new AudioEngine(model, { global: {} });
  let finished = 0;
  eng.finish = async () => {
    finished++;
  };
  eng.state = "running"; // the user pressed Start again; the kernel has not answered yet
  eng.callAcked = false;
  model.emit("msg:custom", { kind: "end", reason: "the call was ended from the page" }, []);
  model.set("status", "ended"); // no change: the last call's status
  assert.equal(finished, 0);
  model.set("status", "connecting"); // the kernel took up the new call
  assert.equal(eng.callAcked, true);
  model.emit("msg:custom", { kind: "end", reason: "the agent ended the call" }, []);
  assert.equal(finished, 1);
});

/** A fake browser scope whose getUserMedia waits until `grant()` is called. */
function fakeBrowser() {
  const closed = [];
  const stopped = [];
  let grant;
  class FakeContext {
    constructor() {
      this.state = "suspended";
      this.sampleRate = 24000;
    }
    async resume() {
      this.state = "running";
    }
    async close() {
      closed.push(this);
    }
  }
  FakeContext.prototype.audioWorklet = {};
  const g = {
    isSecureContext: true,
    AudioContext: FakeContext,
    AudioWorkletNode: function () {},
    navigator: {
      userAgent: "X",
      mediaDevices: {
        getUserMedia: () =>
          new Promise((resolve) => {
            grant = () => resolve({ getTracks: () => [{ stop: () => stopped.push(1) }] });
          }),
      },
    },
    location: { protocol: "https:", hostname: "x" },
  };
  return { g, closed, stopped, grant: () => grant() };
}

test("hanging up while the mic prompt is open cancels the start (AbortController): the late stream is stopped", async () => {
  const model = fakeModel();
  const b = fakeBrowser();
  const eng = new AudioEngine(model, { global: b.g });
  const starting = eng.start();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(eng.state, "starting");
  eng.hangUp();
  assert.equal(eng.state, "ended");
  b.grant();
  await starting;
  assert.equal(eng.state, "ended", "the cancelled start does not come back to life");
  assert.equal(b.stopped.length, 1, "the stream granted after the hang-up is stopped");
  assert.equal(b.closed.length, 1, "its AudioContext is closed");
  assert.deepEqual(model.sent.map((s) => `${s.msg.kind}:${s.msg.state || s.msg.action}`), ["status:starting", "control:end", "status:ended"]);
  assert.equal(eng.snapshot().micOpen, false);
});
