// The engine's lifecycle state machine, the kernel link's routing and listener cleanup.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ENGINE_STATES, nextEngineState, isActiveState } from "../src/engine_state.js";
import { routeKernelMessage, listenModel, turnKey, jitterTrait } from "../src/kernel_link.js";
import { abortableSleep } from "../src/audio_graph.js";

test("state machine: a call's path, errors, restarts and dispose", () => {
  const path = [];
  let s = "idle";
  for (const ev of ["start", "ready", "finish", "done", "start", "fail", "start", "finish", "start"]) {
    s = nextEngineState(s, ev);
    path.push(s);
  }
  assert.deepEqual(path, ["starting", "running", "ending", "ended", "starting", "error", "starting", "ending", "starting"]);
  for (const st of ENGINE_STATES) assert.equal(nextEngineState(st, "dispose"), "ended");
  assert.equal(nextEngineState("idle", "ready"), null, "ready only while starting");
  assert.equal(nextEngineState("running", "start"), null, "no second start while a call runs");
  assert.equal(nextEngineState("error", "done"), null, "an error stays shown until the next start");
  assert.equal(nextEngineState("idle", "done"), "ended", "an `end` with no call still shows the call ended");
  assert.equal(nextEngineState("nonsense", "start"), null);
  assert.deepEqual(ENGINE_STATES.filter(isActiveState), ["starting", "running"]);
});

test("kernel messages are routed by kind; anywidget's own are ignored, malformed ones reported", () => {
  const buf = new DataView(new ArrayBuffer(960));
  assert.deepEqual(routeKernelMessage({ kind: "ping", id: 3 }, []), { kind: "ping", id: 3 });
  assert.deepEqual(routeKernelMessage({ kind: "audio", turn_id: "t", seq: 0, final: true }, [buf]), { kind: "audio", turnId: "t", final: true, buffer: buf });
  assert.deepEqual(routeKernelMessage({ kind: "interrupt", turn_id: null }, []), { kind: "interrupt", turnId: null });
  assert.deepEqual(routeKernelMessage({ kind: "end" }, []), { kind: "end", reason: null });
  assert.deepEqual(routeKernelMessage({ kind: "end", reason: "bye" }, []), { kind: "end", reason: "bye" });
  assert.deepEqual(routeKernelMessage({ kind: "anywidget-command" }, []), { kind: "ignore" });
  const bad = routeKernelMessage({ kind: "audio", turn_id: "t", final: false }, []);
  assert.equal(bad.kind, "invalid");
  assert.match(bad.error, /buffer/);
  assert.equal(routeKernelMessage(null, []).kind, "invalid");
  assert.equal(turnKey(undefined), null);
  assert.equal(turnKey("7"), "7");
});

test("jitter_ms trait: a non-negative number is a fixed cushion, anything else adaptive (null)", () => {
  assert.equal(jitterTrait(20), 20);
  assert.equal(jitterTrait(0), 0);
  assert.equal(jitterTrait("35"), 35);
  assert.equal(jitterTrait(-1), null);
  assert.equal(jitterTrait(null), null);
  assert.equal(jitterTrait(undefined), null);
  assert.equal(jitterTrait("x"), null);
});

test("listenModel: the listener goes when the signal aborts; an aborted signal adds nothing", () => {
  const on = [];
  const model = { on: (ev, fn) => on.push([ev, fn]), off: (ev, fn) => on.splice(on.findIndex((x) => x[0] === ev && x[1] === fn), 1) };
  const ac = new AbortController();
  const fn = () => {};
  listenModel(model, "change:x", fn, ac.signal);
  assert.equal(on.length, 1);
  ac.abort();
  assert.equal(on.length, 0);
  listenModel(model, "change:y", fn, ac.signal);
  assert.equal(on.length, 0);
});

test("abortableSleep resolves early on abort", async () => {
  const ac = new AbortController();
  const t0 = performance.now();
  const p = abortableSleep(5000, ac.signal);
  setTimeout(() => ac.abort(), 10);
  await p;
  assert.ok(performance.now() - t0 < 2000);
  await abortableSleep(1); // no signal
});
