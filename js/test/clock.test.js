import { test } from "node:test";
import assert from "node:assert/strict";
import { ctxTimeToPerf, outputTimestampValid, frameToAudiblePerf, frameToRenderPerf, clockSample, estimateOffset } from "../src/clock.js";

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
