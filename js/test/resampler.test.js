import { test } from "node:test";
import assert from "node:assert/strict";
import { StreamingResampler } from "../src/resampler.js";
import { tone, peakFrequency, maxStep, rms, randomBlocks, concat } from "./helpers.js";

for (const inRate of [48000, 44100, 16000]) {
  test(`${inRate} → 24000: tone frequency, amplitude and length survive`, () => {
    const n = inRate; // 1 s
    const x = tone(1000, inRate, n, 0.5);
    const r = new StreamingResampler(inRate, 24000);
    const y = concat([r.process(x), r.flush()]);
    assert.equal(y.length, Math.ceil((n * 24000) / inRate));
    const mid = y.subarray(2400, 2400 + 12000);
    assert.equal(peakFrequency(mid, 24000, 900, 1100), 1000);
    assert.ok(Math.abs(rms(mid) - 0.5 / Math.SQRT2) < 0.01, `rms ${rms(mid)}`);
  });
}

test("48000 → 24000: output sample n sits at input position 2n (no time shift)", () => {
  const x = tone(440, 48000, 4800, 0.5);
  const r = new StreamingResampler(48000, 24000);
  const y = concat([r.process(x), r.flush()]);
  const expected = tone(440, 24000, y.length, 0.5);
  let err = 0;
  for (let i = 100; i < y.length - 100; i++) err = Math.max(err, Math.abs(y[i] - expected[i]));
  assert.ok(err < 0.01, `max error vs ideal ${err}`);
});

test("a tone above the output Nyquist is removed (anti-aliasing)", () => {
  const x = tone(15000, 48000, 48000, 0.5);
  const r = new StreamingResampler(48000, 24000);
  const y = concat([r.process(x), r.flush()]);
  assert.ok(rms(y.subarray(1000, y.length - 1000)) < 0.01, `aliased energy ${rms(y)}`);
});

for (const inRate of [48000, 44100]) {
  test(`${inRate} → 24000: random block sizes give the same output as one block (no boundary clicks)`, () => {
    const x = tone(700, inRate, inRate / 2, 0.6);
    const whole = new StreamingResampler(inRate, 24000);
    const a = concat([whole.process(x), whole.flush()]);
    const split = new StreamingResampler(inRate, 24000);
    const b = concat([...randomBlocks(x).map((blk) => split.process(blk)), split.flush()]);
    assert.equal(b.length, a.length);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    assert.ok(diff < 1e-6, `block split changes the output by ${diff}`);
    // continuity: no step larger than the tone's own slope allows
    const slope = (2 * Math.PI * 700 * 0.6) / 24000;
    assert.ok(maxStep(b.subarray(50, b.length - 50)) < slope * 1.05);
  });
}

test("24000 → 48000 upsampling keeps the tone", () => {
  const x = tone(1000, 24000, 24000, 0.5);
  const r = new StreamingResampler(24000, 48000);
  const y = concat([...randomBlocks(x, 3, 300).map((b) => r.process(b)), r.flush()]);
  assert.equal(y.length, 48000);
  assert.equal(peakFrequency(y.subarray(4800, 4800 + 24000), 48000, 900, 1100), 1000);
});

test("identical rates pass samples through unchanged; reset restarts; bad rates throw", () => {
  const r = new StreamingResampler(24000, 24000);
  const x = tone(300, 24000, 1000);
  assert.deepEqual(Array.from(r.process(x)), Array.from(x));
  assert.equal(r.latency, 0);
  const d = new StreamingResampler(48000, 24000);
  const a = concat([d.process(x), d.flush()]);
  assert.throws(() => d.process(x), /after flush/);
  d.reset();
  const b = concat([d.process(x), d.flush()]);
  assert.deepEqual(Array.from(b), Array.from(a));
  assert.throws(() => new StreamingResampler(0, 24000), RangeError);
});
