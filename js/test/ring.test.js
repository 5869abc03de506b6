import { test } from "node:test";
import assert from "node:assert/strict";
import { FloatRing } from "../src/ring.js";

const seq = (a, n) => Float32Array.from({ length: n }, (_, i) => a + i);

test("write/read FIFO with wraparound", () => {
  const r = new FloatRing(16, 16);
  assert.equal(r.write(seq(0, 10)), 10);
  const out = new Float32Array(8);
  assert.equal(r.read(out, 0, 8), 8);
  assert.deepEqual(Array.from(out), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(r.write(seq(10, 12)), 12); // wraps
  assert.equal(r.available, 14);
  const all = new Float32Array(14);
  assert.equal(r.read(all, 0, 20), 14);
  assert.deepEqual(Array.from(all), Array.from(seq(8, 14)));
  assert.equal(r.available, 0);
});

test("grows up to maxCapacity, then refuses the excess", () => {
  const r = new FloatRing(16, 64);
  r.write(seq(0, 5));
  r.skip(3);
  assert.equal(r.write(seq(5, 40)), 40);
  assert.equal(r.available, 42);
  const out = new Float32Array(42);
  r.read(out, 0, 42, true);
  assert.deepEqual(Array.from(out), Array.from(seq(3, 42)));
  assert.equal(r.available, 42, "peek does not consume");
  assert.equal(r.write(seq(0, 40)), 22);
  assert.equal(r.available, 64);
});

test("skip and flush", () => {
  const r = new FloatRing(16);
  r.write(seq(0, 10));
  assert.equal(r.skip(4), 4);
  assert.equal(r.flush(), 6);
  assert.equal(r.available, 0);
  const out = new Float32Array(4);
  assert.equal(r.read(out, 0, 4), 0);
});
