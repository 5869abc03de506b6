// Playback core: what the playback AudioWorklet does, as plain testable logic.
// One FIFO ring holds the agent's audio; segments record which turn each stretch belongs to.
// Frames ("frame") are AudioContext sample frames; every count here is in context-rate samples.
import { FloatRing } from "./ring.js";
import { GainRamp } from "./gain.js";
import { PlayoutPolicy } from "./playout.js";

/**
 * @typedef {{type: "started" | "stopped" | "underrun" | "flushed", turnId: string | null,
 *   frame: number, samples: number, dropped?: number, target: number}} PlaybackEvent
 *   target: the playout target depth (frames) when the event happened (after an underrun: grown).
 *   started: frame = first sample of the turn output;
 *   stopped: frame = just after the turn's last sample, samples = played;
 *   underrun: frame = where the silence began, samples = silence inserted mid-turn;
 *   flushed: frame = end of the fade-out, samples = played of that turn, dropped = discarded.
 */

/**
 * Playout target (playout.js: adaptive, or a fixed cushion): a turn starts only when the target
 * depth of it is buffered, or its final chunk arrived, or a later turn is queued behind it.
 * Mid-turn starvation outputs silence and re-buffers to the target; it counts as an underrun only if more audio of that turn arrives afterwards (a
 * turn whose audio simply ended before its `final` flag is not an underrun, and neither is the
 * idle gap between turns). On interrupt the playing turn fades out over `rampSamples`, the rest of
 * that turn is discarded and its later chunks are dropped.
 */
export class PlaybackCore {
  /**
   * @param {{cushionSamples?: number, playout?: import("./playout.js").PlayoutOptions, rate?: number,
   *   rampSamples?: number, maxSamples?: number, shape?: "linear" | "cosine"}} [opts]
   *   rate: context rate (Hz, default 24000); cushionSamples: a fixed cushion (frames), else
   *   `playout` (default adaptive); maxSamples: ring limit (default 10 min at 48 kHz)
   */
  constructor(opts = {}) {
    const rate = opts.rate ?? 24000;
    const fixed = opts.cushionSamples === undefined ? undefined : (Math.max(0, opts.cushionSamples) * 1000) / rate;
    this.policy = new PlayoutPolicy(rate, fixed === undefined ? opts.playout : { ...opts.playout, fixedMs: fixed });
    this.rampSamples = Math.max(1, Math.round(opts.rampSamples ?? 480));
    this.shape = opts.shape ?? "cosine";
    this.ring = new FloatRing(48000 * 4, opts.maxSamples ?? 48000 * 600);
    /** @type {{turn: string | null, left: number, final: boolean, drop: boolean}[]} */
    this.segs = [];
    /** @type {Map<string | null, {turn: string | null, started: boolean, played: number, endFrame: number, starving: boolean, starveFrame: number}>} */
    this.turns = new Map();
    this.interrupted = new Set();
    this.interruptedOrder = [];
    /** @type {(string | null | undefined)[]} */
    this.pendingInterrupts = [];
    /** @type {{gain: GainRamp, key: string | null, turn: string | null} | null} */
    this.ramp = null;
    this.stats = {
      chunks: 0,
      receivedSamples: 0,
      playedSamples: 0,
      underruns: 0,
      underrunSamples: 0,
      flushes: 0,
      flushDroppedSamples: 0,
      lateDroppedSamples: 0,
      overflowDroppedSamples: 0,
      turnsStarted: 0,
      turnsStopped: 0,
    };
  }

  /** A fixed cushion of `samples` frames. @param {number} samples */
  setCushion(samples) {
    this.policy.setFixed((Math.max(0, samples) * 1000) / this.policy.rate);
  }

  /** A fixed cushion of `ms`, or adaptive playout (null). @param {number | null} ms */
  setPlayout(ms) {
    this.policy.setFixed(ms);
  }

  /** The playout target depth, frames. */
  get cushion() {
    return this.policy.target;
  }

  /** Samples buffered (not yet played). */
  get buffered() {
    return this.ring.available;
  }

  /** True while some turn is audible (started and not stopped/flushed). */
  get playing() {
    for (const rec of this.turns.values()) if (rec.started) return true;
    return false;
  }

  _rec(turn) {
    let rec = this.turns.get(turn);
    if (!rec) {
      rec = { turn, started: false, played: 0, endFrame: 0, starving: false, starveFrame: 0 };
      this.turns.set(turn, rec);
    }
    return rec;
  }

  _markInterrupted(turn) {
    if (this.interrupted.has(turn)) return;
    this.interrupted.add(turn);
    this.interruptedOrder.push(turn);
    if (this.interruptedOrder.length > 256) this.interrupted.delete(this.interruptedOrder.shift());
  }

  /**
   * Queue one chunk of a turn. Chunks of an interrupted turn are dropped.
   * @param {string | null} turnId
   * @param {Float32Array} samples
   * @param {boolean} final the turn's last chunk (may be empty)
   * @param {number} [frame] context frame of its arrival (feeds the adaptive playout's jitter estimate)
   * @returns {{accepted: number, dropped: number}}
   */
  write(turnId, samples, final, frame) {
    const turn = turnId ?? null;
    this.stats.chunks++;
    this.stats.receivedSamples += samples.length;
    if (this.interrupted.has(turn)) {
      this.stats.lateDroppedSamples += samples.length;
      return { accepted: 0, dropped: samples.length };
    }
    if (frame !== undefined && samples.length > 0) this.policy.arrival(turn, samples.length, frame);
    let seg = this.segs[this.segs.length - 1];
    if (!seg || seg.turn !== turn || seg.drop) {
      seg = { turn, left: 0, final: false, drop: false };
      this.segs.push(seg);
    }
    this._rec(turn);
    const n = this.ring.write(samples);
    seg.left += n;
    if (final) seg.final = true;
    this.stats.overflowDroppedSamples += samples.length - n;
    return { accepted: n, dropped: samples.length - n };
  }

