// Gain ramps: a short fade-out (10–30 ms) when playback is flushed, so a cut never clicks.

/**
 * Gain of sample `i` (0-based) of an `n`-sample fade-out: 1 → 0, last sample exactly 0.
 * @param {number} i
 * @param {number} n
 * @param {"linear" | "cosine"} [shape]
 */
export function fadeOutGain(i, n, shape = "cosine") {
  if (n <= 1) return 0;
  const x = Math.min(1, Math.max(0, i / (n - 1)));
  return shape === "linear" ? 1 - x : 0.5 * (1 + Math.cos(Math.PI * x));
}

/** A one-shot fade-out applied in place across successive blocks. */
export class GainRamp {
  /**
   * @param {number} samples ramp length (samples at the context rate)
   * @param {"linear" | "cosine"} [shape]
   */
  constructor(samples, shape = "cosine") {
    this.n = Math.max(1, Math.round(samples));
    this.shape = shape;
    this.i = 0;
  }

  /** Samples of ramp left. */
  get remaining() {
    return this.n - this.i;
  }

  get done() {
    return this.i >= this.n;
  }

  /**
   * Multiply buf[start .. start+count) by the next ramp gains (samples past the ramp's end → 0).
   * @param {Float32Array} buf
   * @param {number} [start]
   * @param {number} [count]
   */
  apply(buf, start = 0, count = buf.length - start) {
    for (let k = 0; k < count; k++) {
      buf[start + k] *= this.i < this.n ? fadeOutGain(this.i, this.n, this.shape) : 0;
      this.i++;
    }
  }
}
