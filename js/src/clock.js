// Clock math. The page reports one clock only: performance.now() ms ("t_browser").
// AudioContext frames/times are mapped onto it with AudioContext.getOutputTimestamp():
// {contextTime, performanceTime} says which context time is at the audio output *device* at which
// performance.now() instant (Chromium subtracts the output delay when it fills contextTime), so a
// context time mapped with it is an *audible* time: output latency is already included.

/**
 * Map a context time (s) to performance.now() ms with one getOutputTimestamp() reading.
 * @param {number} ctxTime context time, s
 * @param {{contextTime: number, performanceTime: number}} ts
 * @returns {number} ms
 */
export function ctxTimeToPerf(ctxTime, ts) {
  return ts.performanceTime + (ctxTime - ts.contextTime) * 1000;
}

/**
 * Is a getOutputTimestamp() reading usable? (Browsers return zeros before the output runs.)
 * @param {{contextTime?: number, performanceTime?: number} | null | undefined} ts
 */
export function outputTimestampValid(ts) {
  return !!ts && ts.performanceTime > 0 && ts.contextTime > 0 && Number.isFinite(ts.performanceTime);
}

/**
 * performance.now() ms at which context frame `frame` is audible.
 * With a valid output timestamp: ctxTimeToPerf(frame / rate, ts). Without one (output not running
 * yet): the frame being rendered now is `currentTime`; it reaches the device after
 * `latencyMs` (baseLatency + outputLatency), so audible = nowMs + (t - currentTime) * 1000 + latencyMs.
 * @param {number} frame context sample frame
 * @param {number} rate context sample rate, Hz
 * @param {{ts?: {contextTime: number, performanceTime: number} | null, currentTime: number, nowMs: number, latencyMs: number}} c
 * @returns {number} ms
 */
export function frameToAudiblePerf(frame, rate, c) {
  const t = frame / rate;
  if (outputTimestampValid(c.ts)) return ctxTimeToPerf(t, /** @type {any} */ (c.ts));
  return c.nowMs + (t - c.currentTime) * 1000 + c.latencyMs;
}

/**
 * performance.now() ms at which context frame `frame` was *rendered* (processed by the audio
 * thread) — the capture-time estimate for mic input: audible time minus the output latency.
 * The real acoustic capture is earlier by the input latency, which browsers do not expose
 * (typically 5–20 ms; more with Bluetooth); the mapping itself is good to about one render quantum
 * (128 frames, 2.7–5.3 ms) plus the jitter of getOutputTimestamp().
 * @param {number} frame
 * @param {number} rate
 * @param {{ts?: {contextTime: number, performanceTime: number} | null, currentTime: number, nowMs: number, latencyMs: number}} c
 */
export function frameToRenderPerf(frame, rate, c) {
  return frameToAudiblePerf(frame, rate, c) - c.latencyMs;
}

/**
 * One NTP-style sample from a kernel-initiated ping: the kernel sent at kSend and received the
 * pong at kRecv (both ms on the kernel clock); the page stamped tBrowser (ms) in between.
 * @returns {{offset: number, rtt: number}} offset = tBrowser − (kSend + kRecv)/2, rtt = kRecv − kSend (ms)
 */
export function clockSample(kSend, tBrowser, kRecv) {
  return { offset: tBrowser - (kSend + kRecv) / 2, rtt: kRecv - kSend };
}

/**
 * Offset estimate from samples: the median offset of the `best` lowest-RTT samples.
 * @param {{offset: number, rtt: number}[]} samples
 * @param {number} [best]
 * @returns {{offset: number, rtt: number} | null} offset ms and the worst RTT used (its error bound is rtt/2)
 */
export function estimateOffset(samples, best = 3) {
  const ok = samples.filter((s) => Number.isFinite(s.offset) && Number.isFinite(s.rtt) && s.rtt >= 0);
  if (!ok.length) return null;
  const sel = [...ok].sort((a, b) => a.rtt - b.rtt).slice(0, Math.max(1, best));
  const offs = sel.map((s) => s.offset).sort((a, b) => a - b);
  const mid = offs.length >> 1;
  const offset = offs.length % 2 ? offs[mid] : (offs[mid - 1] + offs[mid]) / 2;
  return { offset, rtt: sel[sel.length - 1].rtt };
}

/**
 * The offset a getOutputTimestamp() reading gives, ms: performance.now() − context time (× 1000).
 * @param {{contextTime: number, performanceTime: number}} ts
 */
