// The widget's kernel-audio mode, pure logic: when to offer "use this computer's audio devices
// (kernel)", what the call button does and what the note says while the kernel's own mic and
// speaker carry the call (the page then captures and plays nothing; it shows the state and sends
// `control` envelopes). Traits: `kernel_audio` {available, input, output, reason} (the kernel's
// devices, filled once the page sent `control probe-kernel-audio`), `audio_source` "page" |
// "kernel" (set by the kernel once `control use-kernel-audio` took effect), `half_duplex`.

import { NO_PAGE_MIC_STATES } from "./messages.js";

/**
 * Should the page ask the kernel for its devices (`control probe-kernel-audio`)?
 * @param {{pageProblem?: string | null, engineErrorState?: string | null}} s the environment check's
 *   problem state at render, and the state of the engine's last failure
 */
export function wantsKernelProbe(s) {
  return NO_PAGE_MIC_STATES.includes(s.pageProblem || "") || NO_PAGE_MIC_STATES.includes(s.engineErrorState || "");
}

/**
 * Offer the kernel's devices? Only when the page cannot capture, the kernel has devices, and the
 * page is still the audio source.
 * @param {{kernelAudio?: any, audioSource?: string, pageProblem?: string | null, engineErrorState?: string | null}} s
 */
export function offerKernelAudio(s) {
  const ka = s.kernelAudio || {};
  return ka.available === true && (s.audioSource || "page") !== "kernel" && wantsKernelProbe(s);
}

/**
 * Is a call in progress in kernel mode (from the kernel's `status` trait)?
 * @param {string | undefined} traitStatus
 */
export function kernelCallActive(traitStatus) {
  return traitStatus === "connecting" || traitStatus === "live";
}

/**
 * The note shown in kernel mode (which devices; no echo cancellation).
 * @param {any} kernelAudio the `kernel_audio` trait
 * @param {boolean} halfDuplex
 */
export function kernelNote(kernelAudio, halfDuplex) {
  const ka = kernelAudio || {};
  const dev = `mic “${ka.input || "default"}”, speaker “${ka.output || "default"}”`;
  const echo = halfDuplex
    ? "half duplex: the mic is muted while the agent speaks"
    : "no echo cancellation: use headphones";
  return `Using this computer's audio devices (kernel): ${dev} — ${echo}.`;
}
