// The page ↔ kernel envelope, browser side: kind names, audio constants, builders and validators,
// defined once. Twin of vatel_nb/envelope.py; docs/architecture.md is the contract. One envelope is
// {kind, ...}; audio travels only as the single binary buffer of `mic` and `audio` (PCM16 LE mono
// 24 kHz). Times from the page are t_browser = performance.now() ms.

/** Sample rate of every PCM16 buffer on the wire (Hz). */
export const SAMPLE_RATE = 24000;
/** Samples per mic frame (20 ms at 24 kHz). */
export const FRAME_SAMPLES = 480;

/** Envelopes the page sends to the kernel. */
export const BROWSER_KINDS = Object.freeze(["ready", "mic", "playback", "pong", "control", "status"]);
/** Envelopes the kernel sends to the page. */
export const KERNEL_KINDS = Object.freeze(["audio", "interrupt", "ping", "end"]);
/** control.action values (the user clicked). */
export const CONTROL_ACTIONS = Object.freeze(["start", "end", "mute", "unmute", "probe-kernel-audio", "use-kernel-audio", "use-page-audio"]);
/** playback.event values. */
export const PLAYBACK_EVENTS = Object.freeze(["started", "stopped", "flushed", "underrun"]);
/** status.state values the page sends (the error states carry a sentence in `error`). */
export const STATUS_STATES = Object.freeze([
  "starting",
  "ended",
  "insecure-context",
  "no-media-devices",
  "no-audio-worklet",
  "vscode-webview",
  "mic-denied",
  "no-microphone",
  "mic-busy",
  "audio-context-failed",
  "autoplay-blocked",
  "engine-error",
]);

const round3 = (x) => Math.round(x * 1000) / 1000;

/**
 * @param {{contextRate: number, baseLatencyMs: number, outputLatencyMs: number, userAgent: string, processing: boolean}} r
 */
export function readyMsg(r) {
  return {
    kind: "ready",
    sample_rate: SAMPLE_RATE,
    context_rate: r.contextRate,
    base_latency_ms: round3(r.baseLatencyMs),
    output_latency_ms: round3(r.outputLatencyMs),
    user_agent: r.userAgent,
    processing: !!r.processing,
  };
}

/**
 * `mic` envelope; send with exactly one buffer (PCM16 LE mono 24 kHz).
 * @param {number} seq 0, 1, 2… per sent frame
 * @param {number} tBrowser capture time of the frame's first sample, performance.now() ms
 * @param {number} samples samples in the buffer (480)
 */
export function micMsg(seq, tBrowser, samples) {
  return { kind: "mic", seq, t_browser: round3(tBrowser), samples };
}

/**
 * @param {{event: string, turnId: string | null, tBrowser: number, samples: number,
 *   droppedSamples?: number, outputLatencyMs?: number, targetMs?: number}} p samples in 24 kHz
 *   samples; targetMs: the playout target depth (ms) at the event
 */
export function playbackMsg(p) {
  if (!PLAYBACK_EVENTS.includes(p.event)) throw new Error(`unknown playback event ${JSON.stringify(p.event)}`);
  /** @type {Record<string, unknown>} */
  const m = { kind: "playback", event: p.event, turn_id: p.turnId ?? null, t_browser: round3(p.tBrowser), samples: p.samples };
  if (p.droppedSamples !== undefined) m.dropped_samples = p.droppedSamples;
  if (p.outputLatencyMs !== undefined) m.output_latency_ms = round3(p.outputLatencyMs);
  if (p.targetMs !== undefined && Number.isFinite(p.targetMs)) m.target_ms = round3(p.targetMs);
  return m;
}

/** @param {number} id the ping's id @param {number} tBrowser performance.now() ms */
export function pongMsg(id, tBrowser) {
  return { kind: "pong", id, t_browser: round3(tBrowser) };
}

/** @param {"start" | "end" | "mute" | "unmute" | "probe-kernel-audio" | "use-kernel-audio" | "use-page-audio"} action */
export function controlMsg(action) {
  if (!CONTROL_ACTIONS.includes(action)) throw new Error(`unknown control action ${JSON.stringify(action)}`);
  return { kind: "control", action };
}

