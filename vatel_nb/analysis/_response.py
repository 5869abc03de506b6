"""One turn's agent side: response timing, playback, interruption, leading silence, latencies."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._columns import FLOAT_COLUMNS
from ._frames import SAMPLE_RATE
from ._latency import heard_text, server_e2e_ms, v2v_ms
from ._vad import leading_silence_samples

__all__ = ["latencies", "ms", "respond", "response_row"]

_NAN = math.nan


def ms(a: float, b: float) -> float:
    """(b − a) in ms, NaN if either is NaN."""
    return (b - a) * 1000.0


def response_row(
    group: list, urec: dict, started: dict, ended: dict, agent_audio: Any, silence_db: float
) -> dict:
    """A turns-frame row filled from the agent units ``group`` (ids into ``urec``, the unit records),
    browser ``started``/``ended`` playback times and the agent PCM (for the leading silence)."""
    row: dict[str, Any] = dict.fromkeys(FLOAT_COLUMNS, _NAN)
    row.update(
        outcome="responded",
        user_turn_id=None,
        turn_id=None,
        agent_turn_ids=[],
        n_segments=0,
        transcript=None,
        agent_text=None,
        agent_samples=0,
        dropped_samples=0,
        interrupted=False,
        heard_text=None,
        barge_in=False,
        n_tool_calls=0,
        tool_names=None,
    )
    if not group:
        return row
    g = [urec[i] for i in group]
    row["agent_turn_ids"] = list(group)
    row["turn_id"] = group[0]
    row["agent_text"] = " ".join(x["text"] for x in g if isinstance(x["text"], str) and x["text"]) or None
    row["t_first_text"] = float(np.nanmin([x["first_text"] for x in g] + [math.inf]))
    row["t_first_audio"] = float(np.nanmin([x["first_audio"] for x in g] + [math.inf]))
    row["t_last_audio"] = float(np.nanmax([x["last_audio"] for x in g] + [-math.inf]))
    for c in ("t_first_text", "t_first_audio", "t_last_audio"):
        if math.isinf(row[c]):
            row[c] = _NAN
    row["agent_samples"] = int(sum(x["samples"] for x in g))
    row["dropped_samples"] = int(sum(x["dropped_samples"] for x in g))
    cut = [x["t_interruption"] for x in g if not math.isnan(x["t_interruption"])]
    if cut:
        row["interrupted"], row["t_interruption"] = True, float(min(cut))
        if row["agent_samples"]:
            row["outcome"] = "interrupted"
    audible = [i for i in group if i in started]
    if audible:
        row["t_played"], row["t_played_browser"], row["playout_target_ms"] = started[audible[0]]
    last = group[-1]
    if last in ended:
        row["agent_end"], row["agent_end_browser"] = ended[last]
    elif row["interrupted"]:
        row["agent_end"] = row["t_interruption"]
    elif row["agent_samples"]:
        begin = row["t_played"] if not math.isnan(row["t_played"]) else row["t_first_audio"]
        row["agent_end"] = max(begin + row["agent_samples"] / SAMPLE_RATE, row["t_last_audio"])
    if agent_audio is not None and row["agent_samples"]:
        pcm = _first_audio(agent_audio, group[0])
        lead = leading_silence_samples(pcm, silence_db) if len(pcm) else None
        if lead is not None:
            row["leading_silence_ms"] = lead / SAMPLE_RATE * 1000.0
    return row


def _first_audio(agent_audio: Any, turn_id: str, max_samples: int = 3 * SAMPLE_RATE) -> np.ndarray:
    cache = getattr(agent_audio, "_analysis_turn_index", None)
    n = len(agent_audio)
    if cache is None or cache[0] != n:
        index: dict[Any, list[int]] = {}
        turns_, dropped = agent_audio.turn_ids(), agent_audio.dropped()
        for i in range(n):
            if not dropped[i]:
                index.setdefault(turns_[i], []).append(i)
        cache = (n, index)
        agent_audio._analysis_turn_index = cache
    parts, total = [], 0
    for i in cache[1].get(turn_id, []):
        c = agent_audio.chunk(i)
        parts.append(c)
        total += len(c)
        if total >= max_samples:
            break
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def latencies(
    row: dict, hang: float, *, user_end: float | None = None, vad_end_browser: float | None = None
) -> None:
    """Fill the latency columns (ms) of ``row`` from its times; ``hang`` = server VAD stop_secs (s).

    ``user_end`` / ``vad_end_browser``: the end of speech the response answers when it is not the
    turn's own end (a reply that began over the user answers the speech before it)."""
    user_end = row["user_end"] if user_end is None else user_end
    vad_end_b = row["vad_end_browser"] if vad_end_browser is None else vad_end_browser
    row["v2v_ms"] = v2v_ms(row["t_played_browser"], vad_end_b, row["leading_silence_ms"])
    row["server_e2e_ms"] = server_e2e_ms(user_end, hang, row["t_first_audio"])
    row["eou_ms"] = ms(row["vad_end"], row["user_end"])
    row["transcription_ms"] = ms(row["user_end"], row["t_transcript"])
    row["text_ms"] = ms(row["t_transcript"], row["t_first_text"])
    row["voice_ms"] = ms(row["t_first_text"], row["t_first_audio"])
    row["playout_ms"] = ms(row["t_first_audio"], row["t_played"])


