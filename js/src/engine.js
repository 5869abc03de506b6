// The audio engine: one per widget model (created in anywidget's `initialize`), owning the
// AudioContext, the mic stream, both worklets and the kernel message listener. Views only render
// UI and subscribe to it, so a widget displayed twice captures and plays once.
import { readyMsg, micMsg, playbackMsg, pongMsg, controlMsg, statusMsg, validateKernelMessage, SAMPLE_RATE, FRAME_SAMPLES } from "./messages.js";
import { probeEnvironment, checkEnvironment, describeMicError } from "./env.js";
import { frameToAudiblePerf, frameToRenderPerf } from "./clock.js";
import { EnergyMeter } from "./meter.js";
import { asUint8 } from "./pcm16.js";
import { WORKLET_SOURCE } from "./worklet_source.js";

/** Engine states: idle → starting → running → ending → ended; any → error (see engine.error). */
export const ENGINE_STATES = Object.freeze(["idle", "starting", "running", "ending", "ended", "error"]);

/**
 * Test hooks: `globalThis.__vatel` lists the engines of the page with read-only stats.
 * @param {any} g
 * @param {AudioEngine} engine
 */
function registerEngine(g, engine) {
  if (!g.__vatel) {
    const engines = [];
    Object.defineProperty(g, "__vatel", {
      value: Object.freeze({
        engines,
        /** @param {number} [i] index, default the newest */
        stats: (i = engines.length - 1) => (engines[i] ? engines[i].snapshot() : null),
      }),
      configurable: true,
    });
  }
  g.__vatel.engines.push(engine);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class AudioEngine {
  /**
   * @param {any} model anywidget model (get/set/on/off/send/save_changes)
   * @param {{global?: any}} [opts]
   */
  constructor(model, opts = {}) {
    this.model = model;
    this.g = opts.global ?? globalThis;
    /** @type {string} */
    this.state = "idle";
    this.error = "";
    this.muted = !!model.get("muted");
    this.agentSpeaking = false;
    this.level = 0;
    this.meter = new EnergyMeter();
    this.seq = 0;
    this.gen = 0;
    this.ctx = null;
    this.stream = null;
    this.source = null;
    this.captureNode = null;
    this.playbackNode = null;
    this.playStats = null;
    this.counts = {
      framesCaptured: 0,
      framesSent: 0,
      framesMuted: 0,
      chunksReceived: 0,
      chunksDropped: 0,
      interrupts: 0,
      pings: 0,
      underruns: 0,
      flushes: 0,
      started: 0,
      stopped: 0,
      invalid: 0,
    };
    this.listeners = new Set();
    this._onMsg = (msg, buffers) => this.handleMessage(msg, buffers || []);
    this._onMuted = () => {
      this.muted = !!this.model.get("muted");
      this._emit();
    };
    this._onJitter = () => {
      if (this.playbackNode) this.playbackNode.port.postMessage({ type: "cushion", ms: this._jitterMs() });
    };
    /** The kernel has taken up the call this engine started (its `status` went connecting/live);
     * until then a status left over from the previous call ("ended") means nothing. */
    this.callAcked = false;
    this._onStatus = () => {
      const st = this.model.get("status");
      if (st === "connecting" || st === "live") this.callAcked = true;
      // the kernel gave up on the call (session error or closed): stop capturing at once
      if ((st === "ended" || st === "error") && this.active && this.callAcked) void this.finish(false);
      this._emit();
    };
    model.on("msg:custom", this._onMsg);
    model.on("change:status", this._onStatus);
    model.on("change:muted", this._onMuted);
    model.on("change:jitter_ms", this._onJitter);
    registerEngine(this.g, this);
  }

  /** @param {() => void} fn called on every state/level change; returns an unsubscribe function */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  _emit() {
    for (const fn of this.listeners) {
      try {
        fn();
      } catch (e) {
        console.error("[vatel] view update failed", e);
      }
    }
  }

  _send(msg, buffers) {
    try {
      this.model.send(msg, undefined, buffers);
    } catch (e) {
      console.warn("[vatel] could not send", msg.kind, e);
    }
  }

  _jitterMs() {
    const j = Number(this.model.get("jitter_ms"));
    return Number.isFinite(j) && j >= 0 ? j : 60;
  }

  _setState(state, error = "") {
    this.state = state;
    this.error = error;
    this._emit();
  }

  _fail(state, error) {
    this._teardown();
    this._setState("error", error);
    this._send(statusMsg(state, error));
  }

  get active() {
    return this.state === "starting" || this.state === "running";
  }

  /** Latency the output adds after rendering, ms (baseLatency + outputLatency). */
  _latencyMs() {
    const c = this.ctx;
    return c ? ((c.baseLatency || 0) + (c.outputLatency || 0)) * 1000 : 0;
  }

  _clock() {
    const c = this.ctx;
    let ts = null;
    try {
      ts = c && c.getOutputTimestamp ? c.getOutputTimestamp() : null;
    } catch {
      ts = null;
    }
    return { ts, currentTime: c ? c.currentTime : 0, nowMs: performance.now(), latencyMs: this._latencyMs() };
  }

  /** Start a call: checks, AudioContext, mic, worklets; then `ready` and `control start`. */
  async start() {
    if (this.active) return;
    const gen = ++this.gen;
    this.seq = 0;
    this.callAcked = false;
    this._setState("starting");
    this._send(statusMsg("starting"));
    const probe = probeEnvironment(this.g);
    const problem = checkEnvironment(probe);
    if (problem) return this._fail(problem.state, problem.error);
    const processing = this.model.get("mic_processing") !== false;
    const testOpts = this.g.__vatelTestOptions || {};
    const AC = this.g.AudioContext || this.g.webkitAudioContext;
    try {
      this.ctx = testOpts.forceNativeRate ? new AC() : new AC({ sampleRate: 24000 });
    } catch {
      try {
        this.ctx = new AC(); // the browser refused 24 kHz: native rate, worklets resample
      } catch (e) {
        return this._fail("audio-context-failed", `The browser could not create an AudioContext (${e && e.message}).`);
      }
    }
    try {
      await Promise.race([this.ctx.resume(), sleep(2000)]);
    } catch {
      /* state checked below */
    }
    if (gen !== this.gen) return;
    if (this.ctx.state !== "running") {
      return this._fail("autoplay-blocked", "The browser is holding audio until you interact with the page: click “Start call”.");
    }
    try {
      this.stream = await this.g.navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing },
      });
    } catch (e) {
      if (gen !== this.gen) return;
      const p = describeMicError(e, probe);
      return this._fail(p.state, p.error);
    }
    if (gen !== this.gen) return this._stopStream();
    try {
      await this._loadWorklets();
      if (gen !== this.gen) return;
      try {
        this.source = this.ctx.createMediaStreamSource(this.stream);
      } catch (e) {
        // Firefox cannot connect a mic to a context at another rate: retry at the native rate.
        if (this.ctx.sampleRate === 24000 && e && e.name === "NotSupportedError") {
          await this.ctx.close();
          this.ctx = new AC();
          await Promise.race([this.ctx.resume(), sleep(2000)]);
          await this._loadWorklets();
          if (gen !== this.gen) return;
          this.source = this.ctx.createMediaStreamSource(this.stream);
        } else {
          throw e;
        }
      }
      this.captureNode = new AudioWorkletNode(this.ctx, "vatel-capture", {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        channelCount: 1,
        channelCountMode: "explicit",
        channelInterpretation: "speakers",
        processorOptions: { outRate: SAMPLE_RATE, frameSamples: FRAME_SAMPLES },
      });
      this.captureNode.port.onmessage = (e) => this._onCapture(e.data);
      this.source.connect(this.captureNode);
      this.playbackNode = new AudioWorkletNode(this.ctx, "vatel-playback", {
        numberOfInputs: 0,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        processorOptions: { jitterMs: this._jitterMs(), rampMs: 20 },
      });
      this.playbackNode.port.onmessage = (e) => this._onPlayback(e.data);
      this.playbackNode.connect(this.ctx.destination);
    } catch (e) {
      if (gen !== this.gen) return;
      return this._fail("engine-error", `The audio engine could not start (${(e && e.name) || "Error"}: ${e && e.message}). Reload the page and try again.`);
    }
    this._setState("running");
    this._send(
      readyMsg({
        contextRate: this.ctx.sampleRate,
        baseLatencyMs: (this.ctx.baseLatency || 0) * 1000,
        outputLatencyMs: (this.ctx.outputLatency || 0) * 1000,
        userAgent: String(this.g.navigator.userAgent || ""),
        processing,
      }),
    );
    this._send(controlMsg("start"));
  }

  async _loadWorklets() {
    if (!WORKLET_SOURCE) throw new Error("worklet source missing: load the bundled module from vatel_nb.widget, not js/src");
    const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: "application/javascript" }));
    try {
      await this.ctx.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  _onCapture(d) {
    if (!d || d.type !== "frame") return;
    this.counts.framesCaptured++;
    if (this.state !== "running") return;
    if (this.muted) {
      this.counts.framesMuted++;
      this.level = 0;
      this._emit();
      return;
    }
    this.level = this.meter.update(d.rms, performance.now());
    const t = frameToRenderPerf(d.frame, this.ctx.sampleRate, this._clock());
    this._send(micMsg(this.seq++, t, d.samples), [d.pcm]);
    this.counts.framesSent++;
    this._emit();
  }

  _onPlayback(d) {
    if (!d) return;
    if (d.type === "stats") {
      this.playStats = d;
      return;
    }
    if (d.type !== "event" || !this.ctx) return;
    const c = this._clock();
    const t = frameToAudiblePerf(d.frame, this.ctx.sampleRate, c);
    /** @type {any} */
    const p = { event: d.event, turnId: d.turnId, tBrowser: t, samples: d.samples };
    if (d.event === "started") {
      p.outputLatencyMs = c.latencyMs;
      this.counts.started++;
      this.agentSpeaking = true;
      this.speakingTurn = d.turnId;
    } else if (d.event === "stopped" || d.event === "flushed") {
      if (d.event === "flushed") {
        p.droppedSamples = d.dropped ?? 0;
        this.counts.flushes++;
      } else {
        this.counts.stopped++;
      }
      if (this.speakingTurn === d.turnId || d.turnId === null) this.agentSpeaking = false;
    } else if (d.event === "underrun") {
      this.counts.underruns++;
    }
    this._send(playbackMsg(p));
    this._emit();
  }

  /**
   * One kernel → browser envelope (model "msg:custom").
   * @param {any} msg
   * @param {any[]} buffers DataView (Jupyter) or Uint8Array (Colab)
   */
  handleMessage(msg, buffers) {
    const v = validateKernelMessage(msg, buffers);
    if (!v.ok) {
      if (msg && typeof msg === "object" && typeof msg.kind === "string" && msg.kind.startsWith("anywidget")) return;
      this.counts.invalid++;
      console.warn("[vatel] ignored a malformed message:", v.error);
      return;
    }
    switch (msg.kind) {
      case "ping":
        this._send(pongMsg(msg.id, performance.now()));
        this.counts.pings++;
        return;
      case "audio": {
        this.counts.chunksReceived++;
        if (!this.playbackNode || this.state !== "running") {
          this.counts.chunksDropped++;
          return;
        }
        const copy = asUint8(buffers[0]).slice();
        const turnId = msg.turn_id === undefined || msg.turn_id === null ? null : String(msg.turn_id);
        this.playbackNode.port.postMessage({ type: "audio", turnId, final: msg.final, pcm: copy.buffer }, [copy.buffer]);
        return;
      }
      case "interrupt":
        this.counts.interrupts++;
        if (this.playbackNode) {
          const turnId = msg.turn_id === undefined || msg.turn_id === null ? null : String(msg.turn_id);
          this.playbackNode.port.postMessage({ type: "interrupt", turnId });
        }
        return;
      case "end":
        // the end of the previous call can arrive after the user pressed Start again: it is
        // stale until the kernel has taken up this engine's call (status connecting/live)
        if (this.active && !this.callAcked) return;
        void this.finish(false);
        return;
    }
  }

  /**
   * End the call. From the kernel (`end`): stop capture, let the agent's audio drain (≤ 10 s),
   * then close. From the user (`hangUp`): stop everything at once.
   * @param {boolean} immediate
   */
  async finish(immediate) {
    if (!this.active) {
      if (this.state !== "error") this._setState("ended");
      return;
    }
    const gen = ++this.gen;
    this._stopCapture();
    this._setState("ending");
    if (!immediate && this.playbackNode) {
      const deadline = performance.now() + 10000;
      while (performance.now() < deadline && gen === this.gen) {
        await sleep(100);
        const s = this.playStats;
        if (s && !s.playing && s.bufferedSamples === 0) break;
      }
    }
    if (gen !== this.gen) return;
    this._teardown();
    this.agentSpeaking = false;
    this._setState("ended");
    this._send(statusMsg("ended"));
  }

  /** The user clicked "End call". */
  hangUp() {
    if (!this.active) return;
    this._send(controlMsg("end"));
    void this.finish(true);
  }

  /**
   * Mute/unmute the mic (frames are not sent while muted). From the UI: also updates the `muted`
   * trait and tells the kernel with `control mute|unmute`.
   * @param {boolean} muted
   */
  setMuted(muted) {
    this.muted = !!muted;
    this.model.set("muted", this.muted);
    this.model.save_changes();
    this._send(controlMsg(this.muted ? "mute" : "unmute"));
    this._emit();
  }

  _stopCapture() {
    if (this.captureNode) {
      try {
        this.captureNode.port.postMessage({ type: "stop" });
        this.captureNode.disconnect();
      } catch {
        /* already gone */
      }
      this.captureNode.port.onmessage = null;
      this.captureNode = null;
    }
    if (this.source) {
      try {
        this.source.disconnect();
      } catch {
        /* already gone */
      }
      this.source = null;
    }
    this._stopStream();
  }

  _stopStream() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
  }

  _teardown() {
    this._stopCapture();
    if (this.playbackNode) {
      try {
        this.playbackNode.port.postMessage({ type: "stop" });
        this.playbackNode.disconnect();
      } catch {
        /* already gone */
      }
      this.playbackNode.port.onmessage = null;
      this.playbackNode = null;
    }
    if (this.ctx) {
      const c = this.ctx;
      this.ctx = null;
      c.close().catch(() => {});
    }
  }

  /** Model closed: stop everything and detach from the model. */
  dispose() {
    this.gen++;
    this._teardown();
    this.model.off("msg:custom", this._onMsg);
    this.model.off("change:status", this._onStatus);
    this.model.off("change:muted", this._onMuted);
    this.model.off("change:jitter_ms", this._onJitter);
    this.listeners.clear();
    this.state = "ended";
  }

  /** Read-only numbers for tests and debugging (no trait values, nothing from the kernel). */
  snapshot() {
    return {
      state: this.state,
      error: this.error,
      contextRate: this.ctx ? this.ctx.sampleRate : null,
      muted: this.muted,
      micOpen: !!this.stream,
      callAcked: this.callAcked,
      agentSpeaking: this.agentSpeaking,
      level: this.level,
      ...this.counts,
      playback: this.playStats ? { ...this.playStats } : null,
    };
  }
}
