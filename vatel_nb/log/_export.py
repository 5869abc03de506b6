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


def _playback(log: EventLog) -> tuple[dict[str, float], dict[str, int]]:
    """``{turn_id: kernel s of playback-started}``, ``{turn_id: samples played before a flush}``."""
    started: dict[str, float] = {}
    flushed: dict[str, int] = {}
    flat = log._flat[: len(log) * 4]  # strided reads: no row tuples built for the whole call
    for source, type_, f in zip(flat[1::4], flat[2::4], flat[3::4], strict=True):
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
    n_user, n_agent = len(ua), len(aa)  # one snapshot: a live track may grow while we read it
    u_times = ua.times()[:n_user]
    tb = ua.t_browser()[:n_user]
    if len(log.clock):
        mapped = np.asarray(log.clock.to_kernel(tb), dtype=float)
        u_times = np.where(np.isnan(mapped), u_times, mapped)
    # A plan of copies (channel, destination sample, source sample in the track's concatenated PCM,
    # samples); chunks that follow each other in both are merged into one copy, so the copying
    # costs one numpy slice per run of contiguous audio, not one per 20 ms chunk.
    plan: list[list[int]] = []
    u_counts = ua.sample_counts(n_user).tolist()
    u_pos = np.round((u_times - t_start) * sr).tolist()
    expected, src, run = None, 0, None
    for p, n in zip(u_pos, u_counts, strict=True):
        if expected is None or p > expected + tol:  # a real gap: a new run at the chunk's own time
            run = [0, int(p), src, n]
            plan.append(run)
            expected = int(p) + n
        else:  # contiguous with the previous chunk, in the output and in the track
            run[3] += n
            expected += n
        src += n
    a_counts = aa.sample_counts(n_agent).tolist()
    a_times = aa.times()[:n_agent]
    a_pos = np.round((a_times - t_start) * sr).tolist()
    turns, dropped = aa.turn_ids()[:n_agent], aa.dropped()[:n_agent].tolist()
    started, flushed = _playback(log) if agent == "played" else ({}, {})
    expected, cur, played, src, run = None, object(), 0, 0, None
    for i, n in enumerate(a_counts):
        if agent == "received":
            p = a_pos[i]
            pos, keep = (int(p) if expected is None or p > expected + tol else expected), n
        elif dropped[i]:
            src += n
            continue
        else:
            tid = turns[i]
            if tid != cur:
                cur, played = tid, 0
                p = round((started.get(tid, a_times[i]) - t_start) * sr)
                expected = p if expected is None else max(p, expected)
            limit = flushed.get(tid)
            keep = n if limit is None else max(0, min(n, limit - played))
            played += n
            pos = expected
        if keep:
            if run is not None and run[1] + run[3] == pos and run[2] + run[3] == src:
                run[3] += keep
            else:
                run = [1, pos, src, keep]
                plan.append(run)
            expected = pos + keep
        src += n
    if t_end is None:
        n_out = max((pos + n for _, pos, _, n in plan), default=0)
    else:
        n_out = max(0, math.ceil((t_end - t_start) * sr))
    out = np.zeros((n_out, 2), dtype=np.int16)
    pcm = (ua.pcm(0, n_user), aa.pcm(0, n_agent))
    for ch, pos, src, n in plan:
        if pos < 0:
            src, n, pos = src - pos, n + pos, 0
        end = min(pos + n, n_out)
        if end > pos:
            out[pos:end, ch] = pcm[ch][src : src + end - pos]
    return out


def audio_player(log: Any, **kwargs: Any) -> Any:
    """An ``IPython.display.Audio`` of :func:`stereo_recording` (a WAV, so not normalised: real levels).

    ``kwargs`` go to :func:`stereo_recording`."""
    from IPython.display import Audio

    stereo = stereo_recording(log, **kwargs)
    return Audio(data=wav_bytes(stereo), rate=SAMPLE_RATE)
