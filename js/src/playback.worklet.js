// AudioWorklet processor "vatel-playback": one ring buffer for the agent's voice (PlaybackCore).
// Main thread → worklet: {type: "audio", turnId, pcm (PCM16 LE 24 kHz ArrayBuffer), final},
//   {type: "interrupt", turnId}, {type: "cushion", ms} (ms: a fixed cushion; null: adaptive
//   playout, see playout.js), {type: "stop"}.
// Worklet → main thread: {type: "event", event, turnId, frame, samples, dropped?, targetMs} with
//   sample counts converted to 24 kHz samples, frame = context frame and targetMs = the playout
//   target depth (ms) at the event; {type: "stats", ...} every ~100 ms.
import { PlaybackCore } from "./playback.js";
import { pcm16ToFloat32 } from "./pcm16.js";
import { StreamingResampler } from "./resampler.js";

const PLAYBACK_WIRE_RATE = 24000;

export class VatelPlaybackProcessor extends AudioWorkletProcessor {
  /** @param {{processorOptions?: {jitterMs?: number | null, rampMs?: number}}} options jitterMs: null = adaptive */
  constructor(options) {
    super();
    const po = (options && options.processorOptions) || {};
    this.rate = sampleRate;
    this.toWire = PLAYBACK_WIRE_RATE / this.rate; // context samples → 24 kHz samples
    this.core = new PlaybackCore({
      rate: this.rate,
      playout: { fixedMs: po.jitterMs ?? null },
      rampSamples: ((po.rampMs ?? 20) * this.rate) / 1000,
    });
    this.resampler = this.rate === PLAYBACK_WIRE_RATE ? null : new StreamingResampler(PLAYBACK_WIRE_RATE, this.rate);
    this.resamplerTurn = undefined;
    this.alive = true;
    this.lastStats = 0;
    this.port.onmessage = (e) => this.onMessage(e.data);
  }

  onMessage(d) {
    if (!d) return;
    if (d.type === "audio") {
      let x = pcm16ToFloat32(d.pcm);
      if (this.resampler) {
        if (this.resamplerTurn !== d.turnId) {
          this.resampler.reset();
          this.resamplerTurn = d.turnId;
        }
        const y = this.resampler.process(x);
        if (d.final) {
          const tail = this.resampler.flush();
          x = new Float32Array(y.length + tail.length);
          x.set(y);
          x.set(tail, y.length);
          this.resampler.reset();
          this.resamplerTurn = undefined;
        } else {
          x = y;
        }
      }
      this.core.write(d.turnId, x, !!d.final, currentFrame);
    } else if (d.type === "interrupt") {
      this.core.interrupt(d.turnId);
    } else if (d.type === "cushion") {
      this.core.setPlayout(d.ms ?? null);
    } else if (d.type === "stop") {
      this.alive = false;
    }
  }

  process(_inputs, outputs) {
    const out = outputs[0];
    if (!out || !out[0]) return this.alive;
    const events = this.core.render(out[0], currentFrame);
    for (let c = 1; c < out.length; c++) out[c].set(out[0]);
    for (const ev of events) {
      this.port.postMessage({
        type: "event",
        event: ev.type,
        turnId: ev.turnId,
        frame: ev.frame,
        samples: Math.round(ev.samples * this.toWire),
        dropped: ev.dropped === undefined ? undefined : Math.round(ev.dropped * this.toWire),
        targetMs: (ev.target * 1000) / this.rate,
      });
    }
    if (currentFrame - this.lastStats >= this.rate / 10) {
      this.lastStats = currentFrame;
      const s = this.core.stats;
      this.port.postMessage({
        type: "stats",
        frame: currentFrame,
        bufferedSamples: Math.round(this.core.buffered * this.toWire),
        playing: this.core.playing,
        chunks: s.chunks,
        underruns: s.underruns,
        underrunSamples: Math.round(s.underrunSamples * this.toWire),
        flushes: s.flushes,
        lateDroppedSamples: Math.round(s.lateDroppedSamples * this.toWire),
        playedSamples: Math.round(s.playedSamples * this.toWire),
        targetMs: this.core.policy.targetMs,
        adaptive: this.core.policy.adaptive,
      });
    }
    return this.alive;
  }
}

registerProcessor("vatel-playback", VatelPlaybackProcessor);
