// Frame chunker: arbitrary block sizes in, fixed-size frames out (20 ms = 480 samples at 24 kHz).

/** Default frame: 20 ms at 24 kHz. */
export const FRAME_SAMPLES = 480;

/**
 * Cuts a stream of float blocks into frames of `size` samples. Each frame carries `index`: the
 * stream position (in samples, from the first sample ever pushed) of its first sample.
 */
export class FrameChunker {
  /** @param {number} [size] samples per frame */
  constructor(size = FRAME_SAMPLES) {
    if (!(size > 0) || size !== Math.floor(size)) throw new RangeError(`frame size must be a positive integer, got ${size}`);
    this.size = size;
    this.frame = new Float32Array(size);
    this.fill = 0;
    this.position = 0; // samples pushed so far
  }

  /**
   * @param {Float32Array} block
   * @returns {{samples: Float32Array, index: number}[]} the frames completed by this block
   */
  push(block) {
    const out = [];
    let i = 0;
    while (i < block.length) {
      const m = Math.min(this.size - this.fill, block.length - i);
      this.frame.set(block.subarray(i, i + m), this.fill);
      this.fill += m;
      i += m;
      if (this.fill === this.size) {
        out.push({ samples: this.frame, index: this.position + i - this.size });
        this.frame = new Float32Array(this.size);
        this.fill = 0;
      }
    }
    this.position += block.length;
    return out;
  }

  /** Samples waiting for the next frame. */
  get pending() {
    return this.fill;
  }

  /** Forget the partial frame and restart positions at 0. */
  reset() {
    this.fill = 0;
    this.position = 0;
  }
}
