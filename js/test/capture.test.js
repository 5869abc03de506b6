import { test } from "node:test";
import assert from "node:assert/strict";
import { CaptureCore, WIRE_RATE } from "../src/capture.js";
import { pcm16ToFloat32 } from "../src/pcm16.js";
import { tone, peakFrequency, rms, concat } from "./helpers.js";

function feed(core, x, quantum = 128, startFrame = 0) {
  const frames = [];
  for (let i = 0; i + quantum <= x.length; i += quantum) frames.push(...core.process(x.subarray(i, i + quantum), startFrame + i));
  return frames;
}

for (const inRate of [24000, 48000, 44100]) {
  test(`${inRate} Hz context → 480-sample 24 kHz PCM16 frames, stamped with the context frame`, () => {
    assert.equal(WIRE_RATE, 24000);
    const x = tone(440, inRate, inRate, 0.4);
    const core = new CaptureCore({ inRate });
    const frames = feed(core, x, 128, 5000);
    const expected = Math.floor(((Math.floor(inRate / 128) * 128 - (inRate === 24000 ? 0 : core.resampler.latency)) * 24000) / inRate / 480);
    assert.ok(Math.abs(frames.length - expected) <= 1, `${frames.length} frames, expected ≈${expected}`);
    frames.forEach((f, k) => {
      assert.equal(f.samples, 480);
      assert.equal(f.pcm.byteLength, 960);
      assert.ok(Math.abs(f.frame - (5000 + (k * 480 * inRate) / 24000)) < 1e-6);
    });
    const y = concat(frames.map((f) => pcm16ToFloat32(f.pcm)));
    assert.equal(peakFrequency(y.subarray(2400, 14400), 24000, 300, 600), 440);
    assert.ok(Math.abs(frames[10].rms - 0.4 / Math.SQRT2) < 0.01);
    assert.ok(Math.abs(frames[10].peak - 0.4) < 0.01);
  });
}

test("a gap in the render frames restarts the stream (positions stay exact)", () => {
  const core = new CaptureCore({ inRate: 24000 });
  const x = tone(440, 24000, 2048);
  feed(core, x, 128, 0);
  const after = feed(core, x, 128, 100000);
  assert.equal(core.gaps, 1);
  assert.equal(after[0].frame, 100000);
  assert.ok(rms(pcm16ToFloat32(after[0].pcm)) > 0.3);
});
