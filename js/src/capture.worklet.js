// AudioWorklet processor "vatel-capture": mic input (context rate) → 24 kHz PCM16 frames of 480
// samples, posted to the main thread as {type: "frame", pcm, frame, samples, rms, peak, gaps} with the
// ArrayBuffer transferred. Runs in AudioWorkletGlobalScope (currentFrame, sampleRate,
// registerProcessor); `gaps` counts the stream's restarts (missing render quanta). Loaded from a Blob URL built by vatel_nb/widget/_bundle.py.
import { CaptureCore } from "./capture.js";

export class VatelCaptureProcessor extends AudioWorkletProcessor {
  /** @param {{processorOptions?: {outRate?: number, frameSamples?: number}}} options */
  constructor(options) {
    super();
    const po = (options && options.processorOptions) || {};
    this.core = new CaptureCore({ inRate: sampleRate, outRate: po.outRate || 24000, frameSamples: po.frameSamples || 480 });
    this.alive = true;
    this.port.onmessage = (e) => {
      if (e.data && e.data.type === "stop") this.alive = false;
    };
  }

  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch && ch.length) {
      for (const f of this.core.process(ch, currentFrame)) {
        this.port.postMessage({ type: "frame", pcm: f.pcm, frame: f.frame, samples: f.samples, rms: f.rms, peak: f.peak, gaps: this.core.gaps }, [f.pcm]);
      }
    }
    return this.alive;
  }
}

registerProcessor("vatel-capture", VatelCaptureProcessor);
