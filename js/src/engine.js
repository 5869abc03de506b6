// The audio engine: one per widget model (created in anywidget's `initialize`), owning the call's
// audio graph (audio_graph.js) and the link to the kernel (kernel_link.js); its lifecycle is the
// state machine of engine_state.js. Views only render UI and subscribe to it, so a widget
// displayed twice captures and plays once. Cancellation: each call (start, or the drain of an
// ending call) has its own AbortController; the engine's own controller, aborted by dispose()
// (the cleanup returned from `initialize`), removes every model listener.
import { readyMsg, playbackMsg, pongMsg, controlMsg, statusMsg } from "./messages.js";
import { probeEnvironment, checkEnvironment } from "./env.js";
import { frameToAudiblePerf } from "./clock.js";
import { EnergyMeter } from "./meter.js";
import { asUint8 } from "./pcm16.js";
import { openAudioGraph, abortableSleep, GraphFailure } from "./audio_graph.js";
import { KernelLink } from "./kernel_link.js";
import { nextEngineState, isActiveState } from "./engine_state.js";

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

export class AudioEngine {
  /**
   * @param {any} model anywidget model (get/set/on/off/send/save_changes)
   * @param {{global?: any}} [opts]
   */
  constructor(model, opts = {}) {
    this.model = model;
    this.g = opts.global ?? globalThis;
    /** @type {string} one of ENGINE_STATES */
    this.state = "idle";
    this.error = "";
    this.muted = !!model.get("muted");
    this.agentSpeaking = false;
    this.speakingTurn = null;
    this.level = 0;
    this.meter = new EnergyMeter();
    /** @type {import("./audio_graph.js").AudioGraph | null} */
    this.graph = null;
    /** @type {AbortController | null} the current call step (start or drain) */
    this.call = null;
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
    /** The kernel has taken up the call this engine started (its `status` went connecting/live);
     * until then a status left over from the previous call ("ended") means nothing. */
    this.callAcked = false;
    this.life = new AbortController();
    this.link = new KernelLink(
      model,
      {
        message: (r) => this._onKernel(r),
        status: (st) => this._onStatus(st),
        muted: (m) => {
          this.muted = m;
          this._emit();
        },
        jitter: (ms) => this.graph && this.graph.setCushion(ms),
      },
      this.life.signal,
    );
    registerEngine(this.g, this);
  }

  /** The call's AudioContext (null between calls). */
  get ctx() {
    return this.graph ? this.graph.ctx : null;
  }

  /** The playback worklet node (null between calls). */
  get playbackNode() {
    return this.graph ? this.graph.playbackNode : null;
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
    this.link.send(msg, buffers);
  }

  /** Apply a state-machine event; ignored (false) when it does not apply in the current state. */
  _to(event, error = "") {
    const next = nextEngineState(this.state, event);
    if (next === null) return false;
    this.state = next;
    this.error = error;
    this._emit();
    return true;
  }

  _fail(state, error) {
    this._teardown();
    /** The status state of the last failure (e.g. "mic-denied"), for the kernel-audio offer. */
    this.errorState = state;
    this._to("fail", error);
    this._send(statusMsg(state, error));
  }

  get active() {
    return isActiveState(this.state);
  }

  /** A new call step: cancels the previous one (a pending start or drain). */
  _newCallStep() {
    if (this.call) this.call.abort();
    this.call = new AbortController();
    return this.call.signal;
  }

  _onStatus(st) {
    if (st === "connecting" || st === "live") this.callAcked = true;
    // the kernel gave up on the call (session error or closed): stop capturing at once
    if ((st === "ended" || st === "error") && this.active && this.callAcked) void this.finish(false);
    this._emit();
  }

