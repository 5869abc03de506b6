import { test } from "node:test";
import assert from "node:assert/strict";
import { audioRequestMsg, validateViewMessage, VIEW_BROWSER_KINDS, VIEW_KERNEL_KINDS } from "../src/view_messages.js";
import { Player, commSource, staticSource } from "../src/view_player.js";
import { LAYOUT, columnsFor, drawCursor, drawTimeline } from "../src/view_draw.js";
import { splitEnvelopes, VIEW_CSS } from "../src/view_panel.js";
import { base64Bytes, staticModel } from "../src/view_static.js";
import { makeScale, timeToX } from "../src/timeline.js";

test("view envelope: audio-request built, kernel messages validated", () => {
  assert.deepEqual(VIEW_BROWSER_KINDS, ["audio-request"]);
  assert.deepEqual(VIEW_KERNEL_KINDS, ["audio", "audio-error"]);
  assert.deepEqual(audioRequestMsg(3, 12.34567), { kind: "audio-request", id: 3, start_s: 12.346 });
  assert.equal(audioRequestMsg(1, -4).start_s, 0);
  const ok = { kind: "audio", id: 1, start_s: 0, duration_s: 60, total_s: 90 };
  assert.ok(validateViewMessage(ok, [new DataView(new ArrayBuffer(44))]).ok);
  assert.match(validateViewMessage(ok, []).error, /expected 1 buffer/);
  assert.match(validateViewMessage({ ...ok, total_s: NaN }, [1]).error, /total_s/);
  assert.ok(validateViewMessage({ kind: "audio-error", id: 2, error: "no audio" }).ok);
  assert.ok(!validateViewMessage({ kind: "ping", id: 1 }).ok);
  assert.ok(!validateViewMessage(null).ok);
});

/** A recording 2D context: every call and style assignment, in order. */
function recorder() {
  const calls = [];
  const ctx = new Proxy(
    {},
    {
      get: (_, k) => (k === "calls" ? calls : (...a) => calls.push([k, ...a])),
      set: (_, k, v) => (calls.push([`=${String(k)}`, v]), true),
    },
  );
  return ctx;
}

const TL = {
  duration_s: 10,
  levels: [
    { bucket_s: 0.01, n: 1000, user: [0, 2000], agent: [2000, 2000] },
    { bucket_s: 0.1, n: 100, user: [4000, 200], agent: [4200, 200] },
  ],
  turns: [
    { turn: 0, outcome: "responded", start: 1, end: 4, times: { vad_end: 2, user_end: 2.5, t_played: 3 }, latency: {} },
    { turn: 1, outcome: "interrupted", start: 6, end: 9, times: {}, latency: {} },
  ],
  intervals: [
    { speaker: "user", start: 1, end: 2, turn: 0 },
    { speaker: "agent", start: 3, end: 4, turn: 0 },
  ],
  tools: [{ t: 5, end: 5.5, name: "lookup", id: "c1" }],
  interruptions: [{ t: 7, turn_id: "a1" }],
  components: [["eou_ms", "end of utterance"]],
};

function envBytes() {
  const b = new Int8Array(4400);
  // user loud between 1 and 2 s at the fine level (buckets 100..199), agent between 3 and 4 s
  for (let k = 100; k < 200; k++) (b[2 * k] = -100), (b[2 * k + 1] = 100);
  for (let k = 300; k < 400; k++) (b[2000 + 2 * k] = -50), (b[2000 + 2 * k + 1] = 50);
  for (let k = 10; k < 20; k++) (b[4000 + 2 * k] = -100), (b[4000 + 2 * k + 1] = 100);
  for (let k = 30; k < 40; k++) (b[4200 + 2 * k] = -50), (b[4200 + 2 * k + 1] = 50);
  return new DataView(b.buffer);
}

