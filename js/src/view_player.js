// The recording player: one <audio> element playing windows of the call. `source.request(t)`
// returns a window {url, start_s, duration_s, total_s} around t (the widget asks the kernel for
// a WAV; the HTML file has one window holding the whole call). The call's time is
// window.start_s + audio.currentTime. Near a window's end the next one is fetched; when the
// element ends, it switches and keeps playing.

import { asUint8 } from "./pcm16.js";
import { audioRequestMsg, validateViewMessage } from "./view_messages.js";
import { windowCovers, windowStart } from "./timeline.js";

/**
 * @typedef {{url: string, start_s: number, duration_s: number, total_s: number, revoke?: () => void}} AudioWindow
 * @typedef {{request: (t: number) => Promise<AudioWindow>, dispose?: () => void}} AudioSource
 */

/**
 * A source that asks the kernel through the widget model (anywidget custom messages).
 * @param {any} model
 * @returns {AudioSource}
 */
export function commSource(model) {
  let next = 1;
  /** @type {Map<number, {resolve: Function, reject: Function}>} */
  const pending = new Map();
  const onMsg = (msg, buffers) => {
    const v = validateViewMessage(msg, buffers || []);
    if (!v.ok) return;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.kind === "audio-error") {
      p.reject(new Error(msg.error));
      return;
    }
    const blob = new Blob([asUint8(buffers[0])], { type: "audio/wav" });
    const url = URL.createObjectURL(blob);
    p.resolve({ url, start_s: msg.start_s, duration_s: msg.duration_s, total_s: msg.total_s, revoke: () => URL.revokeObjectURL(url) });
  };
  model.on("msg:custom", onMsg);
  return {
    request(t) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        model.send(audioRequestMsg(id, windowStart(t)));
      });
    },
    dispose() {
      model.off("msg:custom", onMsg);
      for (const p of pending.values()) p.reject(new Error("the view was closed"));
      pending.clear();
    },
  };
}

/**
 * A source holding the whole call in one URL (a data: URI in the HTML file).
 * @param {string} url @param {number} total
 * @returns {AudioSource}
 */
export function staticSource(url, total) {
  return { request: async () => ({ url, start_s: 0, duration_s: total, total_s: total }) };
}

export class Player {
  /**
   * @param {HTMLAudioElement} audio
   * @param {AudioSource} source
   * @param {(state: {playing: boolean, loading: boolean, error: string}) => void} onState
   */
  constructor(audio, source, onState) {
    this.audio = audio;
    this.source = source;
    this.onState = onState;
    /** @type {AudioWindow | null} */
    this.win = null;
    /** @type {Promise<AudioWindow> | null} */
    this.prefetch = null;
    this.prefetchFor = -1;
    this.position = 0; // the call time while no window is loaded
    this.loading = false;
    this.error = "";
    this.wantPlay = false;
    this.seq = 0;
    this.abort = new AbortController();
    const opts = { signal: this.abort.signal };
    audio.addEventListener("ended", () => this._onEnded(), opts);
    audio.addEventListener("play", () => this._emit(), opts);
    audio.addEventListener("pause", () => this._emit(), opts);
    audio.addEventListener("timeupdate", () => this._maybePrefetch(), opts);
  }

  /** The call time (s) under the cursor. */
  time() {
    if (!this.win || this.loading) return this.position;
    return this.win.start_s + this.audio.currentTime;
  }

  get playing() {
    return this.wantPlay && (this.loading || !this.audio.paused);
  }

  _emit() {
    this.onState({ playing: this.playing, loading: this.loading, error: this.error });
  }

  /**
   * Move to call time t; keep playing if playing (or start when `play`).
   * @param {number} t @param {{play?: boolean}} [opts]
   */
  async seek(t, opts = {}) {
    const seq = ++this.seq;
    if (opts.play) this.wantPlay = true;
    this.position = Math.max(0, t);
    if (this.win && windowCovers(this.win, t)) {
      this.audio.currentTime = Math.max(0, t - this.win.start_s);
      if (this.wantPlay) await this._play();
      this._emit();
      return;
    }
    this.loading = true;
    this.error = "";
    this._emit();
    try {
      const pre = this.prefetch && this.prefetchFor <= t ? await this.prefetch.catch(() => null) : null;
      const win = pre && windowCovers(pre, t) ? pre : await this.source.request(t);
      if (seq !== this.seq) {
        if (win !== this.win && win !== pre && win.revoke) win.revoke();
        return;
      }
      this._load(win);
      await this._ready();
      if (seq !== this.seq) return;
      this.audio.currentTime = Math.max(0, this.position - win.start_s);
      this.loading = false;
      if (this.wantPlay) await this._play();
    } catch (e) {
      if (seq !== this.seq) return;
      this.loading = false;
      this.wantPlay = false;
      this.error = `could not load the recording: ${e && e.message ? e.message : e}`;
    }
    this._emit();
  }

  _load(win) {
    const old = this.win;
    this.win = win;
    if (this.prefetch) this.prefetch = null;
    this.audio.src = win.url;
    if (old && old !== win && old.revoke && old.url !== win.url) old.revoke();
  }

  _ready() {
    if (this.audio.readyState >= 1) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const ac = new AbortController();
      this.audio.addEventListener("loadedmetadata", () => (ac.abort(), resolve()), { signal: ac.signal });
      this.audio.addEventListener("error", () => (ac.abort(), reject(new Error("the browser cannot play this audio"))), {
        signal: ac.signal,
      });
    });
  }

  async _play() {
    try {
      await this.audio.play();
    } catch (e) {
      this.wantPlay = false;
      this.error = `playback blocked: ${e && e.message ? e.message : e} (click play)`;
    }
  }

  play() {
    return this.seek(this.time(), { play: true });
  }

  pause() {
    this.wantPlay = false;
    this.seq++;
    if (this.loading) this.loading = false;
    this.position = this.time();
    this.audio.pause();
    this._emit();
  }

  toggle() {
    return this.playing ? this.pause() : this.play();
  }

  _maybePrefetch() {
    const w = this.win;
    if (!w || this.prefetch) return;
    const end = w.start_s + w.duration_s;
    if (end >= w.total_s - 1e-3) return;
    if (this.time() > end - 10) {
      this.prefetchFor = end;
      this.prefetch = this.source.request(end);
    }
  }

  _onEnded() {
    const w = this.win;
    if (!w || !this.wantPlay) return this._emit();
    const end = w.start_s + w.duration_s;
    if (end >= w.total_s - 1e-3) {
      this.wantPlay = false;
      this.position = end;
      return this._emit();
    }
    this.seek(end, { play: true });
  }

  dispose() {
    this.abort.abort();
    this.seq++;
    this.audio.pause();
    if (this.win && this.win.revoke) this.win.revoke();
    if (this.source.dispose) this.source.dispose();
  }
}