/** @param {string} state @param {string} [error] a sentence the user can act on */
export function statusMsg(state, error) {
  return error === undefined ? { kind: "status", state } : { kind: "status", state, error };
}

const isNum = (x) => typeof x === "number" && Number.isFinite(x);
const isTurn = (x) => x === null || x === undefined || typeof x === "string" || isNum(x);

/**
 * Check one kernel → browser envelope. Never throws.
 * @param {unknown} msg
 * @param {unknown[]} [buffers]
 * @returns {{ok: true, kind: string} | {ok: false, error: string}}
 */
export function validateKernelMessage(msg, buffers = []) {
  if (!msg || typeof msg !== "object" || Array.isArray(msg)) return { ok: false, error: "an envelope must be an object" };
  const m = /** @type {Record<string, any>} */ (msg);
  if (!KERNEL_KINDS.includes(m.kind)) return { ok: false, error: `unknown envelope kind ${JSON.stringify(m.kind)}` };
  switch (m.kind) {
    case "audio":
      if (!isTurn(m.turn_id)) return { ok: false, error: "audio: turn_id must be a string or null" };
      if (typeof m.final !== "boolean") return { ok: false, error: "audio: final must be a boolean" };
      if (!buffers || buffers.length !== 1) return { ok: false, error: `audio: needs 1 buffer, got ${buffers ? buffers.length : 0}` };
      if (!(buffers[0] instanceof ArrayBuffer || ArrayBuffer.isView(buffers[0]))) return { ok: false, error: "audio: the buffer must be binary" };
      break;
    case "interrupt":
      if (!isTurn(m.turn_id)) return { ok: false, error: "interrupt: turn_id must be a string or null" };
      break;
    case "ping":
      if (!isNum(m.id)) return { ok: false, error: "ping: id must be a number" };
      break;
    case "end":
      if (m.reason !== undefined && m.reason !== null && typeof m.reason !== "string") return { ok: false, error: "end: reason must be a string" };
      break;
  }
  return { ok: true, kind: m.kind };
}

/**
 * Check one browser → kernel envelope (what the page is about to send). Never throws.
 * @param {unknown} msg
 * @param {unknown[]} [buffers]
 * @returns {{ok: true, kind: string} | {ok: false, error: string}}
 */
export function validateBrowserMessage(msg, buffers = []) {
  if (!msg || typeof msg !== "object" || Array.isArray(msg)) return { ok: false, error: "an envelope must be an object" };
  const m = /** @type {Record<string, any>} */ (msg);
  if (!BROWSER_KINDS.includes(m.kind)) return { ok: false, error: `unknown envelope kind ${JSON.stringify(m.kind)}` };
  const need = (name, pred, what) => (pred(m[name]) ? null : `${m.kind}: ${name} must be ${what}`);
  const isInt = (x) => Number.isInteger(x);
  let err = null;
  switch (m.kind) {
    case "ready":
      err = need("sample_rate", isNum, "a number") || need("context_rate", isNum, "a number");
      break;
    case "mic":
      err = need("seq", isInt, "an integer") || need("t_browser", isNum, "a number") || need("samples", isInt, "an integer");
      if (!err && (!buffers || buffers.length !== 1)) err = "mic: needs exactly 1 buffer";
      break;
    case "playback":
      err = need("event", (x) => PLAYBACK_EVENTS.includes(x), `one of ${PLAYBACK_EVENTS.join(", ")}`) || need("t_browser", isNum, "a number") || need("samples", isNum, "a number") || need("turn_id", isTurn, "a string or null");
      break;
    case "pong":
      err = need("id", isNum, "a number") || need("t_browser", isNum, "a number");
      break;
    case "control":
      err = need("action", (x) => CONTROL_ACTIONS.includes(x), `one of ${CONTROL_ACTIONS.join(", ")}`);
      break;
    case "status":
      err = need("state", (x) => typeof x === "string" && x.length > 0, "a non-empty string");
      break;
  }
  return err ? { ok: false, error: err } : { ok: true, kind: m.kind };
}
