// Float ring buffer (FIFO) for the playback worklet. Grows instead of overwriting, up to maxCapacity.

export class FloatRing {
  /**
   * @param {number} capacity initial capacity, samples
   * @param {number} [maxCapacity] hard limit, samples (writes beyond it are refused, see write())
   */
  constructor(capacity, maxCapacity = Infinity) {
    this.data = new Float32Array(Math.max(16, capacity | 0));
    this.maxCapacity = maxCapacity;
    this.readPos = 0;
    this.size = 0;
  }

  /** Samples stored. */
  get available() {
    return this.size;
  }

  get capacity() {
    return this.data.length;
  }

  _grow(need) {
    let cap = this.data.length;
    while (cap < need) cap *= 2;
    cap = Math.min(cap, Math.max(this.maxCapacity, this.data.length));
    if (cap < need) return false;
    const nd = new Float32Array(cap);
    this.read(nd, 0, this.size, true);
    this.data = nd;
    this.readPos = 0;
    return true;
  }

  /**
   * Append samples. Returns how many were stored (fewer only when maxCapacity is reached).
   * @param {Float32Array} samples
   * @returns {number}
   */
  write(samples) {
    let n = samples.length;
    if (this.size + n > this.data.length && !this._grow(this.size + n)) n = this.data.length - this.size;
    const cap = this.data.length;
    const w = (this.readPos + this.size) % cap;
    const first = Math.min(n, cap - w);
    this.data.set(samples.subarray(0, first), w);
    if (n > first) this.data.set(samples.subarray(first, n), 0);
    this.size += n;
    return n;
  }

  /**
   * Move up to `count` samples into out[offset..]; returns how many were read.
   * @param {Float32Array} out
   * @param {number} offset
   * @param {number} count
   * @param {boolean} [peek] copy without consuming
   */
  read(out, offset, count, peek = false) {
    const n = Math.min(count, this.size);
    const cap = this.data.length;
    const first = Math.min(n, cap - this.readPos);
    out.set(this.data.subarray(this.readPos, this.readPos + first), offset);
    if (n > first) out.set(this.data.subarray(0, n - first), offset + first);
    if (!peek) this.skip(n);
    return n;
  }

  /** Discard up to `count` samples from the front; returns how many were discarded. */
  skip(count) {
    const n = Math.min(count, this.size);
    this.readPos = (this.readPos + n) % this.data.length;
    this.size -= n;
    return n;
  }

  /** Discard everything; returns how many samples were discarded. */
  flush() {
    const n = this.size;
    this.readPos = 0;
    this.size = 0;
    return n;
  }
}