test("envelope bytes split per channel and level, from a DataView as Jupyter delivers it", () => {
  const env = splitEnvelopes(TL, envBytes());
  assert.equal(env.user.length, 2);
  assert.equal(env.user[0].length, 2000);
  assert.equal(env.agent[1].length, 200);
  assert.equal(env.user[0][201], 100);
  assert.equal(env.agent[0][2 * 350 + 1], 50);
  assert.equal(env.user[1][2 * 15 + 1], 100);
  // a truncated buffer gives empty levels, not garbage
  assert.equal(splitEnvelopes(TL, new Uint8Array(10)).user[0].length, 0);
  assert.equal(splitEnvelopes(TL, base64Bytes("AAEC")).user.length, 2);
  assert.deepEqual([...base64Bytes("AAEC\n/w==")], [0, 1, 2, 255]);
});

test("columns come from the level that fits the zoom; the waveform is drawn where the sound is", () => {
  const env = splitEnvelopes(TL, envBytes());
  const wide = columnsFor(TL, env, makeScale(0, 10, 100)); // 0.1 s per px → coarse level
  assert.equal(wide.level, 1);
  const fine = columnsFor(TL, env, makeScale(0, 10, 1000)); // 0.01 s per px → fine level
  assert.equal(fine.level, 0);
  const loud = [...fine.user.hi].map((v, x) => (v > 0.5 ? x : -1)).filter((x) => x >= 0);
  assert.deepEqual([loud[0], loud.at(-1)], [100, 199]);
  const ctx = recorder();
  const scale = makeScale(0, 10, 1000);
  drawTimeline(ctx, { timeline: TL, scale, cols: fine, selected: TL.turns[0], hover: null });
  const rects = ctx.calls.filter((c) => c[0] === "fillRect");
  // waveform columns: one 1-px rect per voiced pixel in the user lane, centred on it
  const userCols = rects.filter((c) => c[2] < LAYOUT.user.top + LAYOUT.user.height && c[2] >= LAYOUT.user.top && c[3] === 1 && c[4] > 40 && c[4] < LAYOUT.user.height);
  assert.equal(userCols.length, 100);
  assert.equal(userCols[0][1], 100);
  // the interruption's red line and the tool's diamond are drawn at their times
  const styles = [];
  let fill = null;
  for (const c of ctx.calls) {
    if (c[0] === "=fillStyle") fill = c[1];
    else if (c[0] === "fillRect") styles.push([fill, c[1]]);
  }
  assert.ok(styles.some(([f, x]) => f === "#d32f2f" && Math.abs(x - timeToX(scale, 7)) <= 1));
  assert.ok(ctx.calls.some((c) => c[0] === "moveTo" && Math.abs(c[1] - 500) < 1e-9));
  // the selected turn's latency span (real end of speech 2 s → heard 3 s)
  assert.ok(rects.some((c) => Math.abs(c[1] - 200) < 1e-9 && Math.abs(c[3] - 100) < 1e-9));
  const cur = recorder();
  drawCursor(cur, scale, 4.2);
  assert.deepEqual(cur.calls.at(-1), ["fillRect", 419, LAYOUT.axis, 2, LAYOUT.height - LAYOUT.axis]);
  const off = recorder();
  drawCursor(off, scale, 11);
  assert.equal(off.calls.filter((c) => c[0] === "fillRect").length, 0);
});

