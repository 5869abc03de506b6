// The widget's view: plain DOM + one scoped CSS string. Views render UI and subscribe to the
// engine; removing a view never stops the engine. Stable class names for tests: vatel-call,
// vatel-status, vatel-level, vatel-speaking, vatel-mute, vatel-transcript, vatel-latency
// (plus vatel-processing for the mic-processing switch, vatel-interrupted / vatel-cut on an
// agent line the user cut off; vatel-kernel-audio for the offer of the kernel's devices and
// vatel-kernel-note while they carry the call).
import { probeEnvironment, checkEnvironment } from "./env.js";
import { controlMsg } from "./messages.js";
import { offerKernelAudio, wantsKernelProbe, kernelCallActive, kernelNote } from "./kernel_audio.js";

import { listenModel } from "./kernel_link.js";

export const WIDGET_CSS = `
.vatel-widget { font-family: var(--jp-ui-font-family, system-ui, sans-serif); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1, #1f1f1f); background: var(--jp-layout-color1, transparent);
  border: 1px solid var(--jp-border-color2, #ccc); border-radius: 6px; padding: 8px 10px; max-width: 720px; }
.vatel-widget .vatel-row { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; margin: 4px 0; }
.vatel-widget .vatel-title { color: var(--jp-ui-font-color2, #616161); }
.vatel-widget button { font: inherit; cursor: pointer; padding: 3px 12px; border-radius: 4px;
  border: 1px solid var(--jp-border-color1, #999); background: var(--jp-layout-color2, #eee); color: var(--jp-ui-font-color1, #1f1f1f); }
.vatel-widget button.vatel-call[data-active="false"] { background: var(--jp-brand-color1, #1976d2); color: var(--jp-ui-inverse-font-color1, #fff); border-color: transparent; }
.vatel-widget button.vatel-call[data-active="true"] { background: var(--jp-error-color1, #d32f2f); color: var(--jp-ui-inverse-font-color1, #fff); border-color: transparent; }
.vatel-widget button.vatel-mute[aria-pressed="true"] { background: var(--jp-warn-color1, #f57c00); color: var(--jp-ui-inverse-font-color1, #fff); }
.vatel-widget button:disabled { opacity: 0.5; cursor: default; }
.vatel-widget .vatel-status[data-state="error"] { color: var(--jp-error-color1, #d32f2f); }
.vatel-widget .vatel-status[data-state="live"] { color: var(--jp-success-color1, #388e3c); }
.vatel-widget .vatel-level { width: 90px; height: 8px; border-radius: 4px; overflow: hidden; background: var(--jp-layout-color3, #ddd); }
.vatel-widget .vatel-level > div { height: 100%; width: 0; background: var(--jp-success-color1, #388e3c); transition: width 60ms linear; }
.vatel-widget .vatel-speaking { color: var(--jp-ui-font-color3, #9e9e9e); }
.vatel-widget .vatel-speaking[data-speaking="true"] { color: var(--jp-brand-color1, #1976d2); font-weight: 600; }
.vatel-widget .vatel-latency { color: var(--jp-ui-font-color2, #616161); }
.vatel-widget .vatel-processing { color: var(--jp-ui-font-color2, #616161); user-select: none; }
.vatel-widget .vatel-transcript { max-height: 220px; overflow-y: auto; border-top: 1px solid var(--jp-border-color2, #ccc); padding-top: 4px; }
.vatel-widget .vatel-line { margin: 2px 0; white-space: pre-wrap; }
.vatel-widget .vatel-line .vatel-who { font-weight: 600; margin-right: 6px; }
.vatel-widget .vatel-line.vatel-agent .vatel-who { color: var(--jp-brand-color1, #1976d2); }
.vatel-widget .vatel-line.vatel-partial { color: var(--jp-ui-font-color2, #757575); font-style: italic; }
.vatel-widget .vatel-line .vatel-cut { color: var(--jp-warn-color1, #f57c00); font-style: italic; }
.vatel-widget .vatel-kernel-note { color: var(--jp-ui-font-color2, #616161); margin: 4px 0; }
.vatel-widget [hidden] { display: none !important; }
`;

const LABELS = { idle: "Idle — press Start call", connecting: "Connecting…", live: "Live", ending: "Ending…", ended: "Call ended" };

