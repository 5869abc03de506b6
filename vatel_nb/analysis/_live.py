"""The last turn's latency on a live log, cheaply (for the widget's live display).

Scans the raw rows backwards from the end (no DataFrame) until it has the last agent turn's first
audio and the ``speech_stopped`` before it, then runs the client VAD over only the mic audio of
the few seconds before that stop. Cost: proportional to the last turn's length, not the call's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..log import EventLog
from ._vad import VadSettings, leading_silence_samples, speech_segments

__all__ = ["LatencyReading", "last_turn_latency_ms"]

_SR = 24_000


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
    return float(v) if v is not None else 0.0


def last_turn_latency_ms(
    log: EventLog, *, window_s: float = 8.0, vad: VadSettings | None = None, max_rows: int = 200_000
) -> LatencyReading | None:
    """Latency of the last agent response: V2V when browser timing is known, else server e2e.

    ``None`` when no agent audio followed a ``speech_stopped`` yet. ``window_s``: mic audio (s)
    before the stop that the VAD looks at. Same definitions as :func:`~vatel_nb.analysis.turns`.
    """
    log = getattr(log, "log", log)
    flat = log._flat
    n = len(flat) // 4
    cut = log.agent_audio.interrupted
    turn_id = first_audio = t_stop = None
    started: dict = {}
    for i in range(n - 1, max(-1, n - 1 - max_rows), -1):
        t, source, type_, f = flat[4 * i : 4 * i + 4]
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
    played_tb = started.get(turn_id)
    if first_audio is None or t_stop is None:
        return None
    if played_tb is not None:
        v2v = _v2v(log, t_stop, played_tb, turn_id, window_s, vad)
        if v2v is not None:
            return LatencyReading(v2v, "v2v", turn_id)
    return LatencyReading((first_audio - (t_stop - _stop_secs(log))) * 1000.0, "server_e2e", turn_id)


def _v2v(log: EventLog, t_stop: float, played_tb: float, turn_id, window_s: float, vad) -> float | None:
    ua = log.user_audio
    lo, hi = ua.search(t_stop - window_s), ua.search(t_stop + 0.05)
    if hi <= lo:
        return None
    tb = np.asarray(ua._t_browser[lo:hi], dtype=float)  # only the window: O(window), not O(call)
    if np.isnan(tb).any():
        return None
    chunks = ua._chunks[lo:hi]
    pcm = np.frombuffer(b"".join(chunks), dtype="<i2")
    segs = speech_segments(pcm, vad)
    if not len(segs):
        return None
    counts = np.fromiter((len(c) // 2 for c in chunks), dtype=np.int64, count=len(chunks))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    end = int(segs[-1, 1])
    c = int(np.searchsorted(starts, end - 1, side="right") - 1)
    vad_end_tb = tb[c] + (end - starts[c]) / _SR * 1000.0
    lead = _leading(log, turn_id)
    return float(played_tb - vad_end_tb + (lead if lead is not None else 0.0))


def _leading(log: EventLog, turn_id) -> float | None:
    aa = log.agent_audio
    turns, dropped = aa._turn, aa._dropped
    idx = []
    for i in range(len(aa) - 1, max(-1, len(aa) - 20_000), -1):  # the turn's chunks are the last ones
        if turns[i] == turn_id:
            idx.append(i)
        elif idx:
            break
    idx = [i for i in reversed(idx) if not dropped[i]]
    if not idx:
        return None
    pcm = np.concatenate([aa.chunk(i) for i in idx[:150]])
    lead = leading_silence_samples(pcm)
    return None if lead is None else lead / _SR * 1000.0