  /**
   * Flush `turnId` (or everything when null/undefined) at the next render quantum.
   * @param {string | null | undefined} turnId
   */
  interrupt(turnId) {
    this.pendingInterrupts.push(turnId);
  }

  _finish(rec) {
    this.turns.delete(rec.turn);
  }

  _dropMatching(key) {
    let dropped = 0;
    for (const seg of this.segs) {
      if (key === undefined || seg.turn === key) {
        if (!seg.drop) dropped += seg.left;
        seg.drop = true;
        seg.final = true;
      }
    }
    return dropped;
  }

  _startInterrupt(turnId, frame, events) {
    const all = turnId === undefined || turnId === null;
    const key = all ? undefined : turnId;
    if (all) for (const seg of this.segs) this._markInterrupted(seg.turn);
    else this._markInterrupted(key);
    const head = this.segs[0];
    const headRec = head && this.turns.get(head.turn);
    if (head && !head.drop && (all || head.turn === key) && headRec && headRec.started && !headRec.starving && head.left > 0) {
      this.ramp = { gain: new GainRamp(Math.min(this.rampSamples, head.left), this.shape), key, turn: head.turn };
      return;
    }
    const turn = all ? (head ? head.turn : null) : key;
    const dropped = this._dropMatching(key);
    const rec = this.turns.get(turn);
    const played = rec ? rec.played : 0;
    if (rec) this._finish(rec);
    if (all) for (const r of [...this.turns.values()]) this._finish(r);
    this.stats.flushes++;
    this.stats.flushDroppedSamples += dropped;
    events.push({ type: "flushed", turnId: turn, frame, samples: played, dropped, target: this.policy.target });
  }

  /**
   * Render one output block (an AudioWorklet quantum) starting at context frame `frame`.
   * @param {Float32Array} out filled in place (silence where nothing plays)
   * @param {number} frame context frame of out[0]
   * @returns {PlaybackEvent[]}
   */
  render(out, frame) {
    /** @type {PlaybackEvent[]} */
    const events = [];
    out.fill(0);
    while (this.pendingInterrupts.length && !this.ramp) this._startInterrupt(this.pendingInterrupts.shift(), frame, events);
    const n = out.length;
    let i = 0;
    while (i < n) {
      const seg = this.segs[0];
      if (this.ramp) {
        const rec = this._rec(this.ramp.turn);
        const m = Math.min(n - i, this.ramp.gain.remaining, seg ? seg.left : 0);
        if (m > 0) {
          this.ring.read(out, i, m);
          this.ramp.gain.apply(out, i, m);
          seg.left -= m;
          rec.played += m;
          this.stats.playedSamples += m;
          i += m;
        }
        if (this.ramp.gain.done || !seg || seg.left === 0) {
          const dropped = this._dropMatching(this.ramp.key === undefined ? undefined : this.ramp.key);
          this.stats.flushes++;
          this.stats.flushDroppedSamples += dropped;
          events.push({ type: "flushed", turnId: this.ramp.turn, frame: frame + i, samples: rec.played, dropped, target: this.policy.target });
          if (this.ramp.key === undefined) for (const r of [...this.turns.values()]) this._finish(r);
          else this._finish(rec);
          this.ramp = null;
          while (this.pendingInterrupts.length && !this.ramp) this._startInterrupt(this.pendingInterrupts.shift(), frame + i, events);
        }
        continue;
      }
      if (!seg) break; // idle between turns: silence, not an underrun
      if (seg.drop) {
        this.ring.skip(seg.left);
        this.segs.shift();
        continue;
      }
      const rec = this._rec(seg.turn);
      const cushionMet = seg.left >= this.policy.target || seg.final || this.segs.length > 1;
      if (!rec.started) {
        if (!cushionMet) break; // still filling the jitter cushion
        if (seg.left === 0) {
          // a turn that ended without audio: nothing to report
          this.segs.shift();
          this._finish(rec);
          continue;
        }
        rec.started = true;
        this.stats.turnsStarted++;
        events.push({ type: "started", turnId: seg.turn, frame: frame + i, samples: 0, target: this.policy.target });
      }
      if (rec.starving) {
        if (!cushionMet) break; // re-buffering after a mid-turn starvation
        rec.starving = false;
        if (seg.left > 0) {
          const gap = frame + i - rec.starveFrame;
          this.stats.underruns++;
          this.stats.underrunSamples += gap;
          this.policy.underrun(gap);
          events.push({ type: "underrun", turnId: seg.turn, frame: rec.starveFrame, samples: gap, target: this.policy.target });
        }
      }
      if (seg.left > 0) {
        const m = Math.min(n - i, seg.left);
        this.ring.read(out, i, m);
        seg.left -= m;
        rec.played += m;
        this.stats.playedSamples += m;
        this.policy.smooth(m);
        i += m;
        rec.endFrame = frame + i;
        continue;
      }
      if (seg.final || this.segs.length > 1) {
        this.segs.shift();
        this.stats.turnsStopped++;
        events.push({ type: "stopped", turnId: seg.turn, frame: rec.endFrame, samples: rec.played, target: this.policy.target });
        this._finish(rec);
        continue;
      }
      rec.starving = true;
      rec.starveFrame = frame + i;
      break;
    }
    return events;
  }
}
