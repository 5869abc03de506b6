"""Several calls side by side."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..log import EventLog, Recording, load_session
from ._summary import summary
from ._turns import turns

__all__ = ["compare_sessions"]


def _as_log(item: Any) -> EventLog | Recording:
    """One call's log, or the calls of a session / multi-call folder (a :class:`Recording`)."""
    if isinstance(item, (str, os.PathLike)):
        return load_session(item)
    if isinstance(item, (EventLog, Recording)):
        return item
    rec = getattr(item, "recording", None)
    if isinstance(rec, Recording) and len(rec):
        return rec
    log = getattr(item, "log", None)
    if not isinstance(log, EventLog):
        raise TypeError(
            "compare_sessions takes session folders, EventLogs, Recordings or sessions; "
            f"got {type(item).__name__}"
        )
    return log


def _frames(log: EventLog | Recording, turns_kwargs: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events, turns) of one call, or of every call of a recording (``call`` column)."""
    if isinstance(log, Recording):
        return log.events(), turns(log, **turns_kwargs)
    ev = log.frame()
    return ev, turns(ev, user_audio=log.user_audio, agent_audio=log.agent_audio, **turns_kwargs)


def compare_sessions(
    sessions: Sequence[Any],
    labels: Sequence[str] | None = None,
    *,
    what: str = "summary",
    **turns_kwargs: Any,
) -> pd.DataFrame:
    """Compare calls: ``sessions`` are saved folders (paths), loaded/live EventLogs, or sessions.
    A session or a folder of several calls counts as one item: all its calls pooled.

    ``what="summary"`` (default): one row per metric, columns ``(label, stat)`` — each call's
    :func:`summary` side by side — plus ``("unit", "")``. ``what="turns"``: every call's
    :func:`turns` concatenated with a leading ``session`` column (the label). ``what="long"``:
    the summaries stacked with a ``session`` column. Labels default to the folder name, the
    ``session_id`` or ``call i``.
    """
    if what not in ("summary", "turns", "long"):
        raise ValueError(f"what must be 'summary', 'turns' or 'long', got {what!r}")
    logs = [_as_log(s) for s in sessions]
    if labels is None:
        labels = []
        for i, (s, log) in enumerate(zip(sessions, logs, strict=True)):
            if isinstance(s, (str, os.PathLike)):
                labels.append(os.path.basename(os.path.normpath(s)))
            else:
                meta = log.log().meta if isinstance(log, Recording) else log.meta
                labels.append(str(meta.get("session_id") or f"call {i}"))
    if len(labels) != len(logs):
        raise ValueError(f"got {len(labels)} labels for {len(logs)} sessions")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must be unique, got {list(labels)}")
    parts = []
    for label, log in zip(labels, logs, strict=True):
        ev, td = _frames(log, turns_kwargs)
        if what == "turns":
            parts.append(td.assign(session=label))
        else:
            parts.append(summary(td, ev).assign(session=label))
    if what == "turns":
        out = pd.concat(parts, ignore_index=True)
        return out[["session", *[c for c in out.columns if c != "session"]]]
    long = pd.concat(parts)
    if what == "long":
        return long.reset_index()[["session", "metric", *[c for c in long.columns if c != "session"]]]
    stats = ["n", "p50", "p90", "p95", "min", "max", "mean", "value"]
    wide = pd.concat({label: part[stats] for label, part in zip(labels, parts, strict=True)}, axis=1)
    wide[("unit", "")] = parts[0]["unit"]
    return wide
