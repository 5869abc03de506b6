"""Stereo export of a call: user on the left, agent on the right, aligned on the kernel clock.

Placement (sample ``i`` of the output is kernel time ``t_start + i / 24000`` s):

* user (left): each mic chunk at its capture time — browser ``t_browser`` mapped with the clock
  sync when known, else the kernel send time ``t``. Consecutive chunks stay contiguous unless the
  timestamps jump ahead by more than ``tolerance_s`` (a real gap: silence is inserted).
* agent (right), ``agent="played"`` (default): what the user heard. Each turn starts at its
  ``playback-started`` time (browser, mapped) when reported, else at its first chunk's arrival,
  never before the previous turn ends; chunks flagged dropped are left out and a
  ``playback-flushed`` turn is cut after the samples it reports as played. ``agent="received"``:
  every chunk at its arrival time (contiguous within tolerance), dropped ones included.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._audio import wav_bytes, write_wav
from ._audio import SAMPLE_RATE
from ._eventlog import EventLog

__all__ = ["audio_player", "stereo_recording", "write_wav"]


def _place(out: np.ndarray, pos: int, pcm: np.ndarray) -> int:
    if pos < 0:
        pcm, pos = pcm[-pos:], 0
    end = min(pos + len(pcm), len(out))
    if end > pos:
        out[pos:end] = pcm[: end - pos]
    return pos + len(pcm)


def _playback(log: EventLog) -> tuple[dict[str, float], dict[str, int]]:
    """``{turn_id: kernel s of playback-started}``, ``{turn_id: samples played before a flush}``."""
    started: dict[str, float] = {}
    flushed: dict[str, int] = {}
    for _t, source, type_, f in log.rows():
        if source != "browser" or f.get("turn_id") is None:
            continue
        if type_ == "playback-started" and f.get("t_browser") is not None and len(log.clock):
            started.setdefault(f["turn_id"], float(log.clock.to_kernel(f["t_browser"])))
        elif type_ == "playback-flushed" and f.get("samples") is not None:
            flushed[f["turn_id"]] = int(f["samples"])
    return started, flushed


def stereo_recording(
    log: Any,
    *,
    t_start: float = 0.0,
    t_end: float | None = None,
    agent: str = "played",
    tolerance_s: float = 0.06,
) -> np.ndarray:
    """The call as an ``int16`` array of shape ``(n, 2)``: user left, agent right, 24 kHz.

    ``log``: an :class:`EventLog` (live or from ``load_session``) or anything with ``.log``.
    Sample 0 is kernel time ``t_start`` (s since t0); ``t_end`` defaults to the end of the last
    sound. See the module doc for how chunks are placed.
    """
    log = getattr(log, "log", log)
    if not isinstance(log, EventLog):
        raise TypeError(
            f"stereo_recording needs an EventLog (or a session/loaded log), got {type(log).__name__}"
        )
    if agent not in ("played", "received"):
        raise ValueError(f"agent must be 'played' or 'received', got {agent!r}")
    sr, tol = SAMPLE_RATE, round(tolerance_s * SAMPLE_RATE)
    ua, aa = log.user_audio, log.agent_audio
    u_times = ua.times()
    tb = ua.t_browser()
    if len(log.clock):
        mapped = np.asarray(log.clock.to_kernel(tb), dtype=float)
        u_times = np.where(np.isnan(mapped), u_times, mapped)
    plan: list[tuple[int, int, int, int]] = []  # (channel, pos, chunk index, samples kept)
    expected = None
    for i, tt in enumerate(u_times):
        n = len(ua.chunk(i))
        p = round((tt - t_start) * sr)
        pos = p if expected is None or p > expected + tol else expected
        plan.append((0, pos, i, n))
        expected = pos + n
    a_times, turns, dropped = aa.times(), aa.turn_ids(), aa.dropped()
    started, flushed = _playback(log) if agent == "played" else ({}, {})
    expected, cur, played = None, object(), 0
    for i, tt in enumerate(a_times):
        n = len(aa.chunk(i))
        if agent == "received":
            p = round((tt - t_start) * sr)
            pos = p if expected is None or p > expected + tol else expected
            plan.append((1, pos, i, n))
            expected = pos + n
            continue
        if dropped[i]:
            continue
        tid = turns[i]
        if tid != cur:
            cur, played = tid, 0
            p = round((started.get(tid, tt) - t_start) * sr)
            expected = p if expected is None else max(p, expected)
        limit = flushed.get(tid)
        keep = n if limit is None else max(0, min(n, limit - played))
        played += n
        if keep:
            plan.append((1, expected, i, keep))
            expected += keep
    if t_end is None:
        n_out = max((pos + keep for _, pos, _, keep in plan), default=0)
    else:
        n_out = max(0, math.ceil((t_end - t_start) * sr))
    out = np.zeros((n_out, 2), dtype=np.int16)
    for ch, pos, i, keep in plan:
        _place(out[:, ch], pos, (ua if ch == 0 else aa).chunk(i)[:keep])
    return out


def audio_player(log: Any, **kwargs: Any) -> Any:
    """An ``IPython.display.Audio`` of :func:`stereo_recording` (a WAV, so not normalised: real levels).

    ``kwargs`` go to :func:`stereo_recording`."""
    from IPython.display import Audio

    stereo = stereo_recording(log, **kwargs)
    return Audio(data=wav_bytes(stereo), rate=SAMPLE_RATE)
