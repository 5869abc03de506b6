"""The last turn's latency on a live log, cheaply (for the widget's live display).

Reads the log through its public API only (``log.rows``, ``log.meta``, the audio tracks'
accessors) and uses the same definitions as :func:`~vatel_nb.analysis.turns`
(:mod:`._latency`): it scans the last rows backwards (no DataFrame) until it has the last agent
turn's first audio and the ``speech_stopped`` before it, then runs the client VAD over only the
mic audio of the few seconds before that stop. Cost: proportional to the last turn, not the call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..log import EventLog
from ._frames import SAMPLE_RATE
from ._latency import server_e2e_ms, v2v_ms
from ._vad import VadSettings, leading_silence_samples, speech_segments

__all__ = ["LatencyReading", "last_turn_latency_ms"]


@dataclass(frozen=True)
class LatencyReading:
    """``value_ms`` of the last turn; ``kind`` = ``"v2v"`` (heard voice-to-voice, browser clock) or
    ``"server_e2e"`` (speech_stopped − stop_secs → first response_audio, kernel clock); ``turn_id``
    of the agent turn."""

    value_ms: float
    kind: str
    turn_id: str | None


def _stop_secs(log: EventLog) -> float:
    agent = log.meta.get("agent")
    vs = agent.get("vad_settings") if isinstance(agent, dict) else None
    if vs is None:
        for _t, source, type_, f in log.rows(0, 200):
            if source == "local" and type_ == "agent" and isinstance(f.get("detail"), dict):
                vs = f["detail"].get("vad_settings")
    v = vs.get("stop_secs") if isinstance(vs, dict) else None
    return float(v) if v is not None else math.nan


def last_turn_latency_ms(
    log: EventLog, *, window_s: float = 8.0, vad: VadSettings | None = None, max_rows: int = 200_000
) -> LatencyReading | None:
    """Latency of the last agent response: V2V when browser timing is known, else server e2e.

    The reply answers the last ``speech_stopped`` before its first audio (as in :func:`turns`,
    also when it began over the user's next words). ``None`` when no agent audio followed a
    ``speech_stopped`` yet or the latency is undefined (negative: a talk-over). ``window_s``: mic
    audio (s) before the stop that the VAD looks at.
    """
    log = getattr(log, "log", log)
    cut = log.agent_audio.interrupted
    turn_id = first_audio = t_stop = None
    started: dict = {}
    for t, source, type_, f in reversed(log.rows(max(0, len(log) - max_rows))):
        if source == "server":
            if type_ == "response_audio":
                tid = f.get("turn_id")
                if not (tid in cut and t > cut[tid]):  # late chunks of an interrupted turn don't count
                    first_audio, turn_id = t, tid
            elif type_ == "speech_stopped" and first_audio is not None:
                t_stop = t
                break
        elif source == "browser" and type_ == "playback-started" and f.get("t_browser") is not None:
            started[f.get("turn_id")] = f["t_browser"]  # scanning backwards: ends with the earliest
    if first_audio is None or t_stop is None:
        return None
    played_tb = started.get(turn_id)
    if played_tb is not None:
        v = _v2v(log, t_stop, played_tb, turn_id, window_s, vad)
        if v is not None and not math.isnan(v):
            return LatencyReading(v, "v2v", turn_id)
    e2e = server_e2e_ms(t_stop, _stop_secs(log), first_audio)
    return None if math.isnan(e2e) else LatencyReading(e2e, "server_e2e", turn_id)


def _v2v(log: EventLog, t_stop: float, played_tb: float, turn_id, window_s: float, vad) -> float | None:
    ua = log.user_audio
    lo, hi = ua.search(t_stop - window_s), ua.search(t_stop + 0.05)
    if hi <= lo:
        return None
    tb = ua.t_browser(lo, hi)  # only the window: O(window), not O(call)
    if np.isnan(tb).any():
        return None
    segs = speech_segments(ua.pcm(lo, hi), vad)
    if not len(segs):
        return None
    counts = ua.sample_counts(hi, start=lo)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    end = int(segs[-1, 1])
    c = int(np.searchsorted(starts, end - 1, side="right") - 1)
    vad_end_tb = tb[c] + (end - starts[c]) / SAMPLE_RATE * 1000.0
    aa = log.agent_audio
    pcm = aa.turn_pcm(turn_id, start=max(0, len(aa) - 20_000))[: 3 * SAMPLE_RATE]
    lead = leading_silence_samples(pcm) if len(pcm) else None
    return v2v_ms(played_tb, vad_end_tb, math.nan if lead is None else lead / SAMPLE_RATE * 1000.0)
