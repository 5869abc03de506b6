"""What a call view shows, resolved to one call's :class:`~vatel_nb.log.EventLog`: a session (its
current call, followed live, or call ``call``), a :class:`~vatel_nb.log.Recording` (its calls), an
event log, a saved folder (one call, or ``calls.json`` + ``call-N/``), or a folder holding several
saved sessions (a suite's output: ``call`` picks one by folder name or number)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..log import EventLog, load_session

__all__ = ["CallSource", "call_title", "find_session_folders", "resolve_source"]

_RUNNING = ("connecting", "live")
_DONE = ("ended", "error")


def call_title(log: EventLog, name: Any) -> str:
    """``"<name> · YYYY-MM-DD HH:MM UTC"`` (the call's start, from the log's wall clock)."""
    return f"{name or 'call'} · {log.wall0:%Y-%m-%d %H:%M} UTC"


def _call_name(log: EventLog) -> str:
    info = log.meta.get("call")
    number = info.get("call") if isinstance(info, dict) else None
    sid = log.meta.get("session_id")
    return " · ".join(str(x) for x in (f"call {number}" if number else None, sid) if x) or "call"


@dataclass
class CallSource:
    """One call to show. ``fixed``: its log (saved calls, logs, a chosen call); else the session's
    current call (``session.log``, which moves on to the next call when one starts). ``entry``:
    the session's record of a chosen call (for its status)."""

    fixed: EventLog | None
    name: str | None = None
    session: Any = None
    entry: Any = None

    @property
    def log(self) -> EventLog:
        """The log shown now."""
        return self.fixed if self.fixed is not None else self.session.log

    @property
    def title(self) -> str:
        """``call_title`` of the log shown."""
        log = self.log
        return call_title(log, self.name or _call_name(log))

    @property
    def _status(self) -> str:
        if self.entry is not None:
            return str(getattr(self.entry, "status", ""))
        return str(getattr(self.session, "status", "")) if self.session is not None else "ended"

    @property
    def live(self) -> bool:
        """The call shown is connecting or running."""
        return self._status in _RUNNING

    @property
    def may_change(self) -> bool:
        """The view must follow this source: a session's current call (a new call may start at any
        time), or a chosen call that has not ended."""
        if self.session is None:
            return False
        return self.entry is None or self._status not in _DONE


def _is_recording(obj: Any) -> bool:
    return hasattr(obj, "entries") and callable(getattr(obj, "entry", None))


def find_session_folders(folder: Path, depth: int = 3) -> list[Path]:
    """Saved sessions (a folder with ``meta.json`` or ``calls.json``) at or below ``folder``, up to
    ``depth`` levels, sorted; a session's own ``call-N/`` folders are not listed apart."""
    if (folder / "meta.json").is_file() or (folder / "calls.json").is_file():
        return [folder]
    out: list[Path] = []
    if depth > 0:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            out += find_session_folders(sub, depth - 1)
    return out


def _pick(found: list[Path], folder: Path, call: Any) -> Path:
    names = [str(p.relative_to(folder)) for p in found]
    if call is None:
        raise ValueError(
            f"{folder} holds {len(found)} saved calls ({', '.join(names[:8])}"
            f"{', …' if len(names) > 8 else ''}); pick one with call=<folder name or number 1…{len(found)}>"
        )
    if isinstance(call, int) and not isinstance(call, bool):
        if not (1 <= call <= len(found) or -len(found) <= call <= -1):
            raise IndexError(f"call={call}: {folder} holds {len(found)} saved calls (1…{len(found)})")
        return found[call - 1 if call > 0 else call]
    match = [p for p, n in zip(found, names, strict=True) if str(call) in (n, p.name)]
    if not match:
        raise KeyError(f"call={call!r} is not one of the saved calls in {folder}: {', '.join(names)}")
    return match[0]


def _from_folder(folder: Path, call: Any) -> CallSource:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; give a saved session folder")
    found = find_session_folders(folder)
    if not found:
        raise FileNotFoundError(
            f"no saved session under {folder} (no meta.json or calls.json): save one with "
            "session.save(folder) or `vatel-nb call`"
        )
    if found == [folder]:
        chosen, inner = folder, call
    elif len(found) == 1 and call is None:
        chosen, inner = found[0], None
    else:
        chosen, inner = _pick(found, folder, call), None
    loaded = load_session(chosen)
    if _is_recording(loaded):
        entry = _entry(loaded, inner)
        return CallSource(entry.log, f"{chosen.name} · call {entry.call}")
    if inner is not None and chosen == folder:
        raise KeyError(f"call={inner!r}: {folder} holds one call (omit call=)")
    return CallSource(loaded, chosen.name)


def _entry(recording: Any, call: Any) -> Any:
    try:
        return recording.entry(call)
    except KeyError as e:
        raise KeyError(f"{e.args[0] if e.args else e}") from None


def resolve_source(source: Any, call: Any = None) -> CallSource:
    """A :class:`CallSource` from a session, a Recording, an :class:`EventLog`, or a folder path.

    ``call``: which call — a call number (1, 2, …; default the last / current one) of a session or
    a multi-call folder, or a folder name / number among the saved sessions of a bigger folder."""
    if isinstance(source, (str, os.PathLike)):
        return _from_folder(Path(source), call)
    if isinstance(source, EventLog):
        if call is not None:
            raise KeyError(f"call={call!r}: an EventLog holds one call (omit call=)")
        return CallSource(source)
    if _is_recording(source):
        entry = _entry(source, call)
        return CallSource(entry.log, f"call {entry.call}")
    log = getattr(source, "log", None)
    if isinstance(log, EventLog):
        recording = getattr(source, "recording", None)
        if call is not None:
            if not _is_recording(recording):
                raise KeyError(f"call={call!r}: this session keeps one call (omit call=)")
            entry = _entry(recording, call)
            return CallSource(entry.log, session=source, entry=entry)
        if hasattr(source, "status"):  # a live session: follow its current call
            return CallSource(None, session=source)
        return CallSource(log)
    raise TypeError(
        "CallView shows a session, a Recording, an EventLog or a saved session folder, "
        f"got {type(source).__name__}"
    )