/**
 * What the status line shows, from the engine's state and the kernel's `status`/`error` traits.
 * A local (engine) error wins: it is shown even if the kernel never answers.
 * `acked`: false while the engine's new call has not been taken up by the kernel yet (its status
 * and error are then the previous call's, so they are not shown).
 * @param {{engineState: string, engineError?: string, traitStatus?: string, traitError?: string, acked?: boolean}} s
 * @returns {{state: string, text: string}}
 */
export function viewStatus(s) {
  let ts = s.traitStatus || "idle";
  if (s.engineState === "error") return { state: "error", text: `Error: ${s.engineError || "the audio engine failed"}` };
  // a new call (Start after End): the kernel's status is still the last call's until it answers
  if (s.acked === false && (s.engineState === "starting" || s.engineState === "running")) ts = "connecting";
  if (ts === "error") return { state: "error", text: `Error: ${s.traitError || "the call failed"}` };
  let state = ts;
  if (s.engineState === "starting") state = "connecting";
  else if (s.engineState === "running") state = ts === "live" || ts === "ended" ? ts : "connecting";
  else if (s.engineState === "ending") state = "ending";
  else if (s.engineState === "ended") state = "ended";
  return { state, text: LABELS[state] || String(state) };
}

/**
 * Latency line text.
 * @param {number | null | undefined} ms
 * @param {string | null | undefined} kind
 */
export function latencyText(ms, kind) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "Last turn latency: —";
  return `Last turn latency: ${Math.round(ms)} ms${kind ? ` (${kind})` : ""}`;
}

/**
 * The note after an interrupted agent line: what was heard, when the page reported it.
 * @param {{heard?: string | null, heard_s?: number | null}} it a transcript entry with interrupted: true
 */
export function interruptedNote(it) {
  const secs = typeof it.heard_s === "number" && Number.isFinite(it.heard_s) ? ` after ${it.heard_s.toFixed(1)} s` : "";
  const heard = typeof it.heard === "string" ? `; heard: “${it.heard}${it.heard ? "…" : ""}”` : "";
  return ` — interrupted${secs}${heard}`;
}

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Render one view of the widget into `el`.
 * @param {any} model the view's model proxy
 * @param {HTMLElement} el
 * @param {import("./engine.js").AudioEngine} engine the model's engine (shared by all views)
 * @returns {() => void} cleanup (removes listeners; leaves the engine running)
 */
