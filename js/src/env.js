// Environment checks before a call: each failure becomes a status state plus a sentence the user
// can act on. Pure functions over a small "probe" object so node can test them.

/**
 * @typedef {{isSecureContext: boolean, hasMediaDevices: boolean, hasAudioWorklet: boolean,
 *   userAgent: string, hasVsCodeApi: boolean, protocol: string, hostname: string}} EnvProbe
 * @typedef {{state: string, error: string}} EnvProblem
 */

/**
 * Read the probe from a browser global scope.
 * @param {any} g globalThis / window
 * @returns {EnvProbe}
 */
export function probeEnvironment(g) {
  const nav = g.navigator || {};
  const loc = g.location || {};
  const AC = g.AudioContext || g.webkitAudioContext;
  return {
    isSecureContext: !!g.isSecureContext,
    hasMediaDevices: !!(nav.mediaDevices && typeof nav.mediaDevices.getUserMedia === "function"),
    hasAudioWorklet: !!(AC && g.AudioWorkletNode && AC.prototype && "audioWorklet" in AC.prototype),
    userAgent: String(nav.userAgent || ""),
    hasVsCodeApi: typeof g.acquireVsCodeApi === "function",
    protocol: String(loc.protocol || ""),
    hostname: String(loc.hostname || ""),
  };
}

/**
 * Is this a VS Code notebook webview? (VS Code denies the microphone there, vscode#119127.)
 * @param {EnvProbe} p
 */
export function isVsCodeWebview(p) {
  return p.hasVsCodeApi || p.protocol === "vscode-webview:" || /\bCode\/[\d.]+.*Electron\//.test(p.userAgent) || /\bVSCode\b/.test(p.userAgent);
}

const VSCODE_MSG =
  "VS Code notebook webviews do not give widgets the microphone. Open this notebook in JupyterLab or " +
  "Jupyter Notebook in a browser (run `jupyter lab` and open the URL it prints), or use the headless caller.";

/**
 * First problem that prevents a call, or null when the page can try.
 * @param {EnvProbe} p
 * @returns {EnvProblem | null}
 */
export function checkEnvironment(p) {
  const vscode = isVsCodeWebview(p);
  if (!p.isSecureContext) {
    if (vscode) return { state: "vscode-webview", error: VSCODE_MSG };
    return {
      state: "insecure-context",
      error:
        `The browser only allows the microphone on https:// or http://localhost pages, and this page is ` +
        `${p.protocol || "?"}//${p.hostname || "?"}. Open Jupyter over https, or through localhost ` +
        `(e.g. an SSH tunnel: ssh -L 8888:localhost:8888 yourserver, then open http://localhost:8888).`,
    };
  }
  if (!p.hasMediaDevices) {
    if (vscode) return { state: "vscode-webview", error: VSCODE_MSG };
    return {
      state: "no-media-devices",
      error: "This browser gives the page no navigator.mediaDevices (no microphone API). Use a current Chrome, Edge, Firefox or Safari.",
    };
  }
  if (!p.hasAudioWorklet) {
    return {
      state: "no-audio-worklet",
      error: "This browser has no AudioWorklet, which the call needs for real-time audio. Use a current Chrome, Edge, Firefox or Safari.",
    };
  }
  return null;
}

/**
 * Turn a getUserMedia failure into a status state and an actionable sentence.
 * @param {{name?: string, message?: string} | null | undefined} err
 * @param {EnvProbe} p
 * @returns {EnvProblem}
 */
export function describeMicError(err, p) {
  const name = (err && err.name) || "Error";
  const detail = (err && err.message) || String(err);
  if (isVsCodeWebview(p)) return { state: "vscode-webview", error: VSCODE_MSG };
  if (name === "NotAllowedError" || name === "PermissionDeniedError" || name === "SecurityError") {
    return {
      state: "mic-denied",
      error:
        "Microphone access was denied. Allow it for this site (click the camera/microphone or lock icon in " +
        "the address bar → Microphone → Allow; check the operating system's privacy settings too), then start the call again.",
    };
  }
  if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError") {
    return { state: "no-microphone", error: `No usable microphone was found (${name}). Plug one in or pick one in the browser's site settings, then start again.` };
  }
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") {
    return { state: "mic-busy", error: `The microphone could not be opened (${name}: ${detail}). Close other apps or tabs using it, then start again.` };
  }
  return { state: "engine-error", error: `Could not open the microphone (${name}: ${detail}).` };
}
