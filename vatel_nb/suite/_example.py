"""`vatel-nb suite init DIR`: a documented example suite that passes against the simulator's demo agent."""

from __future__ import annotations

from pathlib import Path

__all__ = ["EXAMPLE_SUITE", "init_suite"]

#: The example suite (TOML): every key of the schema appears, with a comment saying what it does.
EXAMPLE_SUITE = """\
# A vatel-nb regression suite (schema: docs/suites.md in the vatel-nb repository).
#
#   vatel-nb suite run suite.toml --out runs/first --junit runs/first/junit.xml
#
# With no --base-url/--api-key (and no VATEL_* variables) it runs against the embedded simulator's
# demo agent; with them, against the real service (set agent_id below or pass --agent-id).

[suite]
name = "demo-agent"          # dataset partition key: letters, digits, '.', '_', '-'
description = "The simulator's demo agent: the time tool, goodbye, and a barge-in."
repeats = 20                 # default repeats of every scenario (a scenario may override)
concurrency = 20             # calls at once (--concurrency overrides)
think = 0.6                  # default seconds of silence after the agent's reply, before speaking
reply_timeout = 10.0         # seconds to wait for a reply before saying the next line anyway
max_duration = 120.0         # hard limit on one call, seconds
tail = 2.0                   # seconds the call stays open after the last reply (a late reply still counts)
# agent_id = "…"             # the agent to call on a real service (else --agent-id / VATEL_AGENT_ID)

# Client-side tools the agent may call: "module:function" (called with the call's arguments) or a
# fixed output. Without a [tools] table, get_time (current time in an IANA zone) is provided.
[tools]
get_time = "vatel_nb.suite:get_time"

# Latency budgets for every scenario: that percentile of the metric over all turns of all repeats
# of a scenario must stay at or below max_ms. Metrics are the latency columns of
# vatel_nb.analysis.turns(): v2v_ms (heard voice-to-voice), server_e2e_ms, eou_ms,
# transcription_ms, text_ms, voice_ms, tool_ms, time_to_yield_ms, greeting_ms, …
[[budget]]
metric = "server_e2e_ms"
percentile = "p95"           # p50, p90, p95, p99, max or a number
max_ms = 3000

[[budget]]
metric = "v2v_ms"
percentile = 50
max_ms = 2500

[[scenario]]
name = "time"
description = "Asking the time makes the agent call get_time and read the time back."
say = ["What time is it?"]   # plain strings are spoken by the voice (espeak-ng when installed)

  [[scenario.expect]]
  tool_call = "get_time"     # the agent called this tool (arguments = { … } checks a subset)

  [[scenario.expect]]
  agent_matches = '\\d{1,2}:\\d{2}'    # a regex searched in what the agent said

  [[scenario.expect]]
  outcome = "responded"      # the turn's outcome: responded, interrupted, silent, …
  turn = 1                   # restrict to the user's first line (1-based); omit = any turn

  [[scenario.budget]]        # a budget for this scenario only (tool round trip included)
  metric = "tool_ms"
  percentile = "max"
  max_ms = 4000

[[scenario]]
name = "goodbye"
description = "Saying goodbye makes the agent say goodbye and hang up."

  [[scenario.say]]
  text = "Hello, can you hear me?"

  [[scenario.say]]
  text = "Goodbye."
  think = 0.4                # this line's own think time
  # wav = "clips/goodbye.wav"  # or a 16-bit PCM WAV file (any rate); text is then its words

  [[scenario.expect]]
  agent_says = "goodbye"     # case-insensitive substring of what the agent said

  [[scenario.expect]]
  call_ends = true           # the agent ended the call (false: the caller had to hang up)

[[scenario]]
name = "barge-in"
description = "Talking over a long reply interrupts it."
say = [
  "Please repeat after me the quick brown fox jumps over the lazy dog near the bank of the river",
  { text = "Wait, wait.", barge_in = 1.0 },   # start 1 s after the agent's reply starts playing
]

  [[scenario.expect]]
  outcome = "interrupted"
  turn = 1

  [[scenario.expect]]
  outcome = "responded"
  turn = 2
"""


def init_suite(folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write the example suite as ``folder/suite.toml`` (creating ``folder``); returns its path.
    Refuses to replace an existing file unless ``overwrite``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "suite.toml"
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pick another folder or delete it first")
    path.write_text(EXAMPLE_SUITE, encoding="utf-8")
    return path
