import { test } from "node:test";
import assert from "node:assert/strict";
import { asUint8, pcm16ToFloat32, float32ToPcm16 } from "../src/pcm16.js";

test("float → PCM16 → float round trip within one LSB", () => {
  const x = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 7) * 0.9);
  const y = pcm16ToFloat32(float32ToPcm16(x));
  assert.equal(y.length, x.length);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 2 / 32768, `sample ${i}`); // rounding + the 32767/32768 scale asymmetry
});

test("clipping, extremes and NaN", () => {
  const b = new DataView(float32ToPcm16(Float32Array.from([2, -2, 1, -1, 0, NaN, 0.5])));
  const v = Array.from({ length: 7 }, (_, i) => b.getInt16(2 * i, true));
  assert.deepEqual(v, [32767, -32768, 32767, -32768, 0, 0, 16384]);
});

test("little-endian bytes on the wire", () => {
  const bytes = new Uint8Array(float32ToPcm16(Float32Array.from([1 / 32768 * 258 / 1, -1])));
  // 258/32768 * 32767 rounds to 258 = 0x0102 → bytes 02 01; -1 → 0x8000 → 00 80
  assert.deepEqual(Array.from(bytes), [0x02, 0x01, 0x00, 0x80]);
});

test("decode from ArrayBuffer, DataView, Uint8Array and unaligned offset views", () => {
  const raw = new Uint8Array([0xff, 0x00, 0x40, 0x00, 0xc0, 0xff, 0x7f]); // junk byte, 0x4000, 0xc000 (LE), odd tail
  const expected = [0x4000 / 32768, -0x4000 / 32768];
  const slice = raw.buffer.slice(1, 5);
  assert.deepEqual(Array.from(pcm16ToFloat32(slice)), expected);
  assert.deepEqual(Array.from(pcm16ToFloat32(new DataView(raw.buffer, 1, 4))), expected);
  assert.deepEqual(Array.from(pcm16ToFloat32(new Uint8Array(raw.buffer, 1, 4))), expected);
  assert.deepEqual(Array.from(pcm16ToFloat32(new Uint8Array(raw.buffer, 1, 5))), expected, "odd trailing byte ignored");
  assert.equal(asUint8(new DataView(raw.buffer, 2, 3)).byteOffset, 2);
  assert.throws(() => asUint8("nope"), TypeError);
});

test("encode a sub-range", () => {
  const x = Float32Array.from([0, 0.5, -0.5, 0]);
  assert.equal(float32ToPcm16(x, 1, 2).byteLength, 4);
  assert.deepEqual(Array.from(pcm16ToFloat32(float32ToPcm16(x, 1, 2))).map((v) => Math.round(v * 4) / 4), [0.5, -0.5]);
});
