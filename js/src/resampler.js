// Streaming windowed-sinc resampler, any rate → any rate (used: mic native rate → 24 kHz in the
// capture worklet; 24 kHz → the context rate in the playback worklet when the browser refused a
// 24 kHz AudioContext). State carries across blocks, so output is identical however the input is
// split into blocks: no clicks at block boundaries.

/**
 * Windowed-sinc (Blackman) interpolator with a precomputed kernel table.
 *
 * Output sample n sits exactly at input position n * inRate / outRate (no group delay in the
 * timestamps: the filter is symmetric and looks ahead), so output sample n of the stream maps to
 * input frame `n * inRate / outRate` of the same stream. The look-ahead is `latency` input samples:
 * that many input samples are held back until more input (or `flush()`) arrives.
 */
export class StreamingResampler {
  /**
   * @param {number} inRate input rate, Hz
   * @param {number} outRate output rate, Hz
   * @param {{zeroCrossings?: number, cutoff?: number, tableResolution?: number}} [opts]
   *   zeroCrossings: kernel half-width in zero crossings (default 8);
   *   cutoff: passband edge as a fraction of the lower Nyquist (default 0.92);
   *   tableResolution: kernel table steps per input sample (default 512).
   */
  constructor(inRate, outRate, opts = {}) {
    if (!(inRate > 0) || !(outRate > 0)) throw new RangeError(`resampler rates must be > 0, got ${inRate} → ${outRate}`);
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;
    this.identity = inRate === outRate;
    const zc = opts.zeroCrossings ?? 8;
    const fc = (opts.cutoff ?? 0.92) * Math.min(1, outRate / inRate); // cycles per input sample * 2
    this.fc = fc;
    this.width = Math.ceil(zc / fc); // half-width in input samples
    this.res = opts.tableResolution ?? 512;
    const nTab = this.width * this.res + 2;
    this.table = new Float32Array(nTab);
    for (let i = 0; i < nTab; i++) {
      const t = i / this.res;
      const x = Math.PI * fc * t;
      const sinc = t === 0 ? 1 : Math.sin(x) / x;
      const w = t >= this.width ? 0 : 0.42 + 0.5 * Math.cos((Math.PI * t) / this.width) + 0.08 * Math.cos((2 * Math.PI * t) / this.width);
      this.table[i] = fc * sinc * w;
    }
    this.buf = new Float32Array(4096); // pending input; buf[0] is input index bufStart
    this.bufStart = -this.width; // `width` zeros stand in for the input before the stream start
    this.bufLen = this.width;
    this.totalIn = 0; // input samples received
    this.nOut = 0; // output samples produced
    this.flushed = false;
  }

  /** Input samples held back for look-ahead. */
  get latency() {
    return this.identity ? 0 : this.width;
  }

  /** Kernel value at distance t (input samples), linear interpolation in the table. */
  _h(t) {
    const a = (t < 0 ? -t : t) * this.res;
    const i = a | 0;
    if (i >= this.table.length - 1) return 0;
    const f = a - i;
    return this.table[i] + f * (this.table[i + 1] - this.table[i]);
  }

  _append(input) {
    if (this.bufLen + input.length > this.buf.length) {
      const nb = new Float32Array(Math.max(this.buf.length * 2, this.bufLen + input.length));
      nb.set(this.buf.subarray(0, this.bufLen));
      this.buf = nb;
    }
    this.buf.set(input, this.bufLen);
    this.bufLen += input.length;
  }

  _run(limitIndex) {
    // produce every output n whose window [floor(p) - W + 1, floor(p) + W] lies below limitIndex
    const W = this.width;
    const out = [];
    for (;;) {
      const p = this.nOut * this.step;
      const fl = Math.floor(p);
      if (fl + W >= limitIndex) break;
      if (this.flushed && p >= this.totalIn) break;
      let acc = 0;
      let wsum = 0;
      for (let k = fl - W + 1; k <= fl + W; k++) {
        const h = this._h(p - k);
        wsum += h;
        acc += h * this.buf[k - this.bufStart];
      }
      out.push(wsum !== 0 ? acc / wsum : 0);
      this.nOut++;
    }
    // drop input no output will need again
    const need = Math.floor(this.nOut * this.step) - W + 1;
    const drop = need - this.bufStart;
    if (drop > 0 && drop <= this.bufLen) {
      this.buf.copyWithin(0, drop, this.bufLen);
      this.bufLen -= drop;
      this.bufStart += drop;
    }
    return Float32Array.from(out);
  }

  /**
   * Feed one block of input; returns the output samples that are now complete.
   * @param {Float32Array} input
   * @returns {Float32Array}
   */
  process(input) {
    if (this.flushed) throw new Error("StreamingResampler: process() after flush(); call reset() first");
    this.totalIn += input.length;
    if (this.identity) {
      this.nOut += input.length;
      return Float32Array.from(input);
    }
    this._append(input);
    return this._run(this.bufStart + this.bufLen);
  }

  /**
   * End of stream: pad with zeros and return the remaining output, so that the total output is
   * ceil(totalIn * outRate / inRate) samples.
   * @returns {Float32Array}
   */
  flush() {
    if (this.identity || this.flushed) return new Float32Array(0);
    this._append(new Float32Array(this.width + 2));
    this.flushed = true;
    return this._run(Infinity);
  }

  /** Start a new stream (same rates). */
  reset() {
    this.bufStart = -this.width;
    this.bufLen = this.width;
    this.buf.fill(0, 0, this.width);
    this.totalIn = 0;
    this.nOut = 0;
    this.flushed = false;
  }
}
