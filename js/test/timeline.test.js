import { test } from "node:test";
import assert from "node:assert/strict";
import {
  clampScale,
  envelopeColumns,
  followScale,
  formatMs,
  formatTime,
  makeScale,
  panScale,
  pickLevel,
  secondsPerPixel,
  ticks,
  timeToX,
  turnAtX,
  turnIndex,
  waterfall,
  windowCovers,
  windowStart,
  xToTime,
  zoomScale,
} from "../src/timeline.js";

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test("time <-> pixel mapping is linear and invertible", () => {
  const s = makeScale(10, 30, 1000);
  close(secondsPerPixel(s), 0.02);
  close(timeToX(s, 10), 0);
  close(timeToX(s, 30), 1000);
  close(timeToX(s, 20), 500);
  close(timeToX(s, 5), -250);
  for (const x of [0, 1, 333.3, 999, 1000]) close(timeToX(s, xToTime(s, x)), x, 1e-9);
  assert.throws(() => makeScale(5, 5, 100), RangeError);
});

test("zoom keeps the time under the anchor fixed and stays inside the call", () => {
  const s = makeScale(0, 100, 1000);
  const z = zoomScale(s, 4, 250, 100);
  close(z.t1 - z.t0, 25);
  close(xToTime(z, 250), xToTime(s, 250));
  // zooming out past the whole call clamps to [0, duration]
  const out = zoomScale(z, 0.01, 500, 100);
  assert.deepEqual([out.t0, out.t1], [0, 100]);
  // never narrower than minSpan
  const tiny = zoomScale(s, 1e6, 500, 100, 0.5);
  close(tiny.t1 - tiny.t0, 0.5);
  // near the start the window is pushed inside [0, duration]
  const edge = zoomScale(s, 2, 0, 100);
  assert.deepEqual([edge.t0, edge.t1], [0, 50]);
});

test("pan moves by pixels, clamped to the call", () => {
  const s = makeScale(40, 60, 200); // 0.1 s per px
  const p = panScale(s, -50, 100); // drag left: later times
  close(p.t0, 45);
  close(p.t1, 65);
  const start = panScale(s, 10_000, 100);
  assert.deepEqual([start.t0, start.t1], [0, 20]);
  const end = panScale(s, -10_000, 100);
  assert.deepEqual([end.t0, end.t1], [80, 100]);
  const c = clampScale({ t0: -5, t1: 500, width: 10 }, 30);
  assert.deepEqual([c.t0, c.t1], [0, 30]);
});

test("follow pages the view when the cursor leaves it, and only then", () => {
  const s = makeScale(0, 10, 100);
  assert.equal(followScale(s, 5, 100), s);
  const f = followScale(s, 12, 100);
  close(f.t0, 11.5);
  close(f.t1, 21.5);
  const back = followScale(f, 3, 100);
  close(back.t0, 2.5);
  const last = followScale(s, 99, 100);
  assert.deepEqual([last.t0, last.t1], [90, 100]);
});

test("level choice: coarsest bucket not longer than a pixel, else the finest", () => {
  const levels = [{ bucket_s: 0.01 }, { bucket_s: 0.1 }, { bucket_s: 1 }];
  assert.equal(pickLevel(levels, 0.001), 0);
  assert.equal(pickLevel(levels, 0.01), 0);
  assert.equal(pickLevel(levels, 0.05), 0);
  assert.equal(pickLevel(levels, 0.1), 1);
  assert.equal(pickLevel(levels, 0.99), 1);
  assert.equal(pickLevel(levels, 3.6), 2);
  assert.equal(pickLevel([], 1), -1);
});

/** An envelope [min, max] per bucket from a function of the bucket index. */
function env(n, f) {
  const mm = new Int8Array(2 * n);
  for (let k = 0; k < n; k++) {
    const [lo, hi] = f(k);
    mm[2 * k] = lo;
    mm[2 * k + 1] = hi;
  }
  return mm;
}

test("envelope columns: each pixel takes min of mins / max of maxes of the buckets it covers", () => {
  // 100 buckets of 0.1 s; bucket k has min -k, max k
  const mm = env(100, (k) => [-k, k]);
  // 10 pixels over 10 s: pixel x covers buckets 10x .. 10x+9
  const cols = envelopeColumns(mm, 0.1, makeScale(0, 10, 10));
  for (let x = 0; x < 10; x++) {
    close(cols.hi[x], (10 * x + 9) / 127, 1e-6);
    close(cols.lo[x], -(10 * x + 9) / 127, 1e-6);
  }
});

test("envelope columns: a spike in one bucket shows in exactly the pixel that covers it", () => {
  const mm = env(1000, (k) => (k === 537 ? [-120, 127] : [-1, 1]));
  const cols = envelopeColumns(mm, 0.01, makeScale(0, 10, 100)); // 0.1 s per px = 10 buckets
  const loud = [...cols.hi].map((v, x) => (v > 0.5 ? x : -1)).filter((x) => x >= 0);
  assert.deepEqual(loud, [53]);
  close(cols.lo[53], -120 / 127, 1e-6);
});