test("CSS is scoped to the view and themed with fallbacks", () => {
  for (const rule of VIEW_CSS.split("}").map((r) => r.trim()).filter(Boolean)) assert.ok(rule.startsWith(".vatel-view"), rule);
  for (const v of VIEW_CSS.matchAll(/var\((--[\w-]+)(,?)/g)) assert.equal(v[2], ",", `${v[1]} has no fallback`);
});

/** A stand-in for HTMLAudioElement: loads a src asynchronously, plays by advancing currentTime by hand. */
class FakeAudio extends EventTarget {
  constructor() {
    super();
    this.currentTime = 0;
    this.paused = true;
    this.readyState = 0;
    this._src = "";
    this.loads = [];
  }
  set src(v) {
    this._src = v;
    this.readyState = 0;
    this.currentTime = 0;
    this.loads.push(v);
    setTimeout(() => {
      this.readyState = 1;
      this.dispatchEvent(new Event("loadedmetadata"));
    }, 1);
  }
  get src() {
    return this._src;
  }
  async play() {
    this.paused = false;
    this.dispatchEvent(new Event("play"));
  }
  pause() {
    this.paused = true;
    this.dispatchEvent(new Event("pause"));
  }
}

/** A source of 60 s windows over a 150 s call, counting requests. */
function windows() {
  const asked = [];
  return {
    asked,
    async request(t) {
      const start = Math.max(0, t - 2);
      asked.push(start);
      return { url: `blob:${start}`, start_s: start, duration_s: Math.min(60, 150 - start), total_s: 150 };
    },
  };
}

test("player: a seek loads the window around it; time = window start + currentTime", async () => {
  const audio = new FakeAudio();
  const src = windows();
  const states = [];
  const p = new Player(audio, src, (s) => states.push(s));
  await p.seek(30, { play: true });
  assert.deepEqual(src.asked, [28]);
  assert.equal(audio.src, "blob:28");
  assert.equal(audio.currentTime, 2);
  assert.equal(p.time(), 30);
  assert.ok(p.playing && !audio.paused);
  // a seek inside the window reuses it
  await p.seek(50);
  assert.deepEqual(src.asked, [28]);
  assert.equal(audio.currentTime, 22);
  // near the window's end the next one is prefetched, and used at 'ended'
  audio.currentTime = 52; // call time 80 > 88 - 10
  audio.dispatchEvent(new Event("timeupdate"));
  assert.deepEqual(src.asked, [28, 86]);
  audio.dispatchEvent(new Event("ended"));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(audio.src, "blob:86");
  assert.equal(p.time(), 88);
  assert.ok(p.playing, "keeps playing across windows");
  p.pause();
  assert.ok(!p.playing && audio.paused);
  assert.equal(states.at(-1).playing, false);
  p.dispose();
});

test("player: the last window ends the playback; a failed request says so", async () => {
  const audio = new FakeAudio();
  const p = new Player(audio, staticSource("data:audio/wav;base64,AAAA", 12), () => {});
  await p.seek(3, { play: true });
  assert.equal(audio.currentTime, 3);
  audio.currentTime = 12;
  audio.dispatchEvent(new Event("ended"));
  assert.ok(!p.playing);
  const bad = new Player(new FakeAudio(), { request: () => Promise.reject(new Error("the call has no audio yet")) }, () => {});
  await bad.seek(1, { play: true });
  assert.match(bad.error, /could not load the recording: the call has no audio yet/);
  assert.ok(!bad.playing);
});

test("comm source: requests go out as envelopes, the WAV buffer comes back as a blob URL", async () => {
  const handlers = [];
  const sent = [];
  const model = { on: (e, f) => handlers.push([e, f]), off: () => handlers.splice(0), send: (m) => sent.push(m) };
  const src = commSource(model);
  const pending = src.request(30);
  assert.deepEqual(sent, [{ kind: "audio-request", id: 1, start_s: 28 }]);
  const [, onMsg] = handlers.find(([e]) => e === "msg:custom");
  onMsg({ kind: "audio", id: 99, start_s: 0, duration_s: 1, total_s: 1 }, [new DataView(new ArrayBuffer(4))]); // unknown id: ignored
  onMsg({ kind: "audio", id: 1, start_s: 28, duration_s: 60, total_s: 300 }, [new DataView(new ArrayBuffer(48))]);
  const win = await pending;
  assert.equal(win.start_s, 28);
  assert.match(win.url, /^blob:/);
  win.revoke();
  const failing = src.request(5);
  onMsg({ kind: "audio-error", id: 2, error: "the call has no audio yet" });
  await assert.rejects(failing, /no audio yet/);
  src.dispose();
  assert.equal(handlers.length, 0);
  assert.equal(staticModel({ a: 1 }).get("a"), 1);
});
