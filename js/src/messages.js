// The page ↔ kernel envelope, browser side: kind names, audio constants, builders and validators,
// defined once. Twin of vatel_nb/envelope.py; docs/architecture.md is the contract. One envelope is
// {kind, ...}; audio travels as the single binary buffer of `mic` and `audio` (PCM16 LE mono
// 24 kHz) — or, on the base64 transport (widget managers whose binary buffers are unreliable, e.g.
// Colab's), as base64 text in the envelope's `buffers_b64` (packBuffers / unpackBuffers). The page
// finds out with a `probe` each way before `ready`, and says in `ready` which transport it chose.
// Times from the page are t_browser = performance.now() ms.

/** Sample rate of every PCM16 buffer on the wire (Hz). */
export const SAMPLE_RATE = 24000;
/** Samples per mic frame (20 ms at 24 kHz). */
export const FRAME_SAMPLES = 480;

/** Envelopes the page sends to the kernel. */
export const BROWSER_KINDS = Object.freeze(["probe", "ready", "mic", "playback", "pong", "control", "status"]);
/** Envelopes the kernel sends to the page. */
export const KERNEL_KINDS = Object.freeze(["probe", "audio", "interrupt", "ping", "end"]);
/** How buffers travel: comm buffers, or base64 text inside the envelope (`buffers_b64`). */
export const TRANSPORTS = Object.freeze(["binary", "base64"]);
/** The bytes of a probe buffer (each way): all 256 byte values, in order. */
export const PROBE_BYTES = Object.freeze(Array.from({ length: 256 }, (_, i) => i));
/** control.action values (the user clicked). */
export const CONTROL_ACTIONS = Object.freeze(["start", "end", "mute", "unmute", "probe-kernel-audio", "use-kernel-audio", "use-page-audio"]);
/** playback.event values. */
export const PLAYBACK_EVENTS = Object.freeze(["started", "stopped", "flushed", "underrun"]);
/** status.state values in which the page cannot capture (the kernel's devices are worth offering). */
export const NO_PAGE_MIC_STATES = Object.freeze([
  "insecure-context",
  "no-media-devices",
  "no-audio-worklet",
  "vscode-webview",
  "mic-denied",
  "no-microphone",
  "mic-busy",
]);

/** status.state values the page sends (the error states carry a sentence in `error`). */
export const STATUS_STATES = Object.freeze([
  "starting",
  "ended",
  ...NO_PAGE_MIC_STATES,
  "audio-context-failed",
  "autoplay-blocked",
  "engine-error",
]);

const round3 = (x) => Math.round(x * 1000) / 1000;

/**
 * `ready`: the engine is up. `transport`: how buffers travel from now on, both ways; `probe`: what
 * the probe found ({to_kernel, to_page: bool | null, forced: bool}).
 * @param {{contextRate: number, baseLatencyMs: number, outputLatencyMs: number, userAgent: string, processing: boolean,
 *   transport?: "binary" | "base64", probe?: {to_kernel: boolean | null, to_page: boolean | null, forced: boolean}}} r
 */
export function readyMsg(r) {
  const transport = r.transport ?? "binary";
  if (!TRANSPORTS.includes(transport)) throw new Error(`unknown transport ${JSON.stringify(transport)}`);
  /** @type {Record<string, unknown>} */
  const m = {
    kind: "ready",
    sample_rate: SAMPLE_RATE,
    context_rate: r.contextRate,
    base_latency_ms: round3(r.baseLatencyMs),
    output_latency_ms: round3(r.outputLatencyMs),
    user_agent: r.userAgent,
    processing: !!r.processing,
    transport,
  };
  if (r.probe) m.probe = { ...r.probe };
  return m;
}

/** `probe` (page → kernel, before `ready`): send with one buffer, probeBuffer(). @param {number} id */
export function probeMsg(id) {
  return { kind: "probe", id };
}

/** A fresh probe buffer (PROBE_BYTES), to send with `probe`. */
export function probeBuffer() {
  return new Uint8Array(PROBE_BYTES).buffer;
}

/** @param {unknown} b */
function bytesOf(b) {
  if (b instanceof ArrayBuffer) return new Uint8Array(b);
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return null;
}

/**
 * Did a probe buffer arrive intact? True for exactly one buffer equal to PROBE_BYTES.
 * @param {unknown[] | undefined} buffers
 */
export function probeOk(buffers) {
  if (!buffers || buffers.length !== 1) return false;
  const u = bytesOf(buffers[0]);
  if (!u || u.length !== PROBE_BYTES.length) return false;
  for (let i = 0; i < u.length; i++) if (u[i] !== PROBE_BYTES[i]) return false;
  return true;
}

/** @param {Uint8Array} u */
function toBase64(u) {
  let s = "";
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, Array.from(u.subarray(i, i + 0x8000)));
  return btoa(s);
}

/**
 * Ready to send over `transport`: "binary" returns them as they are; "base64" returns a copy of
 * the envelope with `buffers_b64` (each buffer as base64 text) and no buffers.
 * @param {Record<string, unknown>} msg
 * @param {unknown[] | undefined} buffers ArrayBuffer or views
 * @param {"binary" | "base64"} transport
 * @returns {{msg: Record<string, unknown>, buffers: unknown[]}}
 */
export function packBuffers(msg, buffers, transport) {
  const bufs = buffers ?? [];
  if (transport !== "base64" || bufs.length === 0) return { msg, buffers: bufs };
  const text = bufs.map((b) => {
    const u = bytesOf(b);
    if (!u) throw new Error("packBuffers: a buffer must be an ArrayBuffer or a view");
    return toBase64(u);
  });
  return { msg: { ...msg, buffers_b64: text }, buffers: [] };
}

/**
 * The inverse of packBuffers, for either transport: an envelope with `buffers_b64` comes back
 * without it and with its buffers decoded (Uint8Array); anything else as it is. Never throws.
 * @param {unknown} msg
 * @param {unknown[] | undefined} buffers
 * @returns {{ok: true, msg: any, buffers: unknown[]} | {ok: false, error: string}}
 */
export function unpackBuffers(msg, buffers) {
  const bufs = buffers ?? [];
  if (!msg || typeof msg !== "object" || !("buffers_b64" in msg)) return { ok: true, msg, buffers: bufs };
  const m = /** @type {Record<string, any>} */ (msg);
  const text = m.buffers_b64;
  if (!Array.isArray(text) || !text.every((t) => typeof t === "string")) return { ok: false, error: `${m.kind}: buffers_b64 must be a list of base64 strings` };
  if (bufs.length) return { ok: false, error: `${m.kind}: has both buffers_b64 and ${bufs.length} binary buffer(s)` };
  const out = [];
  for (const t of text) {
    let s;
    try {
      s = atob(t);
    } catch {
      return { ok: false, error: `${m.kind}: buffers_b64 is not valid base64` };
    }
    const u = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
    out.push(u);
  }
  const { buffers_b64: _drop, ...rest } = m;
  return { ok: true, msg: rest, buffers: out };
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
    case "probe":
      if (!isNum(m.id)) return { ok: false, error: "probe: id must be a number" };
      if (typeof m.received !== "boolean") return { ok: false, error: "probe: received must be a boolean" };
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
    case "probe":
      err = need("id", isInt, "an integer");
      break;
    case "ready":
      err = need("sample_rate", isNum, "a number") || need("context_rate", isNum, "a number") || need("transport", (x) => x === undefined || TRANSPORTS.includes(x), `one of ${TRANSPORTS.join(", ")}`);
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
