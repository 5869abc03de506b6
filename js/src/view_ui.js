// The call view's DOM: toolbar, two stacked canvases (timeline below, cursor above), the <audio>
// element, the latency waterfall panel, mouse and keyboard. Used by the widget (model = the
// anywidget model) and by the HTML file (model = a static stand-in). Stable class names for
// tests: vatel-view, vatel-view-play, vatel-view-time, vatel-view-canvas, vatel-view-waterfall,
// vatel-view-audio; the root's data-t0 / data-t1 (visible range, s), data-cursor (s),
// data-playing, data-turn (selected turn), data-width (CSS px of the canvas) and data-window (start,
// s, of the audio window loaded: the call time is data-window + audio.currentTime).

import { COLORS, LAYOUT, TIME_MARKS, columnsFor, drawCursor, drawTimeline } from "./view_draw.js";
import { VIEW_CSS, h, splitEnvelopes, waterfallPanel } from "./view_panel.js";
import { Player } from "./view_player.js";
import { clampScale, followScale, formatMs, formatTime, makeScale, panScale, turnAtX, turnIndex, xToTime, zoomScale } from "./timeline.js";

/**
 * Render the call view into `el`. Returns the cleanup function.
 * @param {any} model `get(name)`, `on/off("change:name", fn)` (anywidget model or a static stand-in)
 * @param {HTMLElement} el
 * @param {import("./view_player.js").AudioSource} source
 */
