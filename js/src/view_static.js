// The call view in a self-contained HTML file: a read-only stand-in for the widget model, fed from
// the page itself (no server, no network). The file carries three script elements:
// #vatel-view-timeline (JSON), #vatel-view-envelopes (the envelope bytes, base64 text) and
// #vatel-view-audio (the recording as a data: URI, WAV).

import { renderCallView } from "./view_ui.js";
import { staticSource } from "./view_player.js";

/**
 * A model with fixed values: get(name); on/off/send do nothing.
 * @param {Record<string, any>} values
 */
export function staticModel(values) {
  return { get: (k) => values[k], on() {}, off() {}, send() {} };
}

/** Bytes of a base64 string. @param {string} b64 */
export function base64Bytes(b64) {
  const bin = atob(b64.replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Render the view of an HTML file into `el` from the document's data elements.
 * @param {Document} doc @param {HTMLElement} el
 */
export function renderStaticPage(doc, el) {
  const text = (id) => (doc.getElementById(id) || { textContent: "" }).textContent || "";
  const timeline = JSON.parse(text("vatel-view-timeline"));
  const model = staticModel({ timeline, envelopes: base64Bytes(text("vatel-view-envelopes")) });
  const url = text("vatel-view-audio").trim();
  const source = url
    ? staticSource(url, timeline.duration_s)
    : { request: () => Promise.reject(new Error("this file was written without the recording (audio=False)")) };
  return renderCallView(model, el, source);
}
