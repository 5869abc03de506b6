// The page's outgoing side: every envelope goes through one Sender, which packs buffers for the
// transport in force ("binary" comm buffers, or "base64" text in the envelope: packBuffers) and
// paces mic frames. Pacing: where model.send returns a promise (marimo: one HTTP request per
// message, resolved when the server took it), at most `maxInFlight` mic envelopes are in flight;
// frames captured meanwhile are coalesced into the next `mic` envelope (one buffer, `samples` =
// their sum, `t_browser` = capture time of its first sample), so a slow channel gets fewer, larger
// messages instead of a growing backlog. Where send returns nothing (Jupyter, Colab), every frame
// goes out at once, as before. Pure logic, no DOM: node-tested.
import { micMsg, packBuffers } from "./messages.js";
import { asUint8 } from "./pcm16.js";

/** Mic envelopes allowed in flight on a promise-returning channel before frames are coalesced. */
export const MAX_MIC_IN_FLIGHT = 2;

export class Sender {
  /**
   * @param {(msg: Record<string, unknown>, buffers: unknown[]) => unknown} send the model's send
   * @param {{maxInFlight?: number, onError?: (kind: string, e: unknown) => void}} [opts]
   */
  constructor(send, opts = {}) {
    this.rawSend = send;
    this.maxInFlight = opts.maxInFlight ?? MAX_MIC_IN_FLIGHT;
    this.onError = opts.onError ?? ((kind, e) => console.warn("[vatel] could not send", kind, e));
    /** @type {"binary" | "base64"} */
    this.transport = "binary";
    this.seq = 0;
    this.inFlight = 0;
    /** @type {{tBrowser: number, pcm: Uint8Array}[]} */
    this.pending = [];
    this.gen = 0;
    this.counts = { micEnvelopes: 0, micFrames: 0, coalesced: 0, maxBatch: 0 };
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
   */
  send(msg, buffers = []) {
    try {
      const packed = packBuffers(msg, buffers, this.transport);
      return this.rawSend(packed.msg, packed.buffers);
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
    if (this.inFlight < this.maxInFlight) this._flushMic();
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
    const r = this.send(micMsg(this.seq++, frames[0].tBrowser, bytes >> 1), [out.buffer]);
    if (r && typeof (/** @type {any} */ (r).then) === "function") {
      const gen = this.gen;
      this.inFlight++;
      const done = () => {
        if (gen !== this.gen) return;
        this.inFlight--;
        if (this.inFlight < this.maxInFlight) this._flushMic();
      };
      /** @type {Promise<unknown>} */ (r).then(done, done);
    }
  }
}