export function renderCallView(model, el, source) {
  const ac = new AbortController();
  const opts = { signal: ac.signal };
  const style = h("style", "", VIEW_CSS);
  const root = h("div", "vatel-view");
  root.tabIndex = 0;
  // keys pressed in the view are the view's: JupyterLab/Notebook (Lumino) skip their shortcuts
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  const bar = h("div", "vv-bar");
  const play = h("button", "vatel-view-play", "▶");
  play.title = "play / pause (space)";
  const prevB = h("button", "vv-prev", "‹ turn");
  prevB.title = "previous turn (←)";
  const nextB = h("button", "vv-next", "turn ›");
  nextB.title = "next turn (→)";
  const zin = h("button", "vv-zoom-in", "+");
  zin.title = "zoom in (+ or wheel)";
  const zout = h("button", "vv-zoom-out", "−");
  zout.title = "zoom out (− or wheel)";
  const fit = h("button", "vv-fit", "fit");
  fit.title = "whole call (0)";
  const time = h("span", "vatel-view-time", "0:00.0");
  const titleE = h("span", "vv-title");
  const live = h("span", "vv-live");
  const stats = h("span", "vv-stats");
  const err = h("span", "vv-error");
  const help = h("span", "vv-help", "click: play from there · drag / shift+wheel: pan · wheel: zoom · space · ← →");
  bar.append(play, prevB, nextB, zin, zout, fit, time, titleE, live, stats, err, help);
  const stage = h("div", "vv-stage");
  const base = h("canvas", "vatel-view-canvas");
  const over = h("canvas", "vv-cursor");
  stage.append(base, over);
  const legend = h("div", "vv-legend");
  const legendItems = [
    [COLORS.user, "user (left channel)"],
    [COLORS.agent, "agent (right channel, as played)"],
    [COLORS.latency, "end of speech → agent heard"],
    [COLORS.tool, "tool call"],
    [COLORS.interruption, "interruption"],
  ];
  for (const [c, label] of legendItems) {
    const s = h("span");
    const sw = h("i");
    sw.style.background = c;
    s.append(sw, document.createTextNode(label));
    legend.append(s);
  }
  const marks = h("span", "", "instants: ");
  for (const [col, c] of TIME_MARKS) {
    const s = h("span", "", col.replace(/^t_/, "") + " ");
    s.style.color = c;
    marks.append(s);
  }
  legend.append(marks);
  const panel = h("div", "vatel-view-waterfall", "Hover or click a turn (the grey boxes) for its latency waterfall.");
  const audio = /** @type {HTMLAudioElement} */ (h("audio", "vatel-view-audio"));
  audio.preload = "auto";
  root.append(bar, stage, legend, panel, audio);
  el.append(style, root);

  /** @type {any} */
  let tl = model.get("timeline") || {};
  let env = splitEnvelopes(tl, model.get("envelopes"));
  let index = turnIndex(tl.turns || []);
  let duration = Math.max(tl.duration_s || 0, 0.25);
  let scale = makeScale(0, duration, 600);
  let fitted = true;
  let cols = null;
  let selected = null;
  let hover = null;
  let following = true;
  let raf = 0;
  let dpr = 1;

  const player = new Player(audio, source, (s) => {
    play.textContent = s.playing ? "❚❚" : "▶";
    root.dataset.playing = String(s.playing);
    err.textContent = s.error;
    if (s.playing) loop();
    drawOver();
  });

  function sizeCanvases() {
    const w = Math.max(50, stage.clientWidth || 600);
    dpr = globalThis.devicePixelRatio || 1;
    for (const c of [base, over]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(LAYOUT.height * dpr);
    }
    scale = fitted ? makeScale(0, duration, w) : clampScale({ ...scale, width: w }, duration);
    root.dataset.width = String(w);
  }

  function drawBase() {
    cols = columnsFor(tl, env, scale);
    const ctx = base.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    drawTimeline(ctx, { timeline: { turns: [], intervals: [], tools: [], interruptions: [], levels: [], ...tl }, scale, cols, selected, hover });
    root.dataset.t0 = String(scale.t0);
    root.dataset.t1 = String(scale.t1);
  }

  function drawOver() {
    const t = player.time();
    const ctx = over.getContext("2d");
    if (ctx) {
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, scale.width, LAYOUT.height);
      drawCursor(ctx, scale, t);
    }
    time.textContent = `${formatTime(t)} / ${formatTime(duration, 0)}`;
    root.dataset.cursor = t.toFixed(3);
    root.dataset.window = player.win ? String(player.win.start_s) : "";
  }

  function setScale(s, keepFollow = false) {
    scale = s;
    fitted = s.t0 <= 0 && s.t1 >= duration - 1e-6;
    if (!keepFollow) following = false;
    drawBase();
    drawOver();
  }

  function loop() {
    if (raf) return;
    const step = () => {
      raf = 0;
      if (!player.playing) return drawOver();
      const t = player.time();
      if (following) {
        const s = followScale(scale, t, duration);
        if (s !== scale) setScale(s, true);
      }
      drawOver();
      raf = requestAnimationFrame(step);
    };
    raf = requestAnimationFrame(step);
  }

  function showPanel(turn) {
    panel.replaceChildren(
      turn ? waterfallPanel(turn, tl.components || []) : h("span", "", "Hover or click a turn for its latency waterfall."),
    );
  }

  function select(turn, seek = true) {
    selected = turn;
    root.dataset.turn = turn ? String(turn.turn) : "";
    showPanel(turn);
    drawBase();
    if (turn && seek) {
      following = true;
      const s = followScale(scale, turn.start, duration, 0.1);
      if (s !== scale) setScale(s, true);
      player.seek(turn.start, { play: true });
    }
  }

  function header() {
    titleE.textContent = tl.title || "";
    live.textContent = tl.live ? "● live" : "";
    const st = tl.stats || {};
    stats.textContent = tl.pending
      ? "analysing the turns…"
      : `${st.turns ?? 0} user turns · v2v p50 ${formatMs(st.v2v_p50)} · p90 ${formatMs(st.v2v_p90)}`;
    if (tl.error) err.textContent = tl.error;
  }

  function update() {
    tl = model.get("timeline") || {};
    env = splitEnvelopes(tl, model.get("envelopes"));
    index = turnIndex(tl.turns || []);
    const was = duration;
    duration = Math.max(tl.duration_s || 0, 0.25);
    if (fitted || scale.t1 >= was - 1e-6) scale = fitted ? makeScale(0, duration, scale.width) : clampScale(scale, duration);
    if (selected) selected = (tl.turns || []).find((t) => t.turn === selected.turn) || null;
    header();
    drawBase();
    drawOver();
  }

  // ---- mouse: click = play from there (or the turn's start on the turn lane), drag = pan
  let drag = null;
  stage.addEventListener(
    "pointerdown",
    (e) => {
      root.focus({ preventScroll: true });
      drag = { x: e.clientX, moved: false, scale };
      stage.setPointerCapture?.(e.pointerId);
    },
    opts,
  );
  stage.addEventListener(
    "pointermove",
    (e) => {
      const r = stage.getBoundingClientRect();
      const x = e.clientX - r.left;
      const y = e.clientY - r.top;
      if (drag) {
        const dx = e.clientX - drag.x;
        if (Math.abs(dx) > 3) drag.moved = true;
        if (drag.moved) setScale(panScale(drag.scale, dx, duration));
        return;
      }
      const t = y >= LAYOUT.turns.top ? turnAtX(tl.turns || [], scale, x) : null;
      if (t !== hover) {
        hover = t;
        if (!selected || t) showPanel(t || selected);
        drawBase();
      }
    },
    opts,
  );
  stage.addEventListener(
    "pointerup",
    (e) => {
      const d = drag;
      drag = null;
      if (!d || d.moved) return;
      const r = stage.getBoundingClientRect();
      const x = e.clientX - r.left;
      const y = e.clientY - r.top;
      const turn = y >= LAYOUT.turns.top ? turnAtX(tl.turns || [], scale, x) : null;
      if (turn) return select(turn);
      following = true;
      player.seek(Math.min(duration, Math.max(0, xToTime(scale, x))), { play: true });
    },
    opts,
  );
  stage.addEventListener(
    "pointerleave",
    () => {
      if (hover) {
        hover = null;
        showPanel(selected);
        drawBase();
      }
    },
    opts,
  );
  stage.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      const r = stage.getBoundingClientRect();
      if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        setScale(panScale(scale, -(e.deltaX || e.deltaY), duration));
      } else {
        setScale(zoomScale(scale, Math.exp(-e.deltaY / 300), e.clientX - r.left, duration));
      }
    },
    { signal: ac.signal, passive: false },
  );

  // ---- buttons and keys
  const zoomBy = (f) => setScale(zoomScale(scale, f, scale.width / 2, duration));
  const go = (dir) => {
    const t = player.time();
    const turn = dir > 0 ? index.next(t) : index.prev(t);
    if (turn) select(turn);
  };
  play.addEventListener("click", () => player.toggle(), opts);
  prevB.addEventListener("click", () => go(-1), opts);
  nextB.addEventListener("click", () => go(1), opts);
  zin.addEventListener("click", () => zoomBy(2), opts);
  zout.addEventListener("click", () => zoomBy(0.5), opts);
  fit.addEventListener("click", () => setScale(makeScale(0, duration, scale.width)), opts);
  root.addEventListener(
    "keydown",
    (e) => {
      const k = e.key;
      if (k === " " || k === "k") player.toggle();
      else if (k === "ArrowRight") go(1);
      else if (k === "ArrowLeft") go(-1);
      else if (k === "+" || k === "=") zoomBy(2);
      else if (k === "-" || k === "_") zoomBy(0.5);
      else if (k === "0") setScale(makeScale(0, duration, scale.width));
      else if (k === "Home") player.seek(0);
      else if (k === "Escape") select(null, false);
      else return;
      e.preventDefault();
      e.stopPropagation(); // keep Jupyter's command-mode shortcuts out of it
    },
    opts,
  );

  const onChange = () => update();
  model.on("change:timeline", onChange);
  model.on("change:envelopes", onChange);
  const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => (sizeCanvases(), drawBase(), drawOver())) : null;
  if (ro) ro.observe(stage);
  sizeCanvases();
  header();
  drawBase();
  drawOver();
  // the first layout may not be done yet (widget outputs attach later)
  requestAnimationFrame(() => (sizeCanvases(), drawBase(), drawOver()));

  return () => {
    ac.abort();
    if (ro) ro.disconnect();
    if (raf) cancelAnimationFrame(raf);
    model.off("change:timeline", onChange);
    model.off("change:envelopes", onChange);
    player.dispose();
  };
}
