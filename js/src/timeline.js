// The call view's pure logic (no DOM): the time <-> pixel scale, zoom and pan, which envelope level
// to draw and its per-pixel columns, the turn index (turn under a time, next/previous turn), the
// latency waterfall of a turn and axis ticks. Times are seconds on the call's time axis (kernel s
// since t0, = the recording's sample / 24000); pixels are CSS pixels from the canvas' left edge.

/**
 * The visible time range [t0, t1] (s) drawn over `width` CSS pixels.
 * @typedef {{t0: number, t1: number, width: number}} Scale
 */

/**
 * @param {number} t0 @param {number} t1 @param {number} width
 * @returns {Scale}
 */
export function makeScale(t0, t1, width) {
  if (!(t1 > t0)) throw new RangeError(`empty time range [${t0}, ${t1}]`);
  return { t0, t1, width: Math.max(1, width) };
}

/** Seconds per CSS pixel. @param {Scale} s */
export function secondsPerPixel(s) {
  return (s.t1 - s.t0) / s.width;
}

/** x (CSS px) of time t (s). @param {Scale} s @param {number} t */
export function timeToX(s, t) {
  return ((t - s.t0) / (s.t1 - s.t0)) * s.width;
}

/** Time (s) at x (CSS px). @param {Scale} s @param {number} x */
export function xToTime(s, x) {
  return s.t0 + (x / s.width) * (s.t1 - s.t0);
}

/**
 * The scale moved/shrunk to fit [0, duration] and to span at least `minSpan` s.
 * @param {Scale} s @param {number} duration @param {number} [minSpan]
 * @returns {Scale}
 */
export function clampScale(s, duration, minSpan = 0.25) {
  const total = Math.max(duration, minSpan);
  let span = Math.min(Math.max(s.t1 - s.t0, minSpan), total);
  let t0 = Math.min(Math.max(s.t0, 0), total - span);
  return { t0, t1: t0 + span, width: s.width };
}

/**
 * Zoom by `factor` (> 1 zooms in) keeping the time under `anchorX` where it is.
 * @param {Scale} s @param {number} factor @param {number} anchorX @param {number} duration @param {number} [minSpan]
 * @returns {Scale}
 */
export function zoomScale(s, factor, anchorX, duration, minSpan = 0.25) {
  const anchor = xToTime(s, anchorX);
  const span = (s.t1 - s.t0) / factor;
  const frac = anchorX / s.width;
  const z = clampScale({ t0: anchor - frac * span, t1: anchor - frac * span + span, width: s.width }, duration, minSpan);
  return z;
}

/**
 * Pan by `dx` CSS pixels (dx > 0 moves the content right, i.e. shows earlier times).
 * @param {Scale} s @param {number} dx @param {number} duration
 * @returns {Scale}
 */
export function panScale(s, dx, duration) {
  const dt = dx * secondsPerPixel(s);
  return clampScale({ t0: s.t0 - dt, t1: s.t1 - dt, width: s.width }, duration);
}

/**
 * Keep a playing cursor in view: if `t` left the visible range (or is in its last `margin`
 * fraction), page so that `t` sits at `margin` from the left. Unchanged otherwise.
 * @param {Scale} s @param {number} t @param {number} duration @param {number} [margin]
 * @returns {Scale}
 */
export function followScale(s, t, duration, margin = 0.05) {
  const span = s.t1 - s.t0;
  if (t >= s.t0 && t <= s.t1 - margin * span) return s;
  const t0 = t - margin * span;
  return clampScale({ t0, t1: t0 + span, width: s.width }, duration);
}

/**
 * The level to draw: the coarsest whose bucket is no longer than one pixel (so no detail is lost),
 * else the finest. Levels are sorted from fine to coarse.
 * @param {{bucket_s: number}[]} levels @param {number} spp seconds per pixel
 * @returns {number} index into levels (-1 when there are none)
 */
export function pickLevel(levels, spp) {
  if (!levels.length) return -1;
  let best = 0;
  for (let i = 0; i < levels.length; i++) if (levels[i].bucket_s <= spp) best = i;
  return best;
}

/**
 * Per-pixel min/max of one channel's envelope level over the visible range, in [-1, 1]
 * (the envelope's int8 values / 127). Pixel x covers times [t(x), t(x+1)); it takes every bucket
 * that overlaps that span (at least the one containing t(x)), so adjacent columns always join up.
 * Columns outside the audio are NaN.
 * @param {Int8Array} mm [min0, max0, min1, max1, ...] (2 n values)
 * @param {number} bucketS bucket length (s)
 * @param {Scale} s
 * @returns {{lo: Float32Array, hi: Float32Array}}
 */
export function envelopeColumns(mm, bucketS, s) {
  const w = Math.ceil(s.width);
  const lo = new Float32Array(w).fill(NaN);
  const hi = new Float32Array(w).fill(NaN);
  const n = mm.length >> 1;
  const spp = secondsPerPixel(s);
  for (let x = 0; x < w; x++) {
    const ta = s.t0 + x * spp;
    // 1e-9: a pixel edge that falls on a bucket edge must not take the neighbour (rounding)
    let a = Math.floor(ta / bucketS + 1e-9);
    let b = Math.ceil((ta + spp) / bucketS - 1e-9);
    if (b <= a) b = a + 1;
    if (a < 0) a = 0;
    if (b > n) b = n;
    if (a >= b) continue;
    let mn = 127;
    let mx = -127;
    for (let k = a; k < b; k++) {
      const v0 = mm[2 * k];
      const v1 = mm[2 * k + 1];
      if (v0 < mn) mn = v0;
      if (v1 > mx) mx = v1;
    }
    lo[x] = mn / 127;
    hi[x] = mx / 127;
  }
  return { lo, hi };
}

