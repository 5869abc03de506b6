"""Reading a session folder (see :mod:`vatel_nb.log._store` for the layout) back into an EventLog."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from .._audio import read_wav
from ._eventlog import EventLog
from ._store import FORMAT_VERSION

__all__ = ["load_session"]


def _read_jsonl(path: Path, warnings: list[str]) -> list[Any]:
    if not path.exists():
        warnings.append(f"{path.name} missing")
        return []
    out = []
    lines = path.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            last = i == len(lines) - 1 or not any(x.strip() for x in lines[i + 1 :])
            warnings.append(
                f"{path.name} line {i + 1}: {'truncated last line' if last else 'bad JSON'} skipped"
            )
    return out


def load_session(path: str | os.PathLike) -> Any:
    """Read a folder written by :func:`save_session` / :class:`Autosaver` back into an :class:`EventLog`.

    A session folder with several calls (``calls.json`` and ``call-1/``, ``call-2/``, … as
    ``VatelSession.save`` and its autosave write them) gives a :class:`~vatel_nb.log.Recording`
    instead: the calls kept apart, each with its own log; ``load_session(path / "call-2")`` reads
    one call.

    The result has the saved ``t0``/``wall0``, rows, audio tracks (with timing, turn ids and
    dropped flags) and clock samples, so ``load_session(p).frame()`` equals the original frame.
    ``log.meta["path"]`` is the folder; ``log.meta["load_warnings"]`` lists anything skipped.
    """
    folder = Path(path)
    if (folder / "calls.json").exists() and not (folder / "meta.json").exists():
        from ._recording import Recording

        return Recording.load(folder)
    if not (folder / "meta.json").exists():
        raise FileNotFoundError(
            f"{folder} has no meta.json: not a vatel_nb session folder (see save_session)"
        )
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format") != "vatel_nb.session":
        raise ValueError(f"{folder}/meta.json is not a vatel_nb session (format={meta.get('format')!r})")
    if int(meta.get("version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"{folder} was written by a newer vatel_nb (format {meta['version']}); "
            "upgrade vatel_nb to read it"
        )
    warnings: list[str] = []
    log = EventLog(
        t0=meta["t0"],
        wall0=datetime.fromisoformat(meta["wall0"]),
        clock_window_s=meta.get("clock_window_s", 10.0),
    )
    log.meta.update(meta.get("meta") or {})
    if meta.get("agent") is not None:
        log.meta["agent"] = meta["agent"]
    rows = []
    for obj in _read_jsonl(folder / "events.jsonl", warnings):
        try:
            t, source, type_ = obj.pop("t"), obj.pop("source"), obj.pop("type")
        except (KeyError, AttributeError):
            warnings.append("events.jsonl: a row without t/source/type skipped")
            continue
        rows.append((t, source, type_, obj))
    log.extend_rows(rows)
    for name, track in (("user", log.user_audio), ("agent", log.agent_audio)):
        wav = folder / f"{name}.wav"
        data = read_wav(wav)[0] if wav.exists() else b""
        total, expected = len(data) // 2, 0
        for entry in _read_jsonl(folder / f"{name}_index.jsonl", warnings):
            start, n = int(entry["start"]), int(entry["samples"])
            if start < expected:  # written twice by a retried flush
                continue
            expected = start + n
            if start + n > total:
                warnings.append(f"{name}.wav: chunk at sample {start} incomplete, dropped")
                break
            pcm = data[2 * start : 2 * (start + n)]
            if name == "user":
                track.append(entry["t"], pcm, t_browser=entry.get("t_browser"), seq=entry.get("seq"))
            else:
                track._chunks.append(pcm)
                track._turn.append(entry.get("turn_id"))
                track._dropped.append(bool(entry.get("dropped", False)))
                track._t.append(float(entry["t"]))
    for turn_id, t in meta.get("interrupted") or []:
        log.agent_audio._interrupted[turn_id] = t
    for s in _read_jsonl(folder / "clock.jsonl", warnings):
        try:
            log.clock.add_sample(*s)
        except (TypeError, ValueError):
            warnings.append("clock.jsonl: a bad sample skipped")
    log.meta["path"] = str(folder)
    if warnings:
        log.meta["load_warnings"] = warnings
    return log
