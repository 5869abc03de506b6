import { test } from "node:test";
import assert from "node:assert/strict";
import { fadeOutGain, GainRamp } from "../src/gain.js";

test("fade-out gains go 1 → 0 monotonically for both shapes", () => {
  for (const shape of ["linear", "cosine"]) {
    const g = Array.from({ length: 480 }, (_, i) => fadeOutGain(i, 480, shape));
    assert.equal(g[0], 1);
    assert.ok(Math.abs(g[479]) < 1e-12);
    for (let i = 1; i < g.length; i++) assert.ok(g[i] <= g[i - 1]);
    assert.ok(Math.abs(g[240] - 0.5) < 0.01);
  }
  assert.equal(fadeOutGain(0, 1), 0);
});

test("GainRamp across blocks: smooth, then silence; no step larger than the ramp slope", () => {
  const r = new GainRamp(480);
  const buf = new Float32Array(1000).fill(1);
  r.apply(buf, 0, 100);
  r.apply(buf, 100, 900);
  assert.ok(r.done);
  assert.equal(buf[0], 1);
  assert.equal(buf[600], 0);
  let maxStep = 0;
  for (let i = 1; i < 1000; i++) maxStep = Math.max(maxStep, Math.abs(buf[i] - buf[i - 1]));
  assert.ok(maxStep < (Math.PI / 2) * (1 / 479) * 1.01, `step ${maxStep}`);
});
