// The page's outgoing side: every envelope goes through one Sender, which packs buffers for the
// transport in force ("binary" comm buffers, or "base64" text in the envelope: packBuffers) and
// paces mic frames. Pacing: at most `maxInFlight` mic envelopes are in flight, i.e. sent and not
// yet taken up by the receiver; frames captured meanwhile are coalesced into the next `mic`
// envelope (one buffer, `samples` = their sum, `t_browser` = capture time of its first sample),
// so a slow channel or a kernel that falls behind gets fewer, larger messages instead of a
// growing backlog. "Taken up" is known two ways: marimo's send returns a promise (one HTTP request
// per message); in Jupyter the kernel's `status: idle` for the message arrives (the `done`
// callback: ipywidgets' iopub status callback). Jupyter kernels under CPU load were measured
// handling ~15 comm messages/s against the 50/s of unpaced frames: the queue, and the heard
// latency, grew without bound. Acknowledgements are only waited for once one has been seen on
// this channel (a host that never reports them keeps sending every frame at once), a missing one
// frees its slot after `ackTimeoutMs`, and there a batch goes out at `maxAckBatch` frames
// anyway. Pure logic, no DOM: node-tested.
import { micMsg, packBuffers } from "./messages.js";
import { asUint8 } from "./pcm16.js";

/** Mic envelopes allowed in flight (sent, not yet taken up) before frames are coalesced. */
export const MAX_MIC_IN_FLIGHT = 2;

/** On an acknowledging channel (Jupyter) a batch goes out at this many frames (60 ms) even with
 * every slot taken: the far end treats audio as a live stream (a real-time VAD, the service),
 * and audio held back for a second then sent at once splits turns and shifts audio. */
export const MAX_ACK_BATCH = 3;

/** An acknowledgement that has not come after this long (ms) frees its in-flight slot. */
export const ACK_TIMEOUT_MS = 1000;

/**
 * @typedef {(msg: Record<string, unknown>, buffers: unknown[], done?: () => void) => unknown} RawSend
 *   the model's send; it may return a promise (resolved when the message was taken) or call `done`
 *   when the receiver has taken the message up (the kernel went idle after handling it).
 */

export class Sender {
  /**
   * @param {RawSend} send the model's send
   * @param {{maxInFlight?: number, ackTimeoutMs?: number, maxAckBatch?: number, onError?: (kind: string, e: unknown) => void,
   *   setTimeout?: (fn: () => void, ms: number) => unknown, clearTimeout?: (t: unknown) => void}} [opts]
   */
  constructor(send, opts = {}) {
    this.rawSend = send;
    this.maxInFlight = opts.maxInFlight ?? MAX_MIC_IN_FLIGHT;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? ACK_TIMEOUT_MS;
    this.maxAckBatch = opts.maxAckBatch ?? MAX_ACK_BATCH;
    /** send returned a promise (marimo): batches are not capped there (each is an HTTP request) */
    this.promises = false;
    this.setTimer = opts.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimeout ?? ((t) => clearTimeout(/** @type {any} */ (t)));
    /** an acknowledgement (`done`) has been seen on this channel: wait for them from now on */
    this.acks = false;
    this.onError = opts.onError ?? ((kind, e) => console.warn("[vatel] could not send", kind, e));
    /** @type {"binary" | "base64"} */
    this.transport = "binary";
    this.seq = 0;
    this.inFlight = 0;
    /** @type {{tBrowser: number, pcm: Uint8Array}[]} */
    this.pending = [];
    this.gen = 0;
    this.counts = { micEnvelopes: 0, micFrames: 0, coalesced: 0, maxBatch: 0, ackTimeouts: 0 };
  }

  /** A new call: mic seq from 0, nothing pending (frames of the previous call are dropped). */
  reset() {
    this.gen++;
    this.seq = 0;
    this.inFlight = 0;
    this.pending = [];
  }

  /**
   * Send one envelope now (packed for the transport). Returns what the model's send returned.
   * @param {Record<string, unknown>} msg
   * @param {unknown[]} [buffers]
   * @param {() => void} [done] called when the receiver has taken the message up (if it says)
   */
  send(msg, buffers = [], done = undefined) {
    try {
      const packed = packBuffers(msg, buffers, this.transport);
      return this.rawSend(packed.msg, packed.buffers, done);
    } catch (e) {
      this.onError(String(msg.kind), e);
      return undefined;
    }
  }

  /**
   * One captured mic frame (PCM16 LE mono 24 kHz). Sent at once, or coalesced with the next ones
   * while `maxInFlight` mic envelopes are in flight.
   * @param {number} tBrowser capture time of its first sample, performance.now() ms
   * @param {ArrayBuffer | ArrayBufferView} pcm
   */
  mic(tBrowser, pcm) {
    this.pending.push({ tBrowser, pcm: asUint8(pcm) });
    this.counts.micFrames++;
    if (this.inFlight < this.maxInFlight || (!this.promises && this.pending.length >= this.maxAckBatch)) {
      this._flushMic();
    }
  }

  _flushMic() {
    const frames = this.pending;
    if (!frames.length) return;
    this.pending = [];
    const bytes = frames.reduce((n, f) => n + f.pcm.length, 0);
    const out = new Uint8Array(bytes);
    let at = 0;
    for (const f of frames) {
      out.set(f.pcm, at);
      at += f.pcm.length;
    }
    this.counts.micEnvelopes++;
    if (frames.length > 1) this.counts.coalesced += frames.length;
    this.counts.maxBatch = Math.max(this.counts.maxBatch, frames.length);
    const ticket = { gen: this.gen, open: true, counted: false, timer: /** @type {unknown} */ (null) };
    const finish = (/** @type {boolean} */ acked) => {
      if (!ticket.open) return;
      ticket.open = false;
      if (ticket.timer !== null) this.clearTimer(ticket.timer);
      if (acked) this.acks = true;
      else this.counts.ackTimeouts++;
      if (ticket.gen !== this.gen || !ticket.counted) return;
      this.inFlight--;
      if (this.inFlight < this.maxInFlight) this._flushMic();
    };
    const r = this.send(micMsg(this.seq++, frames[0].tBrowser, bytes >> 1), [out.buffer], () => finish(true));
    if (!ticket.open) return; // taken up at once
    if (r && typeof (/** @type {any} */ (r).then) === "function") {
      this.promises = true;
      ticket.counted = true;
      this.inFlight++;
      /** @type {Promise<unknown>} */ (r).then(
        () => finish(true),
        () => finish(true),
      );
    } else if (this.acks) {
      ticket.counted = true;
      this.inFlight++;
      ticket.timer = this.setTimer(() => finish(false), this.ackTimeoutMs);
    }
  }
}
