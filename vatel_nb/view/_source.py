"""What a call view shows: a live session, an event log, or a saved session folder (or a folder
holding several, like a suite's output), resolved to one :class:`~vatel_nb.log.EventLog`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..log import EventLog, load_session

__all__ = ["CallSource", "call_title", "find_session_folders", "resolve_source"]


@dataclass
class CallSource:
    """``log`` to show, a ``title``, and the ``session`` when it is a live one (else None)."""

    log: EventLog
    title: str
    session: Any = None

    @property
    def live(self) -> bool:
        """The session's call is connecting or running."""
        return self.session is not None and getattr(self.session, "status", "") in ("connecting", "live")

    @property
    def may_change(self) -> bool:
        """A session whose call has not finished (idle, connecting or live): the view follows it."""
        return self.session is not None and getattr(self.session, "status", "") not in ("ended", "error")


def call_title(log: EventLog, name: Any) -> str:
    """``"<name> · YYYY-MM-DD HH:MM UTC"`` (the call's start, from the log's wall clock)."""
    return f"{name or 'call'} · {log.wall0:%Y-%m-%d %H:%M} UTC"


def find_session_folders(folder: Path, depth: int = 3) -> list[Path]:
    """Session folders (holding ``meta.json``) at or below ``folder``, up to ``depth`` levels, sorted."""
    if (folder / "meta.json").is_file():
        return [folder]
    out: list[Path] = []
    if depth > 0:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            out += find_session_folders(sub, depth - 1)
    return out


def _from_folder(folder: Path, call: Any) -> CallSource:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder; give a session folder (with meta.json)")
    found = find_session_folders(folder)
    if not found:
        raise FileNotFoundError(
            f"no saved session under {folder} (no meta.json): save one with session.save(folder) "
            "or `vatel-nb call`"
        )
    if len(found) > 1 or call is not None:
        names = [str(p.relative_to(folder)) for p in found]
        if call is None:
            raise ValueError(
                f"{folder} holds {len(found)} calls ({', '.join(names[:8])}"
                f"{', …' if len(names) > 8 else ''}); "
                "pick one with call=<index or folder name>"
            )
        if isinstance(call, int) and not isinstance(call, bool):
            if not -len(found) <= call < len(found):
                raise IndexError(f"call={call}: {folder} holds {len(found)} calls (0…{len(found) - 1})")
            chosen = found[call]
        else:
            match = [p for p, n in zip(found, names, strict=True) if str(call) in (n, p.name)]
            if not match:
                raise KeyError(f"call={call!r} is not one of the calls in {folder}: {', '.join(names)}")
            chosen = match[0]
    else:
        chosen = found[0]
    log = load_session(chosen)
    return CallSource(log, call_title(log, chosen.name))


def resolve_source(source: Any, call: Any = None) -> CallSource:
    """A :class:`CallSource` from a session (``.log``), an :class:`EventLog`, or a folder path.

    ``call``: for a folder holding several saved calls, which one (index or folder name)."""
    if isinstance(source, (str, os.PathLike)):
        return _from_folder(Path(source), call)
    if isinstance(source, EventLog):
        return CallSource(source, call_title(source, source.meta.get("session_id")))
    log = getattr(source, "log", None)
    if isinstance(log, EventLog):
        name = getattr(source, "session_id", None) or log.meta.get("session_id")
        return CallSource(log, call_title(log, name), session=source if hasattr(source, "status") else None)
    raise TypeError(
        f"CallView shows a session, an EventLog or a saved session folder, got {type(source).__name__}"
    )
