// The link between the page and the kernel through the anywidget model: kernel envelopes in
// (validated, dispatched by kind), browser envelopes out, trait changes in. Every model listener
// is removed when the link's AbortSignal aborts (the cleanup anywidget calls).
import { validateKernelMessage } from "./messages.js";

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
 *   {kind: "interrupt", turnId: string | null} | {kind: "end", reason: string | null}}
 */
export function routeKernelMessage(msg, buffers) {
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
    listenModel(model, "msg:custom", (msg, buffers) => handlers.message(routeKernelMessage(msg, buffers || [])), signal);
    listenModel(model, "change:status", () => handlers.status(model.get("status")), signal);
    listenModel(model, "change:muted", () => handlers.muted(!!model.get("muted")), signal);
    listenModel(model, "change:jitter_ms", () => handlers.jitter(this.jitterMs), signal);
  }

  /** @param {any} msg a browser envelope (messages.js builders) @param {any[]} [buffers] */
  send(msg, buffers) {
    try {
      this.model.send(msg, undefined, buffers);
    } catch (e) {
      console.warn("[vatel] could not send", msg.kind, e);
    }
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
