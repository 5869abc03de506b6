// Capture core: what the capture AudioWorklet does, as plain testable logic.
// Context-rate float blocks in → 24 kHz PCM16 frames of 480 samples (20 ms) out, each stamped
// with the context frame of its first sample and its level.
import { StreamingResampler } from "./resampler.js";
import { FrameChunker, FRAME_SAMPLES } from "./chunker.js";
import { float32ToPcm16 } from "./pcm16.js";

/** The rate Vatel speaks: PCM16 mono 24 kHz. */
export const WIRE_RATE = 24000;

/**
 * @typedef {{pcm: ArrayBuffer, frame: number, samples: number, rms: number, peak: number}} CapturedFrame
 *   pcm: PCM16 LE at 24 kHz; frame: context frame (fractional when resampling) of the first sample;
 *   rms / peak: linear level of the frame, 0..1.
 */

export class CaptureCore {
  /**
   * @param {{inRate: number, outRate?: number, frameSamples?: number}} opts
   *   inRate: the AudioContext rate; outRate: wire rate (24000); frameSamples: 480 (20 ms)
   */
  constructor(opts) {
    this.inRate = opts.inRate;
    this.outRate = opts.outRate ?? WIRE_RATE;
    this.frameSamples = opts.frameSamples ?? FRAME_SAMPLES;
    this.resampler = new StreamingResampler(this.inRate, this.outRate);
    this.chunker = new FrameChunker(this.frameSamples);
    this.streamStart = -1; // context frame of the stream's first input sample
    this.nextFrame = -1; // context frame expected for the next block
    this.gaps = 0; // discontinuities seen (missing render quanta): the stream restarts
  }

  /**
   * @param {Float32Array} block one channel of input (context rate)
   * @param {number} blockFrame context frame of block[0] (AudioWorkletGlobalScope.currentFrame)
   * @returns {CapturedFrame[]}
   */
  process(block, blockFrame) {
    if (this.streamStart < 0 || blockFrame !== this.nextFrame) {
      if (this.streamStart >= 0) this.gaps++;
      this.resampler.reset();
      this.chunker.reset();
      this.streamStart = blockFrame;
    }
    this.nextFrame = blockFrame + block.length;
    const out = this.resampler.process(block);
    const frames = this.chunker.push(out);
    return frames.map(({ samples, index }) => {
      let ss = 0;
      let peak = 0;
      for (let i = 0; i < samples.length; i++) {
        const v = samples[i];
        ss += v * v;
        const a = v < 0 ? -v : v;
        if (a > peak) peak = a;
      }
      return {
        pcm: float32ToPcm16(samples),
        frame: this.streamStart + (index * this.inRate) / this.outRate,
        samples: samples.length,
        rms: Math.sqrt(ss / samples.length),
        peak: Math.min(1, peak),
      };
    });
  }
}
