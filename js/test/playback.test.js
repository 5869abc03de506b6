import { test } from "node:test";
import assert from "node:assert/strict";
import { PlaybackCore } from "../src/playback.js";
import { tone, maxStep } from "./helpers.js";

const Q = 128;

/** Render `quanta` quanta; returns the concatenated output and all events. */
function run(core, quanta, start = { frame: 0 }) {
  const out = new Float32Array(quanta * Q);
  const events = [];
  for (let q = 0; q < quanta; q++) {
    const blk = new Float32Array(Q);
    events.push(...core.render(blk, start.frame));
    out.set(blk, q * Q);
    start.frame += Q;
  }
  return { out, events };
}

const ones = (n, v = 0.5) => new Float32Array(n).fill(v);

test("a turn plays in order; started at its first sample, stopped after the final chunk drains", () => {
  const core = new PlaybackCore({ cushionSamples: 0 });
  const clock = { frame: 1000 };
  run(core, 2, clock); // idle: silence, no events
  core.write("t1", ones(300, 0.25), false);
  core.write("t1", ones(200, 0.5), true);
  const { out, events } = run(core, 5, clock);
  assert.deepEqual(events.map((e) => e.type), ["started", "stopped"]);
  assert.equal(events[0].frame, 1256);
  assert.equal(events[0].turnId, "t1");
  assert.equal(events[1].frame, 1256 + 500);
  assert.equal(events[1].samples, 500);
  assert.equal(out[0], 0.25);
  assert.equal(out[299], 0.25);
  assert.equal(out[300], 0.5);
  assert.equal(out[499], 0.5);
  assert.equal(out[500], 0);
  assert.equal(core.stats.underruns, 0);
  assert.equal(core.playing, false);
});

test("jitter cushion: a turn waits until the cushion is filled, or its final chunk arrives", () => {
  const core = new PlaybackCore({ cushionSamples: 1440 });
  const clock = { frame: 0 };
  core.write("a", ones(960), false);
  let r = run(core, 4, clock);
  assert.deepEqual(r.events, [], "below the cushion: nothing starts");
  assert.equal(Math.max(...r.out), 0);
  core.write("a", ones(480), false);
  r = run(core, 1, clock);
  assert.deepEqual(r.events.map((e) => e.type), ["started"]);
  // a short turn with its final chunk starts at once
  const c2 = new PlaybackCore({ cushionSamples: 1440 });
  c2.write("b", ones(200), true);
  r = run(c2, 3);
  assert.deepEqual(r.events.map((e) => e.type), ["started", "stopped"]);
  // setCushion changes it
  const c3 = new PlaybackCore({ cushionSamples: 1440 });
  c3.setCushion(100);
  c3.write("c", ones(200), false);
  assert.equal(run(c3, 1).events[0].type, "started");
});

test("underrun counted only mid-turn, when more audio of the turn arrives after the gap", () => {
  const core = new PlaybackCore({ cushionSamples: 256 });
  const clock = { frame: 0 };
  core.write("t", ones(512), false);
  let r = run(core, 4, clock); // plays 512, starving from frame 512
  assert.deepEqual(r.events.map((e) => e.type), ["started"]);
  r = run(core, 3, clock); // 384 frames of silence, not yet an underrun
  assert.deepEqual(r.events, []);
  assert.equal(core.stats.underruns, 0);
  core.write("t", ones(128), false); // below the 256 cushion: keeps re-buffering
  r = run(core, 1, clock);
  assert.deepEqual(r.events, []);
  core.write("t", ones(256), true);
  r = run(core, 4, clock);
  assert.deepEqual(r.events.map((e) => e.type), ["underrun", "stopped"]);
  assert.equal(r.events[0].frame, 512);
  assert.equal(r.events[0].samples, 1024 - 512);
  assert.equal(r.events[1].samples, 512 + 384);
  assert.equal(core.stats.underruns, 1);
  assert.equal(core.stats.underrunSamples, 512);
});

