// The audio graph of one call: AudioContext, mic stream, capture and playback worklets.
// `openAudioGraph` builds it step by step; an aborted signal at any step closes what was built
// and rejects with an AbortError. Failures reject with a GraphFailure naming the status state.
import { SAMPLE_RATE, FRAME_SAMPLES } from "./messages.js";
import { describeMicError } from "./env.js";
import { WORKLET_SOURCE } from "./worklet_source.js";
import { CaptureClock, OutputTimestampFilter } from "./clock.js";

/** A step of the graph failed: `state` is the `status` envelope's error state, `message` the sentence. */
export class GraphFailure extends Error {
  /** @param {string} state @param {string} message */
  constructor(state, message) {
    super(message);
    this.name = "GraphFailure";
    this.state = state;
  }
}

/**
 * Resolves after `ms`, or at once when `signal` aborts.
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
export function abortableSleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal && signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      if (signal) signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (signal) signal.addEventListener("abort", done, { once: true });
  });
}

function abortError() {
  const e = new Error("the call was cancelled");
  e.name = "AbortError";
  return e;
}

/**
 * Tell a worklet node to stop, disconnect it and detach its port (null: nothing to do).
 * @param {any} node AudioWorkletNode
 */
function stopNode(node) {
  if (!node) return;
  try {
    node.port.postMessage({ type: "stop" });
    node.disconnect();
  } catch {
    /* already gone */
  }
  node.port.onmessage = null;
}

/**
 * The nodes of one call. `close()` stops everything (idempotent); `stopCapture()` only the mic.
 */
export class AudioGraph {
  /** @param {any} ctx AudioContext */
  constructor(ctx) {
    this.ctx = ctx;
    /** @type {MediaStream | null} */
    this.stream = null;
    this.source = null;
    this.captureNode = null;
    this.playbackNode = null;
    /** capture stamps on the mic's timeline: they do not jump when the output stalls */
    this.captureClock = new CaptureClock();
    this.outputTs = new OutputTimestampFilter();
    this.captureGaps = 0;
    // a suspended and resumed context: its frames no longer follow the anchored timeline
    if (ctx && ctx.addEventListener) ctx.addEventListener("statechange", () => this.captureClock.reanchor());
  }

  /**
   * performance.now() ms at which a captured context frame was rendered (the capture stamp), on
   * the mic's own timeline (clock.js CaptureClock).
   * @param {number} frame context frame of the first sample
   * @param {number} gaps the capture worklet's restart count: a change re-anchors the timeline
   */
  captureStamp(frame, gaps) {
    if (gaps !== this.captureGaps) {
      this.captureGaps = gaps;
      this.captureClock.reanchor();
    }
    return this.captureClock.stamp(frame, this.rate ?? 0, this.clock());
  }

  /** Latency the output adds after rendering, ms (baseLatency + outputLatency). */
  latencyMs() {
    const c = this.ctx;
    return c ? ((c.baseLatency || 0) + (c.outputLatency || 0)) * 1000 : 0;
  }

  /** One reading of the context clock against performance.now(), blips filtered (see clock.js). */
  clock() {
    const c = this.ctx;
    let ts = null;
    try {
      ts = c && c.getOutputTimestamp ? this.outputTs.filter(c.getOutputTimestamp()) : null;
    } catch {
      ts = null;
    }
    return { ts, currentTime: c ? c.currentTime : 0, nowMs: performance.now(), latencyMs: this.latencyMs() };
  }

  /** Context sample rate, Hz (null once closed). */
  get rate() {
    return this.ctx ? this.ctx.sampleRate : null;
  }

  /**
   * Queue one chunk for playback (the buffer is transferred).
   * @param {string | null} turnId @param {boolean} final @param {ArrayBuffer} pcm PCM16 LE 24 kHz
   */
  playAudio(turnId, final, pcm) {
    if (this.playbackNode) this.playbackNode.port.postMessage({ type: "audio", turnId, final, pcm }, [pcm]);
  }

  /** @param {string | null} turnId flush this turn (null: everything) */
  interrupt(turnId) {
    if (this.playbackNode) this.playbackNode.port.postMessage({ type: "interrupt", turnId });
  }

  /** @param {number | null} ms a fixed playback cushion, or null: adaptive playout */
  setCushion(ms) {
    if (this.playbackNode) this.playbackNode.port.postMessage({ type: "cushion", ms });
  }

