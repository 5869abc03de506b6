import { test } from "node:test";
import assert from "node:assert/strict";
import { probeEnvironment, checkEnvironment, describeMicError, isVsCodeWebview } from "../src/env.js";

const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
const VSCODE = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Code/1.90.0 Chrome/122.0 Electron/29.4.0 Safari/537.36";
const base = { isSecureContext: true, hasMediaDevices: true, hasAudioWorklet: true, userAgent: CHROME, hasVsCodeApi: false, protocol: "https:", hostname: "lab.example.org" };

test("probe reads a browser-like global", () => {
  class AudioContext {}
  AudioContext.prototype.audioWorklet = {};
  const g = { isSecureContext: true, navigator: { mediaDevices: { getUserMedia() {} }, userAgent: CHROME }, AudioContext, AudioWorkletNode: class {}, location: { protocol: "http:", hostname: "localhost" } };
  assert.deepEqual(probeEnvironment(g), { ...base, protocol: "http:", hostname: "localhost" });
  assert.equal(probeEnvironment({}).hasAudioWorklet, false);
});

test("a usable browser has no problem", () => {
  assert.equal(checkEnvironment(base), null);
});

test("plain-HTTP remote server: says to use https or localhost / an SSH tunnel", () => {
  const p = checkEnvironment({ ...base, isSecureContext: false, hasMediaDevices: false, protocol: "http:", hostname: "10.0.0.5" });
  assert.equal(p.state, "insecure-context");
  assert.match(p.error, /https/);
  assert.match(p.error, /localhost/);
  assert.match(p.error, /ssh -L/);
  assert.match(p.error, /10\.0\.0\.5/);
});

test("no mediaDevices, no AudioWorklet", () => {
  assert.equal(checkEnvironment({ ...base, hasMediaDevices: false }).state, "no-media-devices");
  assert.equal(checkEnvironment({ ...base, hasAudioWorklet: false }).state, "no-audio-worklet");
});

test("VS Code webview detected by API, protocol or user agent; its errors say to use JupyterLab", () => {
  assert.ok(isVsCodeWebview({ ...base, hasVsCodeApi: true }));
  assert.ok(isVsCodeWebview({ ...base, protocol: "vscode-webview:" }));
  assert.ok(isVsCodeWebview({ ...base, userAgent: VSCODE }));
  assert.ok(!isVsCodeWebview(base));
  const p = checkEnvironment({ ...base, userAgent: VSCODE, hasMediaDevices: false });
  assert.equal(p.state, "vscode-webview");
  assert.match(p.error, /JupyterLab/);
  assert.equal(describeMicError({ name: "NotAllowedError" }, { ...base, hasVsCodeApi: true }).state, "vscode-webview");
});

test("getUserMedia errors → actionable states", () => {
  const denied = describeMicError({ name: "NotAllowedError", message: "Permission denied" }, base);
  assert.equal(denied.state, "mic-denied");
  assert.match(denied.error, /Allow/);
  assert.equal(describeMicError({ name: "NotFoundError" }, base).state, "no-microphone");
  assert.equal(describeMicError({ name: "NotReadableError", message: "busy" }, base).state, "mic-busy");
  const other = describeMicError({ name: "WeirdError", message: "boom" }, base);
  assert.equal(other.state, "engine-error");
  assert.match(other.error, /WeirdError: boom/);
  assert.equal(describeMicError(undefined, base).state, "engine-error");
});
