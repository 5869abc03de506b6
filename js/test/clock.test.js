import { test } from "node:test";
import assert from "node:assert/strict";
import { ctxTimeToPerf, outputTimestampValid, frameToAudiblePerf, frameToRenderPerf, clockSample, estimateOffset, CaptureClock, CAPTURE_SLEW_MS_PER_S, OutputTimestampFilter } from "../src/clock.js";

test("context time → performance.now() through one getOutputTimestamp reading", () => {
  const ts = { contextTime: 10, performanceTime: 5000 };
  assert.equal(ctxTimeToPerf(10, ts), 5000);
  assert.equal(ctxTimeToPerf(10.25, ts), 5250);
  assert.equal(ctxTimeToPerf(9.9, ts), 4900);
});

test("frame → audible and render times; fallback when the output timestamp is not valid yet", () => {
  const c = { ts: { contextTime: 2, performanceTime: 1000 }, currentTime: 2.05, nowMs: 1100, latencyMs: 40 };
  assert.equal(frameToAudiblePerf(48000, 24000, c), 1000);
  assert.equal(frameToRenderPerf(48000, 24000, c), 960);
  for (const ts of [null, { contextTime: 0, performanceTime: 0 }]) {
    const f = { ...c, ts };
    assert.equal(outputTimestampValid(ts), false);
    // frame at currentTime is rendered "now" and audible latencyMs later
    assert.equal(frameToAudiblePerf(2.05 * 24000, 24000, f), 1140);
    assert.ok(Math.abs(frameToRenderPerf(2.05 * 24000, 24000, f) - 1100) < 1e-9);
  }
  assert.equal(outputTimestampValid(c.ts), true);
});

test("NTP-style samples and min-RTT offset selection", () => {
  assert.deepEqual(clockSample(100, 5060, 120), { offset: 4950, rtt: 20 });
  const true_offset = 4950;
  const samples = [
    { kSend: 0, delayOut: 2, delayBack: 2 },
    { kSend: 100, delayOut: 40, delayBack: 3 }, // asymmetric, big rtt: must not win
    { kSend: 200, delayOut: 1, delayBack: 1.5 },
    { kSend: 300, delayOut: 30, delayBack: 30 },
    { kSend: 400, delayOut: 1.2, delayBack: 1 },
  ].map((s) => clockSample(s.kSend, s.kSend + s.delayOut + true_offset, s.kSend + s.delayOut + s.delayBack));
  const est = estimateOffset(samples, 3);
  assert.ok(Math.abs(est.offset - true_offset) <= 1, `offset ${est.offset}`);
  assert.equal(est.rtt, 4);
  assert.equal(estimateOffset([]), null);
  assert.equal(estimateOffset([{ offset: NaN, rtt: 1 }]), null);
});

/** Readings of a context at `rate` whose output mapping has `offsetAt(nowMs)`; frames every 20 ms. */
function captureRun(clock, offsetAt, { seconds = 4, rate = 48000, latencyMs = 40 } = {}) {
  const stamps = [];
  for (let i = 0; i < seconds * 50; i++) {
    const frame = 96000 + i * 960; // contiguous mic frames, 20 ms apart
    const nowMs = 3000 + i * 20 + 25; // the frame reaches the main thread a little later
    const ctxTime = (nowMs - 3000) / 1000 + 2; // context time now (s)
    const ts = { contextTime: ctxTime, performanceTime: ctxTime * 1000 + offsetAt(nowMs) };
    stamps.push(clock.stamp(frame, rate, { ts, currentTime: ctxTime, nowMs, latencyMs }));
  }
  return stamps;
}

test("capture stamps stay 20 ms apart when the output mapping steps (an output stall) or blips", () => {
  const clock = new CaptureClock();
  // +150 ms step at 1 s (the output fell behind), a 50 ms one-reading blip at 2.5 s
  const offsetAt = (now) => 1000 + (now > 4000 ? 150 : 0) + (Math.abs(now - 5505) < 10 ? 50 : 0);
  const s = captureRun(clock, offsetAt);
  const gaps = s.slice(1).map((t, i) => t - s[i]);
  assert.ok(gaps.every((g) => Math.abs(g - 20) < 0.1), JSON.stringify(gaps.filter((g) => Math.abs(g - 20) >= 0.1)));
  // anchored on the first reading: frame 96000 @ 48 kHz = 2 s → 2000 + 1000 − 40 ms latency
  assert.equal(s[0], 2960);
  assert.equal(clock.steps, 3); // the step, the blip up, the blip down
  assert.ok(Math.abs(clock.stepMs - 150) < 1e-6, String(clock.stepMs));
  // it has followed the step by the slew only: 1 ms/s × ~3 s
  assert.ok(clock.offset - 1000 > 2 && clock.offset - 1000 < 3.5 * CAPTURE_SLEW_MS_PER_S, String(clock.offset));
});

test("capture stamps follow clock drift (0.05 ms/s) and re-anchor on request", () => {
  const clock = new CaptureClock();
  const drift = (now) => 1000 + 0.05e-3 * now;
  const s = captureRun(clock, drift, { seconds: 20 });
  const last = s[s.length - 1];
  const nowLast = 3000 + (s.length - 1) * 20 + 25;
  const ideal = 96000 / 48 + (s.length - 1) * 20 + drift(nowLast) - 40;
  assert.ok(Math.abs(last - ideal) < 0.05, `${last} vs ${ideal}`);
  clock.reanchor();
  const t = clock.stamp(48000, 48000, { ts: { contextTime: 5, performanceTime: 5900 }, currentTime: 5, nowMs: 5900, latencyMs: 0 });
  assert.equal(t, 1900); // the new reading's offset (900 ms), at once
});

test("capture stamps before the output runs use the unanchored fallback", () => {
  const clock = new CaptureClock();
  const c = { ts: { contextTime: 0, performanceTime: 0 }, currentTime: 2.05, nowMs: 1100, latencyMs: 40 };
  assert.ok(Math.abs(clock.stamp(2.05 * 24000, 24000, c) - 1100) < 1e-9);
  assert.equal(clock.offset, null);
});

test("output timestamp filter: a one-reading blip is ignored, a real step is taken at the second reading", () => {
  const f = new OutputTimestampFilter();
  const read = (ctx, off) => f.filter({ contextTime: ctx, performanceTime: ctx * 1000 + off });
  const offs = [];
  const seq = [100, 100, 100, 150, 100, 100, 190, 190, 190];
  seq.forEach((off, i) => offs.push(read(1 + i * 0.02, off).performanceTime - (1 + i * 0.02) * 1000));
  assert.deepEqual(offs.map((o) => Math.round(o)), [100, 100, 100, 100, 100, 100, 100, 190, 190]);
  // invalid readings pass through and are not remembered
  assert.equal(f.filter(null), null);
  assert.deepEqual(f.filter({ contextTime: 0, performanceTime: 0 }), { contextTime: 0, performanceTime: 0 });
  assert.equal(f.offsets.length, 3);
});