export function renderView(model, el, engine) {
  const root = h("div", "vatel-widget");
  const style = h("style", "", WIDGET_CSS);
  const title = h("div", "vatel-row vatel-title");
  const row1 = h("div", "vatel-row");
  const call = /** @type {HTMLButtonElement} */ (h("button", "vatel-call", "Start call"));
  const mute = /** @type {HTMLButtonElement} */ (h("button", "vatel-mute", "Mute"));
  const procLabel = h("label", "vatel-processing");
  const proc = /** @type {HTMLInputElement} */ (h("input"));
  proc.type = "checkbox";
  procLabel.append(proc, " mic processing (echo cancellation, noise suppression, auto gain; applies on next start)");
  const kernelBtn = /** @type {HTMLButtonElement} */ (h("button", "vatel-kernel-audio", "Use this computer's audio devices (kernel)"));
  kernelBtn.hidden = true;
  row1.append(call, mute, procLabel, kernelBtn);
  const kernelNoteEl = h("div", "vatel-kernel-note");
  kernelNoteEl.hidden = true;
  const row2 = h("div", "vatel-row");
  const status = h("span", "vatel-status");
  const level = h("div", "vatel-level");
  const levelBar = h("div");
  level.append(levelBar);
  level.title = "microphone level";
  const speaking = h("span", "vatel-speaking", "agent speaking");
  const latency = h("span", "vatel-latency");
  row2.append(status, level, speaking, latency);
  const transcript = h("div", "vatel-transcript");
  root.append(style, title, row1, kernelNoteEl, row2, transcript);
  // the page cannot capture here (e.g. VS Code's webview): the kernel's own devices may
  const envProblem = checkEnvironment(probeEnvironment(globalThis));
  const pageProblem = envProblem ? envProblem.state : null;
  let probed = false;
  el.append(root);

  const kernelMode = () => model.get("audio_source") === "kernel";

  const update = () => {
    const kernel = kernelMode();
    const engineErrorState = engine.state === "error" ? engine.errorState || null : null;
    if (!kernel && !probed && wantsKernelProbe({ pageProblem, engineErrorState })) {
      probed = true;
      model.send(controlMsg("probe-kernel-audio"));
    }
    const kernelAudio = model.get("kernel_audio") || {};
    kernelBtn.hidden = !offerKernelAudio({ kernelAudio, audioSource: model.get("audio_source"), pageProblem, engineErrorState });
    kernelNoteEl.hidden = !kernel;
    if (kernel) kernelNoteEl.textContent = kernelNote(kernelAudio, !!model.get("half_duplex"));
    // kernel mode: the page's engine stays idle; the call's state is the kernel's
    const active = kernel ? kernelCallActive(model.get("status")) : engine.active;
    const st = kernel
      ? viewStatus({ engineState: "idle", traitStatus: model.get("status"), traitError: model.get("error") })
      : viewStatus({ engineState: engine.state, engineError: engine.error, traitStatus: model.get("status"), traitError: model.get("error"), acked: engine.callAcked });
    status.dataset.state = st.state;
    status.textContent = st.text;
    call.dataset.active = String(active);
    call.textContent = active ? "End call" : "Start call";
    call.disabled = !kernel && engine.state === "ending";
    const muted = kernel ? !!model.get("muted") : engine.muted;
    mute.setAttribute("aria-pressed", String(muted));
    mute.textContent = muted ? "Unmute" : "Mute";
    mute.disabled = !active;
    proc.checked = model.get("mic_processing") !== false;
    procLabel.hidden = kernel;
    level.hidden = kernel;
    speaking.hidden = kernel;
    const lv = !kernel && engine.active && !muted ? engine.level : 0;
    levelBar.style.width = `${Math.round(lv * 100)}%`;
    level.dataset.level = lv.toFixed(2);
    speaking.dataset.speaking = String(engine.agentSpeaking);
    latency.textContent = latencyText(model.get("last_latency_ms"), model.get("last_latency_kind"));
    const name = model.get("agent_name");
    const backend = model.get("backend");
    title.textContent = ["Vatel call", name, backend].filter(Boolean).join(" · ");
  };

  const renderTranscript = () => {
    const items = model.get("transcript") || [];
    const nearBottom = transcript.scrollTop + transcript.clientHeight >= transcript.scrollHeight - 8;
    transcript.replaceChildren(
      ...items.slice(-200).map((it) => {
        const role = it && it.role === "agent" ? "agent" : "user";
        const cut = role === "agent" && it && it.interrupted === true;
        const line = h("div", `vatel-line vatel-${role}${it && it.final === false ? " vatel-partial" : ""}${cut ? " vatel-interrupted" : ""}`);
        line.append(h("span", "vatel-who", role === "agent" ? "Agent:" : "You:"), String((it && it.text) || ""));
        if (cut) line.append(h("span", "vatel-cut", interruptedNote(it)));
        return line;
      }),
    );
    if (nearBottom) transcript.scrollTop = transcript.scrollHeight;
  };

  // every listener of this view goes when `life` aborts (the cleanup anywidget calls)
  const life = new AbortController();
  const signal = life.signal;
  // kernel mode: custom `control` envelopes, never trait writes (a trait update from the page waits
  // for the kernel to go idle, and a notebook cell awaiting the call keeps it busy)
  call.addEventListener(
    "click",
    () => {
      if (kernelMode()) model.send(controlMsg(kernelCallActive(model.get("status")) ? "end" : "start"));
      else if (engine.active) engine.hangUp();
      else void engine.start();
    },
    { signal },
  );
  mute.addEventListener(
    "click",
    () => {
      if (kernelMode()) model.send(controlMsg(model.get("muted") ? "unmute" : "mute"));
      else engine.setMuted(!engine.muted);
    },
    { signal },
  );
  kernelBtn.addEventListener("click", () => model.send(controlMsg("use-kernel-audio")), { signal });
  proc.addEventListener(
    "change",
    () => {
      model.set("mic_processing", proc.checked);
      model.save_changes();
    },
    { signal },
  );

  signal.addEventListener("abort", engine.subscribe(update), { once: true });
  const traits = ["status", "error", "muted", "mic_processing", "last_latency_ms", "last_latency_kind", "agent_name", "backend", "kernel_audio", "audio_source", "half_duplex"];
  for (const t of traits) listenModel(model, `change:${t}`, update, signal);
  listenModel(model, "change:transcript", renderTranscript, signal);
  update();
  renderTranscript();
  if (model.get("autostart") && engine.state === "idle" && !kernelMode()) void engine.start();

  return () => {
    life.abort();
    root.remove();
  };
}
