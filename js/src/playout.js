// Playout buffer policy: how much of a turn must be buffered before it plays (the target depth),
// adapted to what the path does. Pure logic, no audio (node-tested); the playback core asks it for
// `target` and tells it about arrivals, underruns and smooth playback. Counts are context frames.
//
// Adaptive (the default), in the spirit of WebRTC's NetEQ:
// - it starts small (`startMs`: one 20 ms wire frame plus the margin), and never goes below that
//   (`minMs`): a turn whose first chunk is a single wire frame waits for the next one, because any
//   delivery delay of that next chunk starves a turn started with no slack at all (measured:
//   bench_e2e, jittered network, a 20 ms first chunk and the next 13 ms later at the kernel
//   underran at a 20 ms target);
// - arrival jitter: per turn, each chunk's lateness against the real-time schedule that playback
//   follows, anchored at the turn's first chunk (arrival − first arrival − audio before it). The
//   largest lateness seen (the jitter peak) plus a margin is the depth that would have covered it.
//   Chunks ahead of schedule only fill the buffer: a burst faster than real time followed by a
//   pause the burst covers (the real service's TTS between sentences) is no jitter;
// - an underrun (a turn starved mid-way) raises the peak by half, and at least by the gap;
// - while a turn plays without starving, the peak decays slowly (time constant `decayS`).
// Fixed: `target` is always `fixedMs` (the old jitter cushion).

/**
 * @typedef {{fixedMs?: number | null, startMs?: number, minMs?: number, maxMs?: number,
 *   marginMs?: number, decayS?: number}} PlayoutOptions
 *   fixedMs: a number → fixed cushion of that many ms; null/undefined → adaptive.
 */

export class PlayoutPolicy {
  /**
   * @param {number} rate context sample rate, Hz
   * @param {PlayoutOptions} [opts]
   */
  constructor(rate, opts = {}) {
    this.rate = rate;
    this.minMs = opts.minMs ?? 30;
    this.maxMs = opts.maxMs ?? 400;
    this.marginMs = opts.marginMs ?? 10;
    this.decayS = opts.decayS ?? 10;
    this.startMs = opts.startMs ?? 30;
    /** @type {number | null} */
    this.fixedMs = null;
    /** Jitter peak, frames. */
    this.peak = 0;
    this.target = 0;
    /** @type {{turn: string | null, first: number, audio: number} | null} */
    this.arrivals = null;
    this.setFixed(opts.fixedMs ?? null);
  }

  /** @param {number} ms */
  _frames(ms) {
    return Math.round((ms * this.rate) / 1000);
  }

  /** True when the target adapts. */
  get adaptive() {
    return this.fixedMs === null;
  }

  /** Current target depth, ms. */
  get targetMs() {
    return (this.target * 1000) / this.rate;
  }

  /**
   * Switch to a fixed cushion of `ms` (a non-negative number), or back to adaptive (null), which
   * starts over from `startMs`.
   * @param {number | null} ms
   */
  setFixed(ms) {
    if (ms !== null && Number.isFinite(ms) && ms >= 0) {
      this.fixedMs = ms;
      this.target = this._frames(ms);
      return;
    }
    this.fixedMs = null;
    this.peak = Math.max(0, this._frames(this.startMs - this.marginMs));
    this._update();
  }

  _update() {
    if (!this.adaptive) return;
    const lo = this._frames(this.minMs);
    const hi = this._frames(this.maxMs);
    this.target = Math.min(hi, Math.max(lo, Math.round(this.peak) + this._frames(this.marginMs)));
  }

  /**
   * A chunk of `turn` with `samples` frames of audio arrived at context frame `frame`.
   * @param {string | null} turn
   * @param {number} samples
   * @param {number} frame
   */
  arrival(turn, samples, frame) {
    let a = this.arrivals;
    if (!a || a.turn !== turn) {
      a = this.arrivals = { turn, first: frame, audio: 0 };
    }
    // lateness of this chunk against real-time playout from the turn's first arrival
    const jitter = frame - a.first - a.audio;
    a.audio += samples;
    if (!this.adaptive) return;
    if (jitter > this.peak) {
      this.peak = jitter;
      this._update();
    }
  }

  /**
   * A turn starved mid-way for `gap` frames (an underrun): grow.
   * @param {number} gap
   */
  underrun(gap) {
    if (!this.adaptive) return;
    this.peak = Math.min(this._frames(this.maxMs), Math.max(this.peak * 1.5, this.peak + Math.max(0, gap)));
    this._update();
  }

  /**
   * `frames` of a turn played without starving: shrink slowly.
   * @param {number} frames
   */
  smooth(frames) {
    if (!this.adaptive || frames <= 0) return;
    this.peak *= Math.exp(-frames / (this.decayS * this.rate));
    this._update();
  }
}