test("envelope columns: zoomed in past the bucket, pixels repeat the bucket (no gaps); outside the audio is NaN", () => {
  const mm = env(10, (k) => [-k, k]); // 10 buckets of 1 s
  const cols = envelopeColumns(mm, 1, makeScale(-2, 12, 140)); // 0.1 s per px
  assert.ok(Number.isNaN(cols.hi[0]) && Number.isNaN(cols.hi[19]));
  for (let x = 20; x < 120; x++) close(cols.hi[x], Math.floor((x - 20) / 10) / 127, 1e-6);
  assert.ok(Number.isNaN(cols.hi[120]) && Number.isNaN(cols.hi[139]));
  assert.equal(cols.hi.length, 140);
});

const TURNS = [
  { turn: 2, start: 20, end: 25 },
  { turn: 0, start: 1, end: 3 },
  { turn: 1, start: 8, end: 12 },
  { turn: 3, start: null, end: null },
];

test("turn index: turn at a time, next and previous (media-player style)", () => {
  const ix = turnIndex(TURNS);
  assert.deepEqual(
    ix.list.map((t) => t.turn),
    [0, 1, 2],
  );
  assert.equal(ix.at(0.5), null);
  assert.equal(ix.at(1).turn, 0);
  assert.equal(ix.at(9).turn, 1);
  assert.equal(ix.at(100).turn, 2);
  assert.equal(ix.next(0).turn, 0);
  assert.equal(ix.next(1).turn, 1, "at a turn's start, next is the following turn");
  assert.equal(ix.next(15).turn, 2);
  assert.equal(ix.next(20), null);
  assert.equal(ix.prev(0.5), null);
  assert.equal(ix.prev(8.2).turn, 0, "just after a start: the turn before");
  assert.equal(ix.prev(10).turn, 1, "well into a turn: its own start");
  assert.equal(ix.prev(1.1).turn, 0, "first turn: stays on it");
});

test("turn under the pointer, with padding for short turns", () => {
  const s = makeScale(0, 30, 300); // 0.1 s per px
  assert.equal(turnAtX(TURNS, s, timeToX(s, 10)).turn, 1);
  assert.equal(turnAtX(TURNS, s, timeToX(s, 15)), null);
  assert.equal(turnAtX(TURNS, s, timeToX(s, 25) + 2).turn, 2, "within the 3 px pad");
  assert.equal(turnAtX(TURNS, s, timeToX(s, 25) + 5), null);
});

const COMPONENTS = [
  ["eou_ms", "end of utterance"],
  ["transcription_ms", "transcription"],
  ["text_ms", "text"],
  ["voice_ms", "voice"],
  ["playout_ms", "playout"],
];

test("waterfall stacks the analysis' own latency columns; negatives and unknowns count as 0", () => {
  const turn = { latency: { eou_ms: 500, transcription_ms: -20, text_ms: 300, voice_ms: null, playout_ms: 80, v2v_ms: 910, server_e2e_ms: 700 } };
  const wf = waterfall(turn, COMPONENTS);
  assert.deepEqual(
    wf.segments.map((s) => [s.column, s.ms, s.from, s.to]),
    [
      ["eou_ms", 500, 0, 500],
      ["transcription_ms", -20, 500, 500],
      ["text_ms", 300, 500, 800],
      ["voice_ms", null, 800, 800],
      ["playout_ms", 80, 800, 880],
    ],
  );
  assert.equal(wf.stacked, 880);
  assert.equal(wf.v2v, 910);
  assert.equal(wf.e2e, 700);
  assert.equal(wf.known, 4);
  assert.equal(waterfall({ latency: {} }, COMPONENTS).v2v, null);
});

test("formatting and ticks", () => {
  assert.equal(formatTime(0), "0:00.0");
  assert.equal(formatTime(65.25), "1:05.3");
  assert.equal(formatTime(3725, 0), "1:02:05");
  assert.equal(formatTime(NaN), "–");
  assert.equal(formatMs(812.6), "813 ms");
  assert.equal(formatMs(null), "–");
  const { step, ticks: tk } = ticks(makeScale(0, 60, 600), 90); // 0.1 s/px → ≥ 9 s
  assert.equal(step, 10);
  assert.deepEqual(tk, [0, 10, 20, 30, 40, 50, 60]);
  const fine = ticks(makeScale(1.23, 1.5, 900), 90);
  assert.equal(fine.step, 0.05);
  assert.equal(fine.ticks[0], 1.25);
});

test("audio windows: start a little before the seek; a window serves its span minus the tail", () => {
  assert.equal(windowStart(10), 8);
  assert.equal(windowStart(1), 0);
  const w = { start_s: 8, duration_s: 60, total_s: 300 };
  assert.ok(windowCovers(w, 8) && windowCovers(w, 67.7));
  assert.ok(!windowCovers(w, 67.9) && !windowCovers(w, 7.9) && !windowCovers(null, 1));
  const last = { start_s: 240, duration_s: 60, total_s: 300 };
  assert.ok(windowCovers(last, 300), "the last window serves its very end");
});
