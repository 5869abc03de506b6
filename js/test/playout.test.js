import { test } from "node:test";
import assert from "node:assert/strict";
import { PlayoutPolicy } from "../src/playout.js";
import { PlaybackCore } from "../src/playback.js";

const RATE = 24000;
const ms = (x) => Math.round((x * RATE) / 1000);

test("adaptive starts small: one 20 ms wire frame plus the 10 ms margin; fixed stays what it was set to", () => {
  const p = new PlayoutPolicy(RATE);
  assert.equal(p.adaptive, true);
  assert.equal(p.targetMs, 30);
  const f = new PlayoutPolicy(RATE, { fixedMs: 60 });
  assert.equal(f.adaptive, false);
  f.arrival("t", ms(20), 0);
  f.arrival("t", ms(20), ms(200)); // very late: a fixed cushion does not move
  f.underrun(ms(100));
  f.smooth(RATE * 60);
  assert.equal(f.targetMs, 60);
  f.setFixed(null);
  assert.equal(f.adaptive, true);
  assert.equal(f.targetMs, 30);
});

test("bursts faster than real time (the real service) keep the target at its minimum", () => {
  const p = new PlayoutPolicy(RATE);
  let frame = 1000;
  for (let turn = 0; turn < 3; turn++) {
    for (let i = 0; i < 50; i++) {
      p.arrival(`t${turn}`, ms(40), frame);
      frame += i < 10 ? ms(2) : ms(38); // a burst, then slightly faster than real time
    }
    frame += RATE;
  }
  assert.equal(p.targetMs, 30);
});

test("a pause the buffered burst covers (TTS between sentences) is no jitter", () => {
  const p = new PlayoutPolicy(RATE);
  let frame = 5000;
  for (let i = 0; i < 50; i++) p.arrival("t", ms(40), frame + i * ms(2)); // 2 s of audio in 100 ms
  frame += ms(100) + ms(1500); // then 1.5 s of silence on the wire: 0.4 s still buffered
  for (let i = 0; i < 25; i++) p.arrival("t", ms(40), frame + i * ms(40));
  assert.equal(p.targetMs, 30);
  p.arrival("t", ms(40), frame + ms(2000)); // 3 s of audio, due at 3 s from the start: 0.7 s late
  assert.ok(Math.abs(p.targetMs - 400) < 1, `${p.targetMs}`); // (capped)
});

test("arrival jitter grows the target to the observed peak plus a margin, at once", () => {
  const p = new PlayoutPolicy(RATE);
  let rng = 3;
  const rand = () => ((rng = (rng * 1103515245 + 12345) % 2147483648) / 2147483648);
  let peak = 0;
  let first = null;
  for (let i = 0; i < 100; i++) {
    const j = i === 0 ? 0 : rand() * 50; // 0–50 ms of network jitter after an on-time first chunk
    first ??= j;
    peak = Math.max(peak, j - first); // lateness against playout from the first chunk
    p.arrival("t", ms(20), ms(i * 20 + j));
  }
  assert.ok(p.targetMs >= peak - 1 && p.targetMs <= peak + 12, `${p.targetMs} vs peak ${peak}`);
  assert.ok(p.targetMs > 40);
});

test("underruns grow the target (×1.5 and at least the gap); smooth playback shrinks it slowly", () => {
  const p = new PlayoutPolicy(RATE, { decayS: 10 });
  const t0 = p.targetMs;
  p.underrun(ms(30));
  const t1 = p.targetMs;
  assert.ok(t1 >= t0 + 30 - 0.5, `${t0} → ${t1}`);
  p.underrun(ms(1));
  const t2 = p.targetMs;
  assert.ok(t2 - 10 >= 1.5 * (t1 - 10) - 0.5, `${t1} → ${t2}`);
  p.smooth(RATE); // 1 s smooth: ~10 % off the jitter part
  const t3 = p.targetMs;
  assert.ok(t3 < t2 && t3 > t2 * 0.85, `${t2} → ${t3}`);
  p.smooth(RATE * 60); // a minute later: back to the minimum
  assert.equal(p.targetMs, 30);
  p.underrun(RATE * 100);
  assert.equal(p.targetMs, 400, "capped at maxMs");
});

