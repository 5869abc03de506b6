// The link between the page and the kernel through the anywidget model: kernel envelopes in
// (unpacked, validated, dispatched by kind), browser envelopes out (through the Sender: packed for
// the transport, mic frames paced), trait changes in, and the choice of transport before `ready`
// (negotiate: a probe buffer each way). Every model listener is removed when the link's
// AbortSignal aborts (the cleanup anywidget calls).
import { validateKernelMessage, unpackBuffers, probeMsg, probeBuffer, probeOk, TRANSPORTS } from "./messages.js";
import { Sender } from "./sender.js";

/** How long the page waits for the kernel's answer to its probe before choosing base64, ms. */
export const PROBE_TIMEOUT_MS = 3000;

/**
 * `model.on(event, fn)` until `signal` aborts, then `model.off(event, fn)`.
 * @param {any} model anywidget model (on/off)
 * @param {string} event e.g. "msg:custom", "change:status"
 * @param {(...args: any[]) => void} fn
 * @param {AbortSignal} signal
 */
export function listenModel(model, event, fn, signal) {
  if (signal.aborted) return;
  model.on(event, fn);
  signal.addEventListener("abort", () => model.off(event, fn), { once: true });
}

/**
 * A kernel envelope's turn id as the playback worklet keys it: a string, or null for none.
 * @param {unknown} turnId
 * @returns {string | null}
 */
export function turnKey(turnId) {
  return turnId === undefined || turnId === null ? null : String(turnId);
}

/**
 * What to do with one kernel → browser message: `{kind: "ignore"}` for anywidget's own
 * messages, `{kind: "invalid", error}` for a malformed envelope, else the envelope's kind with
 * its fields (`turnId` normalized with turnKey). Pure; never throws.
 * @param {any} msg
 * @param {any[]} buffers
 * @returns {{kind: "ignore"} | {kind: "invalid", error: string} | {kind: "ping", id: number} |
 *   {kind: "audio", turnId: string | null, final: boolean, buffer: any} |
 *   {kind: "interrupt", turnId: string | null} | {kind: "end", reason: string | null} |
 *   {kind: "probe", id: number, received: boolean, intact: boolean}}
 */
export function routeKernelMessage(msg, buffers) {
  const u = unpackBuffers(msg, buffers);
  if (!u.ok) return { kind: "invalid", error: u.error };
  msg = u.msg;
  buffers = u.buffers;
  const v = validateKernelMessage(msg, buffers);
  if (!v.ok) {
    if (msg && typeof msg === "object" && typeof msg.kind === "string" && msg.kind.startsWith("anywidget")) return { kind: "ignore" };
    return { kind: "invalid", error: v.error };
  }
  switch (msg.kind) {
    case "ping":
      return { kind: "ping", id: msg.id };
    case "audio":
      return { kind: "audio", turnId: turnKey(msg.turn_id), final: msg.final, buffer: buffers[0] };
    case "interrupt":
      return { kind: "interrupt", turnId: turnKey(msg.turn_id) };
    case "probe":
      return { kind: "probe", id: msg.id, received: msg.received, intact: probeOk(buffers) };
    default:
      return { kind: "end", reason: typeof msg.reason === "string" ? msg.reason : null };
  }
}

/**
 * @typedef {{message: (route: ReturnType<typeof routeKernelMessage>) => void,
 *   status: (status: string) => void, muted: (muted: boolean) => void,
 *   jitter: (ms: number | null) => void}} KernelHandlers
 */

/**
 * The model's `jitter_ms` trait: a fixed playback cushion (ms, a non-negative number), or null
 * for adaptive playout (the trait's default, None; also for anything that is not such a number).
 * @param {unknown} value
 * @returns {number | null}
 */
export function jitterTrait(value) {
  if (value === null || value === undefined || value === "") return null;
  const j = Number(value);
  return Number.isFinite(j) && j >= 0 ? j : null;
}

/**
 * The `callbacks` argument of model.send that calls `done` once the receiver has taken the
 * message up: ipywidgets (Jupyter) calls `iopub.status` with the kernel's status messages for it,
 * and `idle` means the handler ran; marimo calls `callbacks()` itself when its request completed.
 * @param {() => void} done
 */
export function takenUp(done) {
  const cb = () => done();
  cb.iopub = {
    status: (/** @type {any} */ m) => {
      if (m && m.content && m.content.execution_state === "idle") done();
    },
  };
  return cb;
}

