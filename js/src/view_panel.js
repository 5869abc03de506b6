// The call view's static parts: its scoped CSS, the envelope bytes split per level, the latency
// waterfall panel of a turn (DOM, built from timeline.js' pure waterfall()).

import { formatMs, formatTime, waterfall } from "./timeline.js";
import { asUint8 } from "./pcm16.js";
import { LAYOUT } from "./view_draw.js";

export const VIEW_CSS = `
.vatel-view { font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #1f1f1f); background: var(--jp-layout-color1, #fff);
  border: 1px solid var(--jp-border-color2, #ccc); border-radius: 6px; padding: 8px 10px; outline: none; }
.vatel-view:focus-visible { box-shadow: 0 0 0 2px var(--jp-brand-color2, #64b5f6); }
.vatel-view .vv-bar { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; margin-bottom: 6px; }
.vatel-view .vv-title { font-weight: 600; }
.vatel-view .vv-stats, .vatel-view .vv-help { color: var(--jp-ui-font-color2, #616161); }
.vatel-view .vv-help { font-size: 11px; margin-left: auto; }
.vatel-view button { font: inherit; cursor: pointer; padding: 2px 10px; border-radius: 4px; min-width: 30px;
  border: 1px solid var(--jp-border-color1, #999); background: var(--jp-layout-color2, #eee); color: var(--jp-ui-font-color1, #1f1f1f); }
.vatel-view .vatel-view-time { font-variant-numeric: tabular-nums; min-width: 150px; }
.vatel-view .vv-stage { position: relative; width: 100%; height: ${LAYOUT.height}px; cursor: crosshair; user-select: none; }
.vatel-view .vv-stage canvas { position: absolute; left: 0; top: 0; width: 100%; height: ${LAYOUT.height}px; }
.vatel-view .vv-live { color: var(--jp-success-color1, #388e3c); font-weight: 600; }
.vatel-view .vv-error { color: var(--jp-error-color1, #d32f2f); }
.vatel-view .vv-legend { display: flex; gap: 12px; flex-wrap: wrap; font-size: 11px; color: var(--jp-ui-font-color2, #616161); margin-top: 2px; }
.vatel-view .vv-legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
.vatel-view .vatel-view-waterfall { margin-top: 6px; min-height: 64px; border-top: 1px solid var(--jp-border-color2, #ccc); padding-top: 6px; }
.vatel-view .vv-wf-bar { position: relative; height: 16px; background: var(--jp-layout-color2, #f2f2f2); border-radius: 3px; margin: 4px 0; overflow: visible; }
.vatel-view .vv-wf-bar span { position: absolute; top: 0; height: 100%; }
.vatel-view .vv-wf-bar b { position: absolute; top: -3px; width: 2px; height: 22px; background: #000; }
.vatel-view .vv-wf-rows { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12px; }
.vatel-view .vv-wf-rows i { display: inline-block; width: 9px; height: 9px; margin-right: 4px; }
.vatel-view .vv-say { color: var(--jp-ui-font-color2, #616161); margin: 2px 0; white-space: pre-wrap; }
`;

const SEGMENT_COLORS = ["#8e24aa", "#1976d2", "#00acc1", "#43a047", "#fb8c00", "#9e9d24", "#6d4c41"];

/** @param {string} tag @param {string} [cls] @param {string} [text] */
export function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * The envelope bytes split into per-level Int8Arrays for each channel.
 * @param {any} timeline @param {any} bytes DataView / ArrayBuffer / typed array
 */
export function splitEnvelopes(timeline, bytes) {
  const u8 = bytes ? asUint8(bytes) : new Uint8Array(0);
  const i8 = new Int8Array(u8.buffer, u8.byteOffset, u8.byteLength);
  const out = { user: [], agent: [] };
  for (const lvl of timeline.levels || []) {
    for (const ch of ["user", "agent"]) {
      const [off, len] = lvl[ch] || [0, 0];
      out[ch].push(off + len <= i8.length ? i8.subarray(off, off + len) : new Int8Array(0));
    }
  }
  return out;
}

/**
 * The waterfall panel of one turn (DOM).
 * @param {any} turn @param {[string, string][]} components
 */
export function waterfallPanel(turn, components) {
  const box = h("div");
  const wf = waterfall(turn, components);
  const head = h("div");
  const title = h("b", "", `Turn ${turn.turn} · ${turn.outcome} · ${formatTime(turn.start ?? NaN)}`);
  head.append(title);
  const v2v = h("span", "", `  heard voice-to-voice ${formatMs(wf.v2v)}`);
  v2v.className = "vv-wf-v2v";
  head.append(v2v, h("span", "vv-stats", ` · server e2e ${formatMs(wf.e2e)}`));
  if (turn.latency && typeof turn.latency.time_to_yield_ms === "number") {
    head.append(h("span", "vv-stats", ` · time to yield ${formatMs(turn.latency.time_to_yield_ms)}`));
  }
  if (turn.latency && typeof turn.latency.tool_ms === "number") {
    head.append(h("span", "vv-stats", ` · tools ${formatMs(turn.latency.tool_ms)} (${turn.tool_names || ""})`));
  }
  if (turn.latency && typeof turn.latency.greeting_ms === "number") {
    head.append(h("span", "vv-stats", ` · greeting ${formatMs(turn.latency.greeting_ms)}`));
  }
  box.append(head);
  const scaleMs = Math.max(wf.stacked, wf.v2v || 0, 1);
  const bar = h("div", "vv-wf-bar");
  wf.segments.forEach((s, i) => {
    if (s.to <= s.from) return;
    const seg = h("span");
    seg.style.left = `${(s.from / scaleMs) * 100}%`;
    seg.style.width = `${((s.to - s.from) / scaleMs) * 100}%`;
    seg.style.background = SEGMENT_COLORS[i % SEGMENT_COLORS.length];
    seg.title = `${s.label}: ${formatMs(s.ms)}`;
    bar.append(seg);
  });
  if (wf.v2v !== null && wf.v2v >= 0) {
    const mark = h("b");
    mark.style.left = `calc(${(wf.v2v / scaleMs) * 100}% - 1px)`;
    mark.title = `heard voice-to-voice ${formatMs(wf.v2v)}`;
    bar.append(mark);
  }
  box.append(bar);
  const rows = h("div", "vv-wf-rows");
  wf.segments.forEach((s, i) => {
    const r = h("span", "vv-wf-row");
    const sw = h("i");
    sw.style.background = SEGMENT_COLORS[i % SEGMENT_COLORS.length];
    r.append(sw, document.createTextNode(`${s.label} ${formatMs(s.ms)}`));
    r.dataset.column = s.column;
    rows.append(r);
  });
  box.append(rows);
  if (turn.transcript) box.append(h("div", "vv-say", `user: ${turn.transcript}`));
  if (turn.agent_text) box.append(h("div", "vv-say", `agent: ${turn.agent_text}`));
  return box;
}