/** Render `quanta` of 128 frames into core; returns the events. */
function render(core, clock, quanta) {
  const events = [];
  for (let q = 0; q < quanta; q++) {
    events.push(...core.render(new Float32Array(128), clock.frame));
    clock.frame += 128;
  }
  return events;
}

test("core: a turn's first chunk plays as soon as the target depth is buffered; events carry the target", () => {
  const core = new PlaybackCore({ rate: RATE });
  const clock = { frame: 0 };
  core.write("a", new Float32Array(ms(20)).fill(0.1), false, clock.frame);
  assert.deepEqual(render(core, clock, 2), [], "one 20 ms wire frame < the 30 ms target: waits");
  core.write("a", new Float32Array(ms(10)).fill(0.1), false, clock.frame);
  const ev = render(core, clock, 1);
  assert.deepEqual(ev.map((e) => [e.type, e.frame, e.target]), [["started", 256, ms(30)]]);
  // starve it: the underrun grows the target, reported on the underrun event
  render(core, clock, 10);
  core.write("a", new Float32Array(ms(100)).fill(0.1), true, clock.frame);
  const ev2 = render(core, clock, 30);
  const under = ev2.find((e) => e.type === "underrun");
  assert.ok(under && under.target > ms(30), JSON.stringify(ev2));
  assert.equal(core.stats.underruns, 1);
  // a fixed cushion is still available
  core.setPlayout(60);
  assert.equal(core.cushion, ms(60));
});

/**
 * A turn of `n` 20 ms chunks sent in real time with per-chunk network jitter (0–`jitterMs`, seeded),
 * played by `core`: returns {underruns, startDelayMs} (first arrival → started).
 */
function jitteredTurn(core, clock, turn, n, jitterMs, seed, burst = 0) {
  let rng = seed;
  const rand = () => ((rng = (rng * 1103515245 + 12345) % 2147483648) / 2147483648);
  const t0 = clock.frame;
  let prev = t0;
  const arrivals = [];
  for (let i = 0; i < n; i++) {
    // the first `burst` chunks at once, then real time (like the simulator's vendor profile)
    const due = i < burst ? 0 : (i - burst + 1) * 20;
    prev = Math.max(prev, t0 + ms(due + rand() * jitterMs)); // in order, like the simulator
    arrivals.push(prev);
  }
  const before = core.stats.underruns;
  let started = null;
  let k = 0;
  while (k < n || core.playing || core.buffered) {
    while (k < n && arrivals[k] <= clock.frame) core.write(turn, new Float32Array(ms(20)).fill(0.1), k === n - 1, arrivals[k++]);
    for (const e of render(core, clock, 1)) if (e.type === "started") started = e.frame;
    if (clock.frame > t0 + RATE * 60) break;
  }
  return { underruns: core.stats.underruns - before, startDelayMs: ((started - arrivals[0]) * 1000) / RATE };
}

test("jittered path: adaptive learns the jitter (fewer underruns than a 20 ms fixed cushion); smooth bursty path: no underruns, starts sooner than 60 ms fixed", () => {
  const run = (core, jitterMs, burst = 0) => {
    const clock = { frame: 0 };
    let underruns = 0;
    const delays = [];
    for (let t = 0; t < 6; t++) {
      const r = jitteredTurn(core, clock, `t${t}`, 100, jitterMs, 11 + t, burst);
      underruns += r.underruns;
      delays.push(r.startDelayMs);
      clock.frame += RATE / 2;
    }
    return { underruns, delays };
  };
  const adaptive = run(new PlaybackCore({ rate: RATE }), 60);
  const fixed20 = run(new PlaybackCore({ rate: RATE, cushionSamples: ms(20) }), 60);
  assert.ok(adaptive.underruns < fixed20.underruns, `adaptive ${adaptive.underruns} vs fixed-20 ${fixed20.underruns}`);
  assert.ok(adaptive.underruns <= 3, `adaptive underruns after learning: ${adaptive.underruns}`);
  // smooth: a burst of 2 chunks (40 ms) then real time, a few ms of jitter
  const smooth = run(new PlaybackCore({ rate: RATE }), 3, 2);
  const smooth60 = run(new PlaybackCore({ rate: RATE, cushionSamples: ms(60) }), 3, 2);
  assert.equal(smooth.underruns, 0);
  assert.ok(Math.max(...smooth.delays) < Math.min(...smooth60.delays), `${smooth.delays} vs ${smooth60.delays}`);
});
