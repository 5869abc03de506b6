// The call view <-> kernel envelope, browser side (twin of vatel_nb/view/_messages.py). The view's
// data comes in synced traits (`timeline` JSON, `envelopes` bytes); the recording is fetched one
// window at a time: the page sends `audio-request {id, start_s}`, the kernel answers
// `audio {id, start_s, duration_s, total_s}` + one buffer (a stereo PCM16 WAV file) or
// `audio-error {id, error}`. Never base64: the WAV is the message's binary buffer.

/** Envelopes the view's page sends. */
export const VIEW_BROWSER_KINDS = Object.freeze(["audio-request"]);
/** Envelopes the kernel sends to the view's page. */
export const VIEW_KERNEL_KINDS = Object.freeze(["audio", "audio-error"]);

/**
 * @param {number} id request counter @param {number} startS window start (s on the call's axis)
 */
export function audioRequestMsg(id, startS) {
  return { kind: "audio-request", id, start_s: Math.max(0, Math.round(startS * 1000) / 1000) };
}

/**
 * A kernel -> view envelope checked: `{ok: true, msg}` or `{ok: false, error}` (a sentence).
 * @param {any} msg @param {any[]} [buffers]
 */
export function validateViewMessage(msg, buffers = []) {
  if (!msg || typeof msg !== "object" || !VIEW_KERNEL_KINDS.includes(msg.kind)) {
    return { ok: false, error: `not a call-view message: ${JSON.stringify(msg && msg.kind)}` };
  }
  if (!Number.isInteger(msg.id)) return { ok: false, error: `${msg.kind}: id must be an integer` };
  if (msg.kind === "audio") {
    for (const k of ["start_s", "duration_s", "total_s"]) {
      if (typeof msg[k] !== "number" || !Number.isFinite(msg[k])) return { ok: false, error: `audio: ${k} must be a number` };
    }
    if (buffers.length !== 1) return { ok: false, error: `audio: expected 1 buffer (a WAV file), got ${buffers.length}` };
  } else if (typeof msg.error !== "string") {
    return { ok: false, error: "audio-error: error must be a string" };
  }
  return { ok: true, msg };
}
