// The audio engine's lifecycle as a small pure state machine (no I/O; node-tested).
//   idle ─start→ starting ─ready→ running ─finish→ ending ─done→ ended ─start→ starting …
//   starting/running ─fail→ error ─start→ starting …;   ending ─start→ starting (cancels the drain);
//   any ─dispose→ ended

/** Engine states: idle → starting → running → ending → ended; starting/running → error. */
export const ENGINE_STATES = Object.freeze(["idle", "starting", "running", "ending", "ended", "error"]);

/** Allowed transitions: state → {event: next state}. */
const ENGINE_TRANSITIONS = Object.freeze({
  idle: Object.freeze({ start: "starting", done: "ended", dispose: "ended" }),
  starting: Object.freeze({ ready: "running", fail: "error", finish: "ending", dispose: "ended" }),
  running: Object.freeze({ fail: "error", finish: "ending", dispose: "ended" }),
  ending: Object.freeze({ start: "starting", done: "ended", finish: "ending", dispose: "ended" }),
  ended: Object.freeze({ start: "starting", done: "ended", dispose: "ended" }),
  error: Object.freeze({ start: "starting", dispose: "ended" }),
});

/**
 * The state after `event`, or null when `event` does not apply in `state` (the caller ignores it).
 * @param {string} state one of ENGINE_STATES
 * @param {"start" | "ready" | "fail" | "finish" | "done" | "dispose"} event
 * @returns {string | null}
 */
export function nextEngineState(state, event) {
  const row = ENGINE_TRANSITIONS[state];
  return (row && row[event]) || null;
}

/**
 * A call is in progress (the mic is open or opening): Start is disabled, End enabled.
 * @param {string} state
 */
export function isActiveState(state) {
  return state === "starting" || state === "running";
}
