import { test } from "node:test";
import assert from "node:assert/strict";
import { viewStatus, latencyText, interruptedNote, WIDGET_CSS } from "../src/ui.js";

test("status line: local engine errors win, then the kernel's error, then the call state", () => {
  assert.deepEqual(viewStatus({ engineState: "error", engineError: "Mic denied.", traitStatus: "live" }), { state: "error", text: "Error: Mic denied." });
  assert.deepEqual(viewStatus({ engineState: "running", traitStatus: "error", traitError: "Bad key." }), { state: "error", text: "Error: Bad key." });
  assert.equal(viewStatus({ engineState: "idle", traitStatus: "idle" }).state, "idle");
  assert.equal(viewStatus({ engineState: "starting", traitStatus: "idle" }).state, "connecting");
  assert.equal(viewStatus({ engineState: "running", traitStatus: "connecting" }).state, "connecting");
  assert.equal(viewStatus({ engineState: "running", traitStatus: "live" }).state, "live");
  assert.equal(viewStatus({ engineState: "ending", traitStatus: "live" }).state, "ending");
  assert.equal(viewStatus({ engineState: "ended", traitStatus: "live" }).state, "ended");
  assert.equal(viewStatus({ engineState: "idle", traitStatus: "ended" }).text, "Call ended");
});

test("latency line", () => {
  assert.equal(latencyText(812.4, "heard voice-to-voice"), "Last turn latency: 812 ms (heard voice-to-voice)");
  assert.equal(latencyText(null, "x"), "Last turn latency: —");
  assert.equal(latencyText(NaN, ""), "Last turn latency: —");
});

test("CSS is scoped to the widget and themed with --jp-* variables that have fallbacks", () => {
  for (const rule of WIDGET_CSS.split("}").map((r) => r.trim()).filter(Boolean)) assert.ok(rule.startsWith(".vatel-widget"), rule);
  const vars = [...WIDGET_CSS.matchAll(/var\((--[\w-]+)(,?)/g)];
  assert.ok(vars.length > 10);
  for (const v of vars) assert.equal(v[2], ",", `${v[1]} has no fallback`);
});

test("Start after End: the last call's ended/error status is not shown until the kernel takes up the new call", () => {
  assert.equal(viewStatus({ engineState: "running", traitStatus: "ended", acked: false }).state, "connecting");
  assert.equal(viewStatus({ engineState: "starting", traitStatus: "error", traitError: "old", acked: false }).state, "connecting");
  assert.equal(viewStatus({ engineState: "running", traitStatus: "live", acked: true }).state, "live");
  assert.equal(viewStatus({ engineState: "running", traitStatus: "ended", acked: true }).state, "ended");
});

test("an interrupted agent line says so, with what was heard", () => {
  assert.equal(interruptedNote({ heard: "one two", heard_s: 0.5 }), " — interrupted after 0.5 s; heard: “one two…”");
  assert.equal(interruptedNote({}), " — interrupted");
});
