// Drawing the call timeline on a 2D canvas context (any object with the CanvasRenderingContext2D
// methods used here, so node tests can record the calls). Layout in CSS pixels, top to bottom:
// time axis, user waveform, agent waveform, the turn lane (turn boxes, tool calls, interruptions).

import { envelopeColumns, formatTime, pickLevel, secondsPerPixel, ticks, timeToX } from "./timeline.js";

/** Lane geometry (CSS px). */
export const LAYOUT = Object.freeze({
  axis: 18,
  user: { top: 20, height: 64 },
  agent: { top: 88, height: 64 },
  turns: { top: 156, height: 26 },
  height: 186,
});

/** Colours (canvas can't read CSS variables cheaply; the legend uses the same ones). */
export const COLORS = Object.freeze({
  user: "#1976d2",
  userSpeech: "rgba(25,118,210,0.12)",
  agent: "#ef6c00",
  agentSpeech: "rgba(239,108,0,0.12)",
  tool: "#2e7d32",
  interruption: "#d32f2f",
  cursor: "#000000",
  axis: "#757575",
  grid: "rgba(0,0,0,0.07)",
  turn: "rgba(97,97,97,0.18)",
  turnSelected: "rgba(25,118,210,0.35)",
  latency: "rgba(156,39,176,0.16)",
  text: "#424242",
});

/** Marker colours of a turn's instants (the latency waterfall's boundaries). */
export const TIME_MARKS = Object.freeze([
  ["vad_end", "#6a1b9a"],
  ["user_end", "#1565c0"],
  ["t_transcript", "#00838f"],
  ["t_first_text", "#2e7d32"],
  ["t_first_audio", "#ef6c00"],
  ["t_played", "#000000"],
]);

/**
 * Draw one channel's waveform (min/max columns) in a lane.
 * @param {any} ctx @param {{lo: Float32Array, hi: Float32Array}} cols @param {{top: number, height: number}} lane
 * @param {string} color
 */
export function drawWaveform(ctx, cols, lane, color) {
  const mid = lane.top + lane.height / 2;
  const half = lane.height / 2 - 1;
  ctx.fillStyle = color;
  for (let x = 0; x < cols.lo.length; x++) {
    const lo = cols.lo[x];
    if (Number.isNaN(lo)) continue;
    const y0 = mid - cols.hi[x] * half;
    const y1 = mid - lo * half;
    ctx.fillRect(x, y0, 1, Math.max(1, y1 - y0));
  }
}

/**
 * The per-pixel columns of both channels for a scale (cache them: they only change with the
 * scale or the data).
 * @param {{levels: any[]}} timeline @param {Record<string, Int8Array[]>} env {user: [level arrays], agent: [...]}
 * @param {import("./timeline.js").Scale} scale
 */
export function columnsFor(timeline, env, scale) {
  const i = pickLevel(timeline.levels, secondsPerPixel(scale));
  if (i < 0) return null;
  const b = timeline.levels[i].bucket_s;
  return { level: i, user: envelopeColumns(env.user[i], b, scale), agent: envelopeColumns(env.agent[i], b, scale) };
}

function span(ctx, scale, a, b, top, height, color) {
  if (typeof a !== "number" || typeof b !== "number") return;
  const x0 = timeToX(scale, a);
  const x1 = timeToX(scale, b);
  if (x1 < 0 || x0 > scale.width) return;
  ctx.fillStyle = color;
  ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
}

/**
 * Draw everything but the cursor.
 * @param {any} ctx
 * @param {{timeline: any, scale: import("./timeline.js").Scale, cols: any, selected: any, hover: any}} st
 */