/**
 * The turns sorted by start, with lookups by time. Turns without a start are left out.
 * @param {{turn: number, start: number | null, end: number | null}[]} turns
 */
export function turnIndex(turns) {
  const list = turns.filter((t) => typeof t.start === "number").sort((a, b) => a.start - b.start);
  const starts = list.map((t) => t.start);
  /** index of the last turn with start <= t (-1 if none) */
  const last = (t) => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  };
  return {
    list,
    /** The turn playing at t: the last one started at or before t (null before the first). */
    at(t) {
      const i = last(t);
      return i >= 0 ? list[i] : null;
    },
    /** The first turn that starts after t (+ eps), or null. */
    next(t, eps = 0.01) {
      const i = last(t + eps) + 1;
      return i < list.length ? list[i] : null;
    },
    /**
     * The turn to go back to from t: the current turn's start when more than `restart` s into it
     * (like a media player's "previous"), else the turn before it; null before the first turn.
     */
    prev(t, restart = 0.5) {
      const i = last(t);
      if (i < 0) return null;
      if (t - list[i].start > restart) return list[i];
      return i > 0 ? list[i - 1] : list[0];
    },
  };
}

/**
 * The turn drawn at x, if any: its [start, end] span contains the time at x, padded by `padPx`
 * CSS pixels (so short turns stay clickable). Nearest start wins when several match.
 * @param {{start: number | null, end: number | null}[]} turns @param {Scale} s @param {number} x @param {number} [padPx]
 */
export function turnAtX(turns, s, x, padPx = 3) {
  const t = xToTime(s, x);
  const pad = padPx * secondsPerPixel(s);
  let best = null;
  let bestD = Infinity;
  for (const turn of turns) {
    if (typeof turn.start !== "number") continue;
    const end = typeof turn.end === "number" ? turn.end : turn.start;
    if (t >= turn.start - pad && t <= end + pad) {
      const d = Math.abs(t - turn.start);
      if (d < bestD) {
        best = turn;
        bestD = d;
      }
    }
  }
  return best;
}

/**
 * A turn's latency as a waterfall: the `components` stacked in order from the user's real end of
 * speech (negative or missing values count as 0, as in the matplotlib waterfall), plus the heard
 * voice-to-voice and server end-to-end latencies. Every number is the analysis' own column.
 * @param {{latency: Record<string, number | null>}} turn
 * @param {[string, string][]} components [[column, label]]
 * @returns {{segments: {column: string, label: string, ms: number | null, from: number, to: number}[],
 *   stacked: number, v2v: number | null, e2e: number | null, known: number}}
 */
export function waterfall(turn, components) {
  const lat = turn.latency || {};
  let at = 0;
  let known = 0;
  const segments = components.map(([column, label]) => {
    const v = lat[column];
    const ms = typeof v === "number" && Number.isFinite(v) ? v : null;
    if (ms !== null) known++;
    const w = ms !== null && ms > 0 ? ms : 0;
    const seg = { column, label, ms, from: at, to: at + w };
    at += w;
    return seg;
  });
  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return { segments, stacked: at, v2v: num(lat.v2v_ms), e2e: num(lat.server_e2e_ms), known };
}

/** "m:ss.s" (or "h:mm:ss" past an hour) for t seconds. @param {number} t @param {number} [digits] */
export function formatTime(t, digits = 1) {
  if (!Number.isFinite(t)) return "–";
  const sign = t < 0 ? "-" : "";
  t = Math.abs(t);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  let sec = (t % 60).toFixed(digits);
  if (Number(sec) >= 60) sec = (0).toFixed(digits); // rounding up to the next minute is rare; keep it simple
  const ss = sec.padStart(digits ? 3 + digits : 2, "0");
  return h ? `${sign}${h}:${String(m).padStart(2, "0")}:${ss}` : `${sign}${m}:${ss}`;
}

/** "123 ms" / "–". @param {number | null | undefined} ms */
export function formatMs(ms) {
  return typeof ms === "number" && Number.isFinite(ms) ? `${Math.round(ms)} ms` : "–";
}

const STEPS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

/**
 * Axis ticks about `targetPx` apart: a "nice" step from STEPS and the tick times in view.
 * @param {Scale} s @param {number} [targetPx]
 * @returns {{step: number, ticks: number[]}}
 */
export function ticks(s, targetPx = 90) {
  const want = targetPx * secondsPerPixel(s);
  const step = STEPS.find((x) => x >= want) || STEPS[STEPS.length - 1];
  const out = [];
  for (let t = Math.ceil(s.t0 / step - 1e-9) * step; t <= s.t1 + 1e-9; t += step) out.push(Math.round(t / step) * step + 0); // + 0: no -0
  return { step, ticks: out };
}

/**
 * Where to start the audio window for a seek to t: `back` s earlier (so small backward seeks
 * need no new window), never before 0.
 * @param {number} t @param {number} [back]
 */
export function windowStart(t, back = 2) {
  return Math.max(0, t - back);
}

/**
 * Whether a loaded audio window serves time t: inside it, and not in its last `tail` s unless
 * the window runs to the end of the call.
 * @param {{start_s: number, duration_s: number, total_s: number} | null} win @param {number} t @param {number} [tail]
 */
export function windowCovers(win, t, tail = 0.25) {
  if (!win) return false;
  const end = win.start_s + win.duration_s;
  const last = end >= win.total_s - 1e-3;
  return t >= win.start_s && (last ? t <= end : t < end - tail);
}