test("no underrun when a turn's audio simply ended before its final flag, or between turns", () => {
  const core = new PlaybackCore({ cushionSamples: 0 });
  const clock = { frame: 0 };
  core.write("t", ones(300), false);
  run(core, 10, clock);
  core.write("t", new Float32Array(0), true); // the final flag comes late, with no audio
  let r = run(core, 1, clock);
  assert.deepEqual(r.events.map((e) => e.type), ["stopped"]);
  assert.equal(r.events[0].frame, 300, "stopped = when the last sample played, not when the flag came");
  r = run(core, 20, clock); // idle gap between turns
  core.write("u", ones(100), false);
  core.write("v", ones(100), true); // a newer turn ends u implicitly
  r = run(core, 3, clock);
  assert.deepEqual(r.events.map((e) => `${e.type}:${e.turnId}`), ["started:u", "stopped:u", "started:v", "stopped:v"]);
  assert.equal(core.stats.underruns, 0);
});

test("interrupt: fade-out over the ramp, rest dropped, late chunks of the turn dropped, flushed reported", () => {
  const core = new PlaybackCore({ cushionSamples: 0, rampSamples: 480 });
  const clock = { frame: 0 };
  const x = tone(440, 24000, 24000, 0.5);
  core.write("t", x.subarray(0, 12000), false);
  let r = run(core, 10, clock); // 1280 played
  core.interrupt("t");
  r = run(core, 6, clock);
  const flushed = r.events.filter((e) => e.type === "flushed");
  assert.equal(flushed.length, 1);
  assert.equal(flushed[0].turnId, "t");
  assert.equal(flushed[0].frame, 1280 + 480, "flush done once the ramp ends");
  assert.equal(flushed[0].samples, 1280 + 480);
  assert.equal(flushed[0].dropped, 12000 - 1760);
  assert.ok(maxStep(r.out) < (2 * Math.PI * 440 * 0.5) / 24000 + 0.01, "no click");
  assert.equal(Math.max(...r.out.subarray(480).map(Math.abs)), 0, "silent after the ramp");
  assert.deepEqual(core.write("t", x.subarray(12000, 13000), true), { accepted: 0, dropped: 1000 });
  assert.equal(core.stats.lateDroppedSamples, 1000);
  r = run(core, 10, clock);
  assert.deepEqual(r.events, []);
  assert.equal(core.buffered, 0);
  // the next turn plays normally
  core.write("t2", ones(100), true);
  r = run(core, 1, clock);
  assert.deepEqual(r.events.map((e) => e.type), ["started", "stopped"]);
});

test("interrupt of a turn still in the cushion, of a finished turn, or of everything", () => {
  const core = new PlaybackCore({ cushionSamples: 1000 });
  core.write("a", ones(500), false);
  core.interrupt("a");
  let r = run(core, 1);
  assert.deepEqual(r.events, [{ type: "flushed", turnId: "a", frame: 0, samples: 0, dropped: 500, target: 1000 }]);
  const c2 = new PlaybackCore({ cushionSamples: 0 });
  c2.write("b", ones(100), true);
  run(c2, 2);
  c2.interrupt("b");
  r = run(c2, 1, { frame: 256 });
  assert.deepEqual(r.events, [{ type: "flushed", turnId: "b", frame: 256, samples: 0, dropped: 0, target: 0 }]);
  const c3 = new PlaybackCore({ cushionSamples: 0, rampSamples: 64 });
  c3.write("x", ones(1000), false);
  c3.write("y", ones(1000), false);
  run(c3, 1);
  c3.interrupt(null);
  r = run(c3, 2);
  assert.equal(r.events.length, 1);
  assert.equal(r.events[0].turnId, "x");
  assert.equal(r.events[0].dropped, 1000 - 128 - 64 + 1000);
  assert.equal(c3.write("y", ones(10), false).dropped, 10);
  assert.equal(c3.buffered, 0);
});

test("a fresh turn after an interrupt is not dropped, and an interrupt during a ramp is queued", () => {
  const core = new PlaybackCore({ cushionSamples: 0, rampSamples: 480 });
  core.write("a", ones(5000), false);
  run(core, 2);
  core.interrupt("a");
  core.write("b", ones(300), true);
  let r = run(core, 1);
  core.interrupt("b");
  r = run(core, 10);
  assert.deepEqual(r.events.map((e) => `${e.type}:${e.turnId}`), ["flushed:a", "flushed:b"]);
  assert.equal(core.stats.flushes, 2);
});