export function drawTimeline(ctx, st) {
  const { timeline: tl, scale } = st;
  const w = scale.width;
  ctx.clearRect(0, 0, w, LAYOUT.height);
  // axis + grid
  ctx.font = "10px sans-serif";
  ctx.textBaseline = "top";
  const { ticks: tk, step } = ticks(scale);
  for (const t of tk) {
    const x = Math.round(timeToX(scale, t)) + 0.5;
    ctx.fillStyle = COLORS.grid;
    ctx.fillRect(x, LAYOUT.axis, 1, LAYOUT.height - LAYOUT.axis);
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(formatTime(t, step < 1 ? 2 : 0), x + 2, 3);
  }
  // speech intervals behind the waveforms
  for (const iv of tl.intervals) {
    const lane = iv.speaker === "user" ? LAYOUT.user : LAYOUT.agent;
    span(ctx, scale, iv.start, iv.end, lane.top, lane.height, iv.speaker === "user" ? COLORS.userSpeech : COLORS.agentSpeech);
  }
  // the latency of the selected / hovered turn: real end of speech -> first agent audio heard
  for (const turn of [st.hover, st.selected]) {
    if (!turn) continue;
    const tm = turn.times || {};
    const from = typeof tm.vad_end === "number" ? tm.vad_end : tm.user_end;
    const to = typeof tm.t_played === "number" ? tm.t_played : tm.t_first_audio;
    span(ctx, scale, from, to, LAYOUT.user.top, LAYOUT.turns.top - LAYOUT.user.top, COLORS.latency);
    for (const [col, color] of TIME_MARKS) {
      if (typeof tm[col] !== "number") continue;
      const x = timeToX(scale, tm[col]);
      if (x < 0 || x > w) continue;
      ctx.fillStyle = color;
      ctx.fillRect(Math.round(x), LAYOUT.user.top, 1, LAYOUT.turns.top - LAYOUT.user.top);
    }
  }
  if (st.cols) {
    drawWaveform(ctx, st.cols.user, LAYOUT.user, COLORS.user);
    drawWaveform(ctx, st.cols.agent, LAYOUT.agent, COLORS.agent);
  }
  // lane labels
  ctx.fillStyle = COLORS.text;
  ctx.fillText("user", 4, LAYOUT.user.top + 2);
  ctx.fillText("agent", 4, LAYOUT.agent.top + 2);
  // turns
  const L = LAYOUT.turns;
  for (const turn of tl.turns) {
    if (typeof turn.start !== "number") continue;
    const x0 = timeToX(scale, turn.start);
    const x1 = Math.max(x0 + 3, timeToX(scale, typeof turn.end === "number" ? turn.end : turn.start));
    if (x1 < 0 || x0 > w) continue;
    const sel = st.selected && st.selected.turn === turn.turn;
    ctx.fillStyle = sel ? COLORS.turnSelected : COLORS.turn;
    ctx.fillRect(x0, L.top + 2, x1 - x0, L.height - 4);
    if (x1 - x0 > 14) {
      ctx.fillStyle = turn.outcome === "interrupted" ? COLORS.interruption : COLORS.text;
      ctx.fillText(String(turn.turn), Math.max(x0, 0) + 3, L.top + 8);
    }
  }
  // tool calls: a diamond at the call, a bar to our output
  for (const tool of tl.tools) {
    const x = timeToX(scale, tool.t);
    if (typeof tool.end === "number") span(ctx, scale, tool.t, tool.end, L.top + L.height - 5, 3, COLORS.tool);
    if (x < -5 || x > w + 5) continue;
    ctx.fillStyle = COLORS.tool;
    ctx.beginPath();
    ctx.moveTo(x, L.top + 2);
    ctx.lineTo(x + 5, L.top + 8);
    ctx.lineTo(x, L.top + 14);
    ctx.lineTo(x - 5, L.top + 8);
    ctx.closePath();
    ctx.fill();
  }
  // interruptions: a red line across the lanes
  for (const it of tl.interruptions) {
    const x = timeToX(scale, it.t);
    if (x < 0 || x > w) continue;
    ctx.fillStyle = COLORS.interruption;
    ctx.fillRect(Math.round(x), LAYOUT.user.top, 2, LAYOUT.height - LAYOUT.user.top);
  }
}

/**
 * The cursor: a vertical line at call time t.
 * @param {any} ctx @param {import("./timeline.js").Scale} scale @param {number} t
 */
export function drawCursor(ctx, scale, t) {
  const x = timeToX(scale, t);
  if (x < 0 || x > scale.width) return;
  ctx.fillStyle = COLORS.cursor;
  ctx.fillRect(Math.round(x) - 1, LAYOUT.axis, 2, LAYOUT.height - LAYOUT.axis);
}
