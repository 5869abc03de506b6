"""Many calls of one session: each call keeps its own :class:`EventLog`, whose ``t0`` is that call's start.

:class:`Recording` holds them in order (call ids 1, 2, …) with each call's status and end reason.
``recording.calls`` is one row per call; ``recording.events()`` all rows with a ``call`` column
(``call=`` picks one). In every call's rows ``t`` is seconds since *that call* started (kernel
clock), so two calls never share a time axis.

Saved layout (``save`` / an autosaving session): the folder holds ``calls.json`` (format
``vatel_nb.calls``, the call ids with status and end reason) and one sub-folder per call,
``call-1/``, ``call-2/``, …, each a single-call folder as :func:`save_session` writes it.
:func:`~vatel_nb.log.load_session` on such a folder returns a :class:`Recording`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._eventlog import EventLog

__all__ = ["CALLS_COLUMNS", "CallEntry", "Recording", "call_folder", "write_calls_index"]

#: Columns of :attr:`Recording.calls`.
CALLS_COLUMNS = ("call", "start", "end", "duration_s", "status", "end_reason", "session_id", "events")
CALLS_FORMAT = "vatel_nb.calls"


@dataclass
class CallEntry:
    """One call: its id (1, 2, …), its log (``t0`` = the call's start), status and end reason."""

    call: int
    log: EventLog
    status: str = "connecting"
    end_reason: str | None = None

    def info(self) -> dict[str, Any]:
        """``{call, status, end_reason}`` as saved in ``calls.json`` and ``log.meta['call']``."""
        return {"call": self.call, "status": self.status, "end_reason": self.end_reason}


def call_folder(root: str | os.PathLike[str], call: int) -> Path:
    """The sub-folder of call ``call`` in a saved multi-call folder."""
    return Path(root) / f"call-{int(call)}"


def write_calls_index(root: str | os.PathLike[str], entries: list[CallEntry]) -> None:
    """(Re)write ``calls.json`` of a multi-call folder atomically."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"format": CALLS_FORMAT, "version": 1, "calls": [e.info() for e in entries]}, indent=1)
    tmp = root / "calls.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, root / "calls.json")


class Recording:
    """The calls of one session, in order. Analysis functions accept it (``turns(recording)``)."""

    def __init__(self, entries: list[CallEntry] | None = None) -> None:
        self.entries: list[CallEntry] = list(entries or [])

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[CallEntry]:
        return iter(self.entries)

    def add(self, log: EventLog) -> CallEntry:
        """Append a new call recorded into ``log``; returns its entry (id = previous + 1)."""
        entry = CallEntry(len(self.entries) + 1, log)
        log.meta["call"] = entry.info()
        self.entries.append(entry)
        return entry

    def entry(self, call: int | None = None) -> CallEntry:
        """Call ``call`` (1-based id; None = the last one). Raises ``KeyError`` saying which exist."""
        if not self.entries:
            raise KeyError("no call yet: start one (session.start() or the widget's Start button)")
        if call is None:
            return self.entries[-1]
        for e in self.entries:
            if e.call == call:
                return e
        raise KeyError(f"no call {call!r}; calls are {[e.call for e in self.entries]}")

    def log(self, call: int | None = None) -> EventLog:
        """The log of call ``call`` (default: the last call)."""
        return self.entry(call).log

    def select(self, call: int | None) -> list[CallEntry]:
        """All calls (``call=None``) or just that one, as a list."""
        return list(self.entries) if call is None else [self.entry(call)]

    # ------------------------------------------------------------------ frames

    @property
    def calls(self) -> pd.DataFrame:
        """One row per call: ``call`` (id), ``start``/``end`` (UTC datetimes: the call's start and its
        ``local/closed`` row, else its last row), ``duration_s``, ``status`` (connecting | live |
        ended | error), ``end_reason`` (a sentence), ``session_id`` (the server's), ``events`` (rows)."""
        rows = []
        for e in self.entries:
            log = e.log
            n = len(log)
            closed = [r[0] for r in log.rows(max(0, n - 50)) if r[1] == "local" and r[2] == "closed"]
            last = closed[-1] if closed else (max((r[0] for r in log.rows(max(0, n - 50))), default=0.0))
            ended = e.status in ("ended", "error")
            rows.append(
                {
                    "call": e.call,
                    "start": pd.Timestamp(log.wall0),
                    "end": pd.Timestamp(log.wall(last)) if ended else pd.NaT,
                    "duration_s": float(last) if ended else float("nan"),
                    "status": e.status,
                    "end_reason": e.end_reason,
                    "session_id": log.meta.get("session_id"),
                    "events": n,
                }
            )
        df = pd.DataFrame(rows, columns=list(CALLS_COLUMNS))
        df["call"] = df["call"].astype("int64")
        df["start"] = pd.to_datetime(df["start"], utc=True)
        df["end"] = pd.to_datetime(df["end"], utc=True)
        for c in ("status", "end_reason", "session_id"):
            df[c] = df[c].astype(pd.StringDtype())
        df["events"] = df["events"].astype("int64")
        return df

    def events(self, call: int | None = None) -> pd.DataFrame:
        """Rows of every call (or of call ``call``) with a ``call`` column first; ``t`` is seconds
        since that call started (kernel clock). Sorted by call, then ``t``."""
        frames = []
        for e in self.select(call):
            f = e.log.frame()
            f.insert(0, "call", pd.Series([e.call] * len(f), index=f.index, dtype="int64"))
            frames.append(f)
        if not frames:
            from ._schema import empty_frame

            f = empty_frame()
            f.insert(0, "call", pd.Series([], dtype="int64"))
            return f
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        out.attrs["t"] = "kernel s since the call's start"
        return out

    # ------------------------------------------------------------------ save / load

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write every call to ``path/call-N/`` plus ``path/calls.json``; returns the folder."""
        from ._store import save_session

        root = Path(path)
        if root.exists() and any(root.iterdir()) and not overwrite:
            raise FileExistsError(f"{root} already holds files; pick a new folder or pass overwrite=True")
        for e in self.entries:
            e.log.meta["call"] = e.info()
            save_session(e.log, call_folder(root, e.call), overwrite=overwrite)
        write_calls_index(root, self.entries)
        return root

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recording:
        """Read a multi-call folder (see the module docstring)."""
        from ._load import load_session

        root = Path(path)
        index = json.loads((root / "calls.json").read_text(encoding="utf-8"))
        if index.get("format") != CALLS_FORMAT:
            raise ValueError(
                f"{root}/calls.json is not a vatel_nb calls index (format={index.get('format')!r})"
            )
        entries = []
        for info in index.get("calls") or []:
            folder = call_folder(root, info["call"])
            if not (folder / "meta.json").exists():
                continue  # a call that started but never wrote anything (crash at once)
            log = load_session(folder)
            saved = log.meta.get("call") if isinstance(log.meta.get("call"), dict) else {}
            status = info.get("status") or saved.get("status") or "ended"
            reason = info.get("end_reason") or saved.get("end_reason")
            entries.append(CallEntry(int(info["call"]), log, status, reason))
        return cls(entries)

    def __repr__(self) -> str:
        return f"Recording({len(self.entries)} call(s))"