def respond(row: dict, u: dict, nxt: dict | None, group: list, hang: float, cvad: tuple, heard: dict) -> None:
    """Latencies of a user turn's response, true under overlap; marks a talk-over.

    The response is heard from its first audio. When that came before the user's real end of
    speech (``speech_stopped`` − ``stop_secs``) the agent began while the user was speaking: its
    latencies run from the last server VAD segment of the turn that ended before it (NaN if none
    did). When it came while the *next* user turn was being spoken (the reply to this turn
    arrived late, over the user's next words), the latencies are this turn's own. Either way the
    outcome is ``talked-over`` and ``overlap_ms`` is how long both spoke at once. A latency that
    would be negative is a talk-over too (the definitions in ``_latency`` return NaN for it)."""
    _cv_s, cv_e, cv_eb = cvad
    if not group:
        latencies(row, hang)
        return
    began = row["t_first_audio"]
    u_end = u["end"] - hang if not math.isnan(u["end"]) else math.inf  # the user's real end of speech
    over_user: tuple[float, float] | None = None  # the user speech the agent talked over
    if began < u_end:
        prior = [e for _s, e in u["segs"] if not math.isnan(e) and e - hang <= began]
        end = max(prior) if prior else _NAN
        vb = _NAN
        if prior and len(cv_e):
            m = np.flatnonzero(cv_e <= end)
            vb = float(cv_eb[m[np.argmax(cv_e[m])]]) if len(m) else _NAN
        latencies(row, hang, user_end=end, vad_end_browser=vb)
        over_user = (began, u_end)
    else:
        latencies(row, hang)
        n_start = nxt["start"] if nxt is not None and not math.isnan(nxt["start"]) else _NAN
        if nxt is not None and not math.isnan(n_start):
            n_end = nxt["end"] - hang if not math.isnan(nxt["end"]) else math.inf
            if n_start <= began < n_end:  # the user was already speaking (else: a user barge-in)
                over_user = (began, n_end)
        raw_v2v = row["t_played_browser"] - row["vad_end_browser"]
        if over_user is None and raw_v2v < 0:  # heard before the user's last voiced sample
            over_user = (began, began - raw_v2v / 1000.0)
    if row["interrupted"] and row["turn_id"] in heard:
        row["heard_ms"] = heard[row["turn_id"]] / SAMPLE_RATE * 1000.0
        if row["agent_samples"]:
            row["heard_text"] = heard_text(row["agent_text"], heard[row["turn_id"]] / row["agent_samples"])
    if over_user is not None and row["agent_samples"]:
        onset = row["t_played"] if not math.isnan(row["t_played"]) else row["t_first_audio"]
        lo, hi = max(onset, over_user[0]), over_user[1]
        if not math.isnan(row["agent_end"]):
            hi = min(hi, row["agent_end"])
        row["overlap_ms"] = max(0.0, ms(lo, hi)) if math.isfinite(hi) else _NAN
        row["outcome"] = "talked-over"
