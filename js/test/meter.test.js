import { test } from "node:test";
import assert from "node:assert/strict";
import { levelFromRms, EnergyMeter } from "../src/meter.js";

test("level scale: 0 dBFS → 1, -60 dBFS and silence → 0, -30 dBFS → 0.5", () => {
  assert.equal(levelFromRms(1), 1);
  assert.equal(levelFromRms(0), 0);
  assert.equal(levelFromRms(0.001), 0);
  assert.ok(Math.abs(levelFromRms(10 ** (-30 / 20)) - 0.5) < 1e-9);
});

test("fast attack, bounded release", () => {
  const m = new EnergyMeter({ releasePerSecond: 1 });
  assert.equal(m.update(1, 0), 1);
  assert.ok(Math.abs(m.update(0, 100) - 0.9) < 1e-9, "falls 0.1 in 100 ms");
  assert.equal(m.update(1, 120), 1);
  assert.equal(m.update(0, 5000), 0);
});
