import { test } from "node:test";
import assert from "node:assert/strict";
import { FrameChunker, FRAME_SAMPLES } from "../src/chunker.js";
import { randomBlocks } from "./helpers.js";

test("arbitrary blocks → 480-sample frames with positions, nothing lost or reordered", () => {
  assert.equal(FRAME_SAMPLES, 480);
  const x = Float32Array.from({ length: 10000 }, (_, i) => i);
  const c = new FrameChunker();
  const frames = randomBlocks(x, 11, 1500).flatMap((b) => c.push(b));
  assert.equal(frames.length, Math.floor(10000 / 480));
  frames.forEach((f, k) => {
    assert.equal(f.samples.length, 480);
    assert.equal(f.index, k * 480);
    assert.equal(f.samples[0], k * 480);
    assert.equal(f.samples[479], k * 480 + 479);
  });
  assert.equal(c.pending, 10000 % 480);
});

test("128-sample render quanta: 15 quanta → 4 frames; frames are not reused buffers", () => {
  const c = new FrameChunker(480);
  const out = [];
  for (let q = 0; q < 15; q++) out.push(...c.push(new Float32Array(128).fill(q)));
  assert.equal(out.length, 4);
  assert.notEqual(out[0].samples, out[1].samples);
  assert.equal(out[1].samples[0], 3); // sample 480 is in quantum 3
  c.reset();
  assert.equal(c.pending, 0);
  assert.throws(() => new FrameChunker(0), RangeError);
});