function tsOffset(ts) {
  return ts.performanceTime - ts.contextTime * 1000;
}

/**
 * getOutputTimestamp() readings with one-reading blips removed: a render-thread stall was measured
 * to shift a single reading by ~50 ms and the next one back. Each reading is replaced by one with
 * the median offset (performanceTime − contextTime × 1000) of the last three, so a blip is ignored
 * and a real step (an output stall really delays what follows) is taken up at the second reading.
 */
export class OutputTimestampFilter {
  constructor() {
    /** @type {number[]} the last three offsets, ms */
    this.offsets = [];
  }

  /**
   * @param {{contextTime: number, performanceTime: number} | null | undefined} ts a raw reading
   * @returns {{contextTime: number, performanceTime: number} | null | undefined} the filtered one
   *   (invalid readings pass through unchanged and are not remembered)
   */
  filter(ts) {
    if (!outputTimestampValid(ts)) return ts;
    const r = /** @type {{contextTime: number, performanceTime: number}} */ (ts);
    this.offsets.push(tsOffset(r));
    if (this.offsets.length > 3) this.offsets.shift();
    const n = this.offsets.length;
    const mid = n < 3 ? this.offsets[n - 1] : [...this.offsets].sort((a, b) => a - b)[1];
    return { contextTime: r.contextTime, performanceTime: r.contextTime * 1000 + mid };
  }
}

/** How fast (ms of offset per s of page time) capture stamps may follow the output mapping: 20×
 * the drift of real audio clocks (≤ 50 ppm), far below the steps an output stall causes. */
export const CAPTURE_SLEW_MS_PER_S = 1;

/** A change of the output mapping larger than this (ms) between two readings is a step (a stall). */
export const CLOCK_STEP_MS = 5;

/**
 * Capture stamps on the mic's own sample timeline.
 *
 * The output mapping (getOutputTimestamp) steps when the *output* stalls: the audio service or
 * the render thread misses its deadline and the context falls behind real time by the stall
 * (measured in chromium: +90 to +150 ms steps for a 150 ms stall, and one-reading blips of 50 ms).
 * The mic's samples stay contiguous through such a stall (the same measurement with a ramp WAV as
 * the microphone: no sample lost at the step), so a capture stamp that followed each reading would
 * jump by the stall and misplace every later frame of the user's speech. This clock anchors on the
 * first valid reading and then advances with the frames themselves; it follows the output mapping
 * only at `slewMsPerS`, enough for real clock drift. Until the output runs (no valid reading) it
 * stamps with the fallback of `frameToRenderPerf`, unanchored.
 */
export class CaptureClock {
  /** @param {number} [slewMsPerS] */
  constructor(slewMsPerS = CAPTURE_SLEW_MS_PER_S) {
    this.slew = slewMsPerS;
    /** @type {number | null} anchored offset, ms: performance.now() − context time (× 1000) */
    this.offset = null;
    this.lastNowMs = 0;
    /** @type {number | null} the last reading's measured offset, ms */
    this.lastMeasured = null;
    /** output mapping steps seen (> CLOCK_STEP_MS between readings) and their total size, ms */
    this.steps = 0;
    this.stepMs = 0;
  }

  /** Anchor again at the next valid reading (the capture stream restarted, or the context resumed). */
  reanchor() {
    this.offset = null;
  }

  /**
   * performance.now() ms at which context frame `frame` was rendered, on the capture timeline.
   * @param {number} frame context frame of the sample
   * @param {number} rate context sample rate, Hz
   * @param {{ts?: {contextTime: number, performanceTime: number} | null, currentTime: number, nowMs: number, latencyMs: number}} c
   * @returns {number} ms
   */
  stamp(frame, rate, c) {
    if (!outputTimestampValid(c.ts)) return frameToRenderPerf(frame, rate, c);
    const measured = tsOffset(/** @type {{contextTime: number, performanceTime: number}} */ (c.ts));
    if (this.lastMeasured !== null && Math.abs(measured - this.lastMeasured) > CLOCK_STEP_MS) {
      this.steps++;
      this.stepMs += measured - this.lastMeasured;
    }
    this.lastMeasured = measured;
    if (this.offset === null) {
      this.offset = measured;
    } else {
      const limit = (this.slew * Math.max(0, c.nowMs - this.lastNowMs)) / 1000;
      this.offset += Math.max(-limit, Math.min(limit, measured - this.offset));
    }
    this.lastNowMs = c.nowMs;
    return (frame / rate) * 1000 + this.offset - c.latencyMs;
  }
}