/**
 * The page's side of the model: kernel envelopes and trait changes go to `handlers` until
 * `signal` aborts; `send` sends one browser envelope (never throws: a closed comm only warns).
 */
export class KernelLink {
  /**
   * @param {any} model anywidget model
   * @param {KernelHandlers} handlers
   * @param {AbortSignal} signal
   */
  constructor(model, handlers, signal) {
    this.model = model;
    this.sender = new Sender((msg, buffers, done) => model.send(msg, done ? takenUp(done) : undefined, buffers));
    this.probeId = 0;
    /** @type {{id: number, resolve: (r: {received: boolean, intact: boolean}) => void} | null} */
    this.probeWaiter = null;
    const onMessage = (msg, buffers) => {
      const r = routeKernelMessage(msg, buffers || []);
      if (r.kind === "probe") return this._onProbe(r);
      handlers.message(r);
    };
    listenModel(model, "msg:custom", onMessage, signal);
    listenModel(model, "change:status", () => handlers.status(model.get("status")), signal);
    listenModel(model, "change:muted", () => handlers.muted(!!model.get("muted")), signal);
    listenModel(model, "change:jitter_ms", () => handlers.jitter(this.jitterMs), signal);
  }

  /** @param {any} msg a browser envelope (messages.js builders) @param {any[]} [buffers] */
  send(msg, buffers) {
    this.sender.send(msg, buffers);
  }

  /**
   * One captured mic frame (PCM16 24 kHz): sent as a `mic` envelope, or coalesced with the next
   * ones while the channel is busy (sender.js).
   * @param {number} tBrowser capture time of its first sample, performance.now() ms
   * @param {ArrayBuffer} pcm
   */
  mic(tBrowser, pcm) {
    this.sender.mic(tBrowser, pcm);
  }

  /** How buffers travel now: "binary" or "base64". */
  get transport() {
    return this.sender.transport;
  }

  /**
   * Before `ready`: choose the call's transport. The `transport` trait "binary" or "base64" is
   * used as it is; "auto" (or unset) sends `probe` with a probe buffer and waits for the kernel's
   * answer (≤ `timeoutMs`): "binary" only if the kernel got the page's buffer intact and its
   * answer's buffer arrived intact, else "base64". Also starts a new mic sequence.
   * @param {AbortSignal} signal the call step (aborted: resolves at once)
   * @param {number} [timeoutMs]
   * @returns {Promise<{transport: "binary" | "base64", probe: {to_kernel: boolean | null, to_page: boolean | null, forced: boolean}}>}
   */
  async negotiate(signal, timeoutMs = PROBE_TIMEOUT_MS) {
    this.sender.reset();
    const want = this.model.get("transport");
    if (TRANSPORTS.includes(want)) {
      this.sender.transport = want;
      return { transport: want, probe: { to_kernel: null, to_page: null, forced: true } };
    }
    const id = ++this.probeId;
    /** @type {{received: boolean, intact: boolean} | null} */
    const answer = await new Promise((resolve) => {
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (r) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (this.probeWaiter && this.probeWaiter.id === id) this.probeWaiter = null;
        resolve(r);
      };
      const onAbort = () => finish(null);
      if (signal.aborted) return finish(null);
      signal.addEventListener("abort", onAbort, { once: true });
      this.probeWaiter = { id, resolve: finish };
      try {
        this.model.send(probeMsg(id), undefined, [probeBuffer()]); // always binary: that is the test
      } catch (e) {
        console.warn("[vatel] could not send the transport probe", e);
        finish(null);
      }
    });
    const probe = answer ? { to_kernel: answer.received, to_page: answer.intact, forced: false } : { to_kernel: null, to_page: false, forced: false };
    const transport = probe.to_kernel === true && probe.to_page === true ? "binary" : "base64";
    this.sender.transport = transport;
    return { transport, probe };
  }

  /** @param {{id: number, received: boolean, intact: boolean}} r */
  _onProbe(r) {
    const w = this.probeWaiter;
    if (w && w.id === r.id) w.resolve({ received: r.received, intact: r.intact });
  }

  /** The playback cushion trait: ms, or null for adaptive playout. */
  get jitterMs() {
    return jitterTrait(this.model.get("jitter_ms"));
  }

  /** Set a trait from the page and sync it to the kernel. */
  setTrait(name, value) {
    this.model.set(name, value);
    this.model.save_changes();
  }
}
