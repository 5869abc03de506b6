// PCM16 codec: float32 [-1, 1] <-> signed 16-bit little-endian, mono.
// Bundling conventions (vatel_nb/widget/_bundle.py concatenates these files): top level uses only
// `export function|class|const|let` and one-line `import { a, b } from "./x.js";` statements;
// top-level names are unique across js/src.

/**
 * View any binary buffer as bytes, without copying. Jupyter hands comm buffers over as DataView,
 * Colab as Uint8Array; ArrayBuffer and other typed arrays are accepted too.
 * @param {ArrayBuffer | ArrayBufferView} buf
 * @returns {Uint8Array}
 */
export function asUint8(buf) {
  if (buf instanceof Uint8Array) return buf;
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf && typeof buf.byteLength === "number" && buf.constructor && buf.constructor.name === "SharedArrayBuffer") {
    return new Uint8Array(buf);
  }
  throw new TypeError(`expected an ArrayBuffer, DataView or typed array, got ${Object.prototype.toString.call(buf)}`);
}

/**
 * Decode PCM16 little-endian bytes to float32 in [-1, 1) (sample / 32768).
 * Works for any byte offset (unaligned views are fine); an odd trailing byte is ignored.
 * @param {ArrayBuffer | ArrayBufferView} buf
 * @returns {Float32Array}
 */
export function pcm16ToFloat32(buf) {
  const bytes = asUint8(buf);
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n * 2);
  for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true) / 32768;
  return out;
}

/**
 * Encode float samples to PCM16 little-endian, clipping to [-1, 1]
 * (negative * 32768, positive * 32767, rounded; NaN → 0).
 * @param {Float32Array | number[]} samples
 * @param {number} [start] first sample to encode
 * @param {number} [count] number of samples (default: to the end)
 * @returns {ArrayBuffer} a fresh buffer of count * 2 bytes (transferable)
 */
export function float32ToPcm16(samples, start = 0, count = samples.length - start) {
  const out = new ArrayBuffer(count * 2);
  const dv = new DataView(out);
  for (let i = 0; i < count; i++) {
    let s = samples[start + i];
    if (!(s === s)) s = 0;
    s = s < -1 ? -1 : s > 1 ? 1 : s;
    dv.setInt16(2 * i, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  }
  return out;
}
