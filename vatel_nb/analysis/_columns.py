"""Column names of the turns frame (see :func:`vatel_nb.analysis.turns` for their meaning)."""

from __future__ import annotations

__all__ = ["FLOAT_COLUMNS", "LATENCY_COLUMNS", "OUTCOMES", "TURN_COLUMNS"]

#: Latency columns of :func:`turns` (ms).
LATENCY_COLUMNS: tuple[str, ...] = (
    "v2v_ms",
    "server_e2e_ms",
    "eou_ms",
    "transcription_ms",
    "text_ms",
    "voice_ms",
    "leading_silence_ms",
    "playout_ms",
    "tool_ms",
    "tool_exec_ms",
    "time_to_yield_ms",
    "greeting_ms",
)
#: All columns of :func:`turns`, in order.
TURN_COLUMNS: tuple[str, ...] = (
    "call",
    "turn",
    "outcome",
    "user_turn_id",
    "turn_id",
    "agent_turn_ids",
    "n_segments",
    "user_start",
    "user_end",
    "vad_start",
    "vad_start_browser",
    "vad_end",
    "vad_end_browser",
    "transcript",
    "t_transcript",
    "agent_text",
    "t_first_text",
    "t_first_audio",
    "t_last_audio",
    "t_played",
    "t_played_browser",
    "playout_target_ms",
    "agent_end",
    "agent_end_browser",
    "agent_samples",
    "dropped_samples",
    "interrupted",
    "t_interruption",
    "heard_ms",
    "heard_text",
    "barge_in",
    "n_tool_calls",
    "tool_names",
    *LATENCY_COLUMNS,
    "overlap_ms",
)
#: The columns holding float times / latencies (NaN when unknown): all but these.
_NOT_FLOAT = frozenset(
    {
        "call",
        "turn",
        "outcome",
        "user_turn_id",
        "turn_id",
        "agent_turn_ids",
        "n_segments",
        "transcript",
        "agent_text",
        "agent_samples",
        "dropped_samples",
        "interrupted",
        "heard_text",
        "barge_in",
        "n_tool_calls",
        "tool_names",
    }
)
FLOAT_COLUMNS: tuple[str, ...] = tuple(c for c in TURN_COLUMNS if c not in _NOT_FLOAT)
#: ``outcome`` values of :func:`turns` (see its module doc).
OUTCOMES = ("responded", "interrupted", "talked-over", "cut-off-by-end", "silent", "agent-initiated")
