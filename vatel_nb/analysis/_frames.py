"""Input resolution shared by the analysis functions: events frame, audio tracks, clock mapping."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..log import AgentAudio, EventLog, UserAudio
from ..protocol import SAMPLE_RATE

__all__ = ["SAMPLE_RATE", "browser_to_kernel", "resolve", "stop_secs_from", "subset"]


def resolve(source: Any) -> tuple[pd.DataFrame, EventLog | None]:
    """``(events frame, log or None)`` from a DataFrame, an :class:`EventLog`, or an object with ``.log``."""
    if isinstance(source, pd.DataFrame):
        return source, None
    log = source if isinstance(source, EventLog) else getattr(source, "log", None)
    if isinstance(log, EventLog):
        return log.frame(), log
    events = getattr(source, "events", None)
    if isinstance(events, pd.DataFrame):
        return events, None
    raise TypeError(
        f"expected an events DataFrame, an EventLog or a session (with .log), got {type(source).__name__}"
    )


def audio_from(obj: Any, kind: str) -> UserAudio | AgentAudio | None:
    """The user/agent track of ``obj`` (a track, an EventLog, or something with ``.log``), else None."""
    want = UserAudio if kind == "user" else AgentAudio
    if obj is None or isinstance(obj, want):
        return obj
    log = obj if isinstance(obj, EventLog) else getattr(obj, "log", None)
    if isinstance(log, EventLog):
        return log.user_audio if kind == "user" else log.agent_audio
    raise TypeError(f"expected a {want.__name__}, an EventLog or a session, got {type(obj).__name__}")


def subset(ev: pd.DataFrame, source: str, type_: str) -> pd.DataFrame:
    """Rows of one source and type, sorted by ``t``."""
    m = (ev["source"] == source) & (ev["type"] == type_)
    return ev.loc[m.to_numpy(dtype=bool)]


def browser_to_kernel(ev: pd.DataFrame):
    """A function browser ms → kernel s fitted on the frame's own (t_browser, t_mapped) pairs.

    The pairs were mapped with the log's ClockSync when the frame was built, so interpolating
    between them reproduces that mapping (exactly for a constant offset). Returns NaN when the
    frame has no mapped browser time.
    """
    if "t_mapped" not in ev or "t_browser" not in ev:
        return lambda tb: np.full(np.shape(tb), np.nan) if np.ndim(tb) else float("nan")
    tb = ev["t_browser"].to_numpy(dtype=float, na_value=np.nan)
    tm = ev["t_mapped"].to_numpy(dtype=float, na_value=np.nan)
    ok = ~(np.isnan(tb) | np.isnan(tm))
    if not ok.any():
        return lambda x: np.full(np.shape(x), np.nan) if np.ndim(x) else float("nan")
    xb, xm = tb[ok], tm[ok]
    order = np.argsort(xb, kind="stable")
    xb, off = xb[order], (xb[order] / 1000.0 - xm[order])

    def f(x):
        x = np.asarray(x, dtype=float)
        out = x / 1000.0 - np.interp(x, xb, off)
        return out if out.ndim else float(out)

    return f


def stop_secs_from(ev: pd.DataFrame, vad_settings: Any = None) -> float:
    """The server VAD hangover ``stop_secs`` (s): from ``vad_settings`` (mapping/object) if given,
    else from the last ``local``/``agent`` row's ``detail['vad_settings']``; NaN if unknown."""
    for vs in (vad_settings, *_agent_vad(ev)):
        if vs is None:
            continue
        v = vs.get("stop_secs") if isinstance(vs, dict) else getattr(vs, "stop_secs", None)
        if v is not None:
            return float(v)
    return float("nan")


def _agent_vad(ev: pd.DataFrame) -> list:
    rows = subset(ev, "local", "agent")
    out = []
    for d in reversed(rows["detail"].tolist()):
        if isinstance(d, dict):
            vs = d.get("vad_settings")
            if vs is None and isinstance(d.get("agent"), dict):
                vs = d["agent"].get("vad_settings")
            out.append(vs)
    return out
