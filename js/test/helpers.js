// Shared test helpers (not a test file: node --test only runs *.test.js).

/** @param {number} freq @param {number} rate @param {number} n @param {number} [amp] @param {number} [phase0] */
export function tone(freq, rate, n, amp = 0.5, phase0 = 0) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * (i + phase0)) / rate);
  return x;
}

/** Windowed DFT power of x at frequency f (Hz). */
function power(x, rate, f) {
  const n = x.length;
  const w = (2 * Math.PI * f) / rate;
  let re = 0;
  let im = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i] * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
    re += v * Math.cos(w * i);
    im -= v * Math.sin(w * i);
  }
  return re * re + im * im;
}

/** Frequency (1 Hz resolution) of the strongest component between lo and hi Hz: coarse 10 Hz scan, then 1 Hz. */
export function peakFrequency(x, rate, lo = 50, hi = rate / 2 - 50) {
  const scan = (a, b, step) => {
    let best = a;
    let bestP = -1;
    for (let f = a; f <= b; f += step) {
      const p = power(x, rate, f);
      if (p > bestP) [best, bestP] = [f, p];
    }
    return best;
  };
  const coarse = scan(lo, hi, 10);
  return scan(Math.max(lo, coarse - 10), Math.min(hi, coarse + 10), 1);
}

/** Largest sample-to-sample jump. */
export function maxStep(x) {
  let m = 0;
  for (let i = 1; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - x[i - 1]));
  return m;
}

export function rms(x) {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

/** Split x into blocks of pseudo-random sizes (deterministic). */
export function randomBlocks(x, seed = 7, maxLen = 700) {
  const out = [];
  let s = seed;
  let i = 0;
  while (i < x.length) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const len = 1 + (s % maxLen);
    out.push(x.subarray(i, Math.min(x.length, i + len)));
    i += len;
  }
  return out;
}

export function concat(parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A fake anywidget model: traits (get/set/save_changes), listeners (on/off/emit/count) and the
 * envelopes the page sent (`sent`: {msg, buffers}).
 * @param {Record<string, unknown>} [traits]
 */
export function fakeModel(traits = {}) {
  const state = { muted: false, mic_processing: true, jitter_ms: 60, ...traits };
  const handlers = new Map();
  return {
    sent: [],
    saves: 0,
    get: (k) => state[k],
    set(k, v) {
      state[k] = v;
      for (const h of handlers.get(`change:${k}`) || []) h();
    },
    save_changes() {
      this.saves++;
    },
    on(ev, fn) {
      if (!handlers.has(ev)) handlers.set(ev, new Set());
      handlers.get(ev).add(fn);
    },
    off(ev, fn) {
      handlers.get(ev)?.delete(fn);
    },
    send(msg, _cb, buffers) {
      this.sent.push({ msg, buffers });
    },
    emit(ev, ...args) {
      for (const h of handlers.get(ev) || []) h(...args);
    },
    count: (ev) => (handlers.get(ev) || new Set()).size,
  };
}