  /** Stop the mic: capture worklet, source node and tracks. */
  stopCapture() {
    stopNode(this.captureNode);
    this.captureNode = null;
    if (this.source) {
      try {
        this.source.disconnect();
      } catch {
        /* already gone */
      }
      this.source = null;
    }
    this.stopStream();
  }

  stopStream() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
  }

  /** Stop everything and close the context. */
  close() {
    this.stopCapture();
    stopNode(this.playbackNode);
    this.playbackNode = null;
    if (this.ctx) {
      const c = this.ctx;
      this.ctx = null;
      c.close().catch(() => {});
    }
  }
}

/** @param {any} ctx */
async function loadWorklets(ctx) {
  if (!WORKLET_SOURCE) throw new Error("worklet source missing: load the bundled module from vatel_nb.widget, not js/src");
  const url = URL.createObjectURL(new Blob([WORKLET_SOURCE], { type: "application/javascript" }));
  try {
    await ctx.audioWorklet.addModule(url);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * Build the graph of one call: context (24 kHz, else the native rate), mic, worklets, nodes.
 * @param {{g: any, probe: any, processing: boolean, jitterMs: number | null, signal: AbortSignal,
 *   forceNativeRate?: boolean, onCapture: (d: any) => void, onPlayback: (d: any) => void}} o
 * @returns {Promise<AudioGraph>} rejects with GraphFailure, or AbortError when `signal` aborted
 */
export async function openAudioGraph(o) {
  const { g, signal } = o;
  const AC = g.AudioContext || g.webkitAudioContext;
  let ctx;
  try {
    ctx = o.forceNativeRate ? new AC() : new AC({ sampleRate: SAMPLE_RATE });
  } catch {
    try {
      ctx = new AC(); // the browser refused 24 kHz: native rate, worklets resample
    } catch (e) {
      throw new GraphFailure("audio-context-failed", `The browser could not create an AudioContext (${e && e.message}).`);
    }
  }
  const graph = new AudioGraph(ctx);
  const check = () => {
    if (signal.aborted) {
      graph.close();
      throw abortError();
    }
  };
  try {
    await Promise.race([ctx.resume(), abortableSleep(2000, signal)]);
  } catch {
    /* state checked below */
  }
  check();
  if (ctx.state !== "running") {
    graph.close();
    throw new GraphFailure("autoplay-blocked", "The browser is holding audio until you interact with the page: click “Start call”.");
  }
  try {
    graph.stream = await g.navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: o.processing, noiseSuppression: o.processing, autoGainControl: o.processing },
    });
  } catch (e) {
    check();
    graph.close();
    const p = describeMicError(e, o.probe);
    throw new GraphFailure(p.state, p.error);
  }
  check();
  try {
    await loadWorklets(graph.ctx);
    check();
    try {
      graph.source = graph.ctx.createMediaStreamSource(graph.stream);
    } catch (e) {
      // Firefox cannot connect a mic to a context at another rate: retry at the native rate.
      if (graph.ctx.sampleRate === SAMPLE_RATE && e && e.name === "NotSupportedError") {
        await graph.ctx.close();
        graph.ctx = new AC();
        await Promise.race([graph.ctx.resume(), abortableSleep(2000, signal)]);
        await loadWorklets(graph.ctx);
        check();
        graph.source = graph.ctx.createMediaStreamSource(graph.stream);
      } else {
        throw e;
      }
    }
    graph.captureNode = new AudioWorkletNode(graph.ctx, "vatel-capture", {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: "explicit",
      channelInterpretation: "speakers",
      processorOptions: { outRate: SAMPLE_RATE, frameSamples: FRAME_SAMPLES },
    });
    graph.captureNode.port.onmessage = (e) => o.onCapture(e.data);
    graph.source.connect(graph.captureNode);
    graph.playbackNode = new AudioWorkletNode(graph.ctx, "vatel-playback", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      processorOptions: { jitterMs: o.jitterMs, rampMs: 20 },
    });
    graph.playbackNode.port.onmessage = (e) => o.onPlayback(e.data);
    graph.playbackNode.connect(graph.ctx.destination);
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    graph.close();
    check();
    throw new GraphFailure("engine-error", `The audio engine could not start (${(e && e.name) || "Error"}: ${e && e.message}). Reload the page and try again.`);
  }
  return graph;
}
