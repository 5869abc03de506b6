import { test } from "node:test";
import assert from "node:assert/strict";
import { offerKernelAudio, wantsKernelProbe, kernelCallActive, kernelNote } from "../src/kernel_audio.js";

const devices = { available: true, input: "default", output: "default", reason: "" };

test("the kernel is asked for its devices only when the page cannot capture", () => {
  assert.equal(wantsKernelProbe({ pageProblem: "vscode-webview" }), true);
  assert.equal(wantsKernelProbe({ pageProblem: null, engineErrorState: "mic-denied" }), true);
  assert.equal(wantsKernelProbe({ pageProblem: null, engineErrorState: "engine-error" }), false);
  assert.equal(wantsKernelProbe({}), false);
});

test("the offer needs kernel devices, a page without a mic, and the page still the source", () => {
  assert.equal(offerKernelAudio({ kernelAudio: devices, pageProblem: "no-media-devices" }), true);
  assert.equal(offerKernelAudio({ kernelAudio: devices, pageProblem: null }), false);
  assert.equal(offerKernelAudio({ kernelAudio: { available: false, reason: "apt install libportaudio2" }, pageProblem: "vscode-webview" }), false);
  assert.equal(offerKernelAudio({ kernelAudio: {}, pageProblem: "vscode-webview" }), false);
  assert.equal(offerKernelAudio({ kernelAudio: devices, audioSource: "kernel", pageProblem: "vscode-webview" }), false);
});

test("kernel mode: the call is active while the kernel connects or is live; the note names the devices", () => {
  assert.equal(kernelCallActive("connecting"), true);
  assert.equal(kernelCallActive("live"), true);
  assert.equal(kernelCallActive("ended"), false);
  assert.equal(kernelCallActive("idle"), false);
  assert.match(kernelNote({ input: "USB mic", output: "Speakers" }, false), /mic “USB mic”, speaker “Speakers” — no echo cancellation: use headphones/);
  assert.match(kernelNote(devices, true), /half duplex/);
});