  /** Start a call: checks, AudioContext, mic, worklets; then `ready` and `control start`. */
  async start() {
    if (this.active) return;
    const signal = this._newCallStep();
    this.callAcked = false;
    this._to("start");
    this._send(statusMsg("starting"));
    const probe = probeEnvironment(this.g);
    const problem = checkEnvironment(probe);
    if (problem) return this._fail(problem.state, problem.error);
    const processing = this.model.get("mic_processing") !== false;
    const testOpts = this.g.__vatelTestOptions || {};
    try {
      this.graph = await openAudioGraph({
        g: this.g,
        probe,
        processing,
        jitterMs: this.link.jitterMs,
        signal,
        forceNativeRate: !!testOpts.forceNativeRate,
        onCapture: (d) => this._onCapture(d),
        onPlayback: (d) => this._onPlayback(d),
      });
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof GraphFailure) return this._fail(e.state, e.message);
      return this._fail("engine-error", `The audio engine could not start (${(e && e.name) || "Error"}: ${e && e.message}). Reload the page and try again.`);
    }
    const ctx = this.graph.ctx;
    // binary buffers, or base64 in the envelope where they do not arrive intact (Colab)
    const chosen = await this.link.negotiate(signal);
    if (signal.aborted || !this.graph) return;
    this._to("ready");
    this._send(
      readyMsg({
        contextRate: ctx.sampleRate,
        baseLatencyMs: (ctx.baseLatency || 0) * 1000,
        outputLatencyMs: (ctx.outputLatency || 0) * 1000,
        userAgent: String(this.g.navigator.userAgent || ""),
        processing,
        transport: chosen.transport,
        probe: chosen.probe,
      }),
    );
    this._send(controlMsg("start"));
  }

  _onCapture(d) {
    if (!d || d.type !== "frame") return;
    this.counts.framesCaptured++;
    if (this.state !== "running" || !this.graph) return;
    if (this.muted) {
      this.counts.framesMuted++;
      this.level = 0;
      this._emit();
      return;
    }
    this.level = this.meter.update(d.rms, performance.now());
    const t = this.graph.captureStamp(d.frame, d.gaps || 0);
    this.link.mic(t, d.pcm);
    this.counts.framesSent++;
    this._emit();
  }

  _onPlayback(d) {
    if (!d) return;
    if (d.type === "stats") {
      this.playStats = d;
      return;
    }
    if (d.type !== "event" || !this.graph || !this.graph.ctx) return;
    const c = this.graph.clock();
    const t = frameToAudiblePerf(d.frame, this.graph.rate, c);
    /** @type {any} */
    const p = { event: d.event, turnId: d.turnId, tBrowser: t, samples: d.samples };
    if (Number.isFinite(d.targetMs)) p.targetMs = d.targetMs;
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
   * One kernel → browser envelope, routed by kernel_link.js.
   * @param {ReturnType<typeof import("./kernel_link.js").routeKernelMessage>} r
   */
  _onKernel(r) {
    switch (r.kind) {
      case "ignore":
        return;
      case "invalid":
        this.counts.invalid++;
        console.warn("[vatel] ignored a malformed message:", r.error);
        return;
      case "ping":
        this._send(pongMsg(r.id, performance.now()));
        this.counts.pings++;
        return;
      case "audio": {
        this.counts.chunksReceived++;
        if (!this.playbackNode || this.state !== "running") {
          this.counts.chunksDropped++;
          return;
        }
        const copy = asUint8(r.buffer).slice();
        this.graph.playAudio(r.turnId, r.final, copy.buffer);
        return;
      }
      case "interrupt":
        this.counts.interrupts++;
        if (this.graph) this.graph.interrupt(r.turnId);
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
      this._to("done");
      return;
    }
    const signal = this._newCallStep();
    this._stopCapture();
    this._to("finish");
    if (!immediate && this.playbackNode) {
      const deadline = performance.now() + 10000;
      while (performance.now() < deadline && !signal.aborted) {
        await abortableSleep(100, signal);
        const s = this.playStats;
        if (s && !s.playing && s.bufferedSamples === 0) break;
      }
    }
    if (signal.aborted) return;
    this._teardown();
    this.agentSpeaking = false;
    this._to("done");
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
    this.link.setTrait("muted", this.muted);
    this._send(controlMsg(this.muted ? "mute" : "unmute"));
    this._emit();
  }

  _stopCapture() {
    if (this.graph) this.graph.stopCapture();
  }

  _teardown() {
    if (this.graph) this.graph.close();
    this.graph = null;
  }

  /** Model closed: stop everything and detach from the model. */
  dispose() {
    if (this.call) this.call.abort();
    this._teardown();
    this.life.abort();
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
      micOpen: !!(this.graph && this.graph.stream),
      callAcked: this.callAcked,
      agentSpeaking: this.agentSpeaking,
      level: this.level,
      ...this.counts,
      transport: this.link.transport,
      micEnvelopes: this.link.sender.counts.micEnvelopes,
      framesCoalesced: this.link.sender.counts.coalesced,
      maxFramesPerEnvelope: this.link.sender.counts.maxBatch,
      playback: this.playStats ? { ...this.playStats } : null,
      outputClockSteps: this.graph ? this.graph.captureClock.steps : 0,
      outputClockStepMs: this.graph ? this.graph.captureClock.stepMs : 0,
    };
  }
}
