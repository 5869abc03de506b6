"""Sessions that last: save/load a call to a folder, and autosave it while the call runs.

Folder layout (all appended incrementally, so a crashed kernel leaves a loadable folder):

``meta.json``          ``{"format": "vatel_nb.session", "version": 1, "t0", "wall0" (ISO UTC),
                        "sample_rate": 24000, "agent", "meta", "interrupted"}`` (rewritten atomically)
``events.jsonl``       one row per line: ``{"t", "source", "type", <fields>…}`` (t: kernel s since t0)
``user.wav``           mono PCM16 24 kHz: the mic chunks as sent, concatenated
``user_index.jsonl``   per chunk ``{"t", "t_browser", "seq", "start", "samples"}`` (start/samples
                        in samples into user.wav; t kernel s; t_browser browser ms)
``agent.wav``          mono PCM16 24 kHz: the agent chunks as received, concatenated
``agent_index.jsonl``  per chunk ``{"t", "turn_id", "start", "samples", "dropped"}``
``clock.jsonl``        ping/pong samples ``[k_send s, t_browser ms, k_recv s]``

:func:`load_session` tolerates a partial folder: a truncated last line is skipped, audio
chunks whose samples never reached the WAV are dropped, a stale WAV header is ignored (the data
runs to the end of the file). What was skipped is listed in ``log.meta["load_warnings"]``.
"""

from __future__ import annotations

import json
import math
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from .._audio import HEADER_BYTES, wav_header
from ._audio import SAMPLE_RATE
from ._eventlog import EventLog

__all__ = ["FORMAT_VERSION", "Autosaver", "save_session"]

FORMAT_VERSION = 1


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        try:
            return obj.item()
        except (TypeError, ValueError):
            pass
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).decode("latin-1")
    return repr(obj)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), default=_jsonable)


class _Writer:
    """Appends what is new in a log to its folder (used by save_session and Autosaver)."""

    def __init__(self, log: EventLog, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        self.log, self.path = log, Path(path)
        if self.path.exists() and any(self.path.iterdir()) and not overwrite:
            raise FileExistsError(
                f"{self.path} already holds files; pick a new folder or pass overwrite=True"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        for name in ("events.jsonl", "user_index.jsonl", "agent_index.jsonl", "clock.jsonl"):
            (self.path / name).write_text("")
        for name in ("user.wav", "agent.wav"):
            (self.path / name).write_bytes(wav_header(0))
        self._n_rows = self._n_user = self._n_agent = self._n_clock = 0
        self._pos = {"user": 0, "agent": 0}
        self._meta_text = ""
        self._lock = threading.Lock()

    def flush(self) -> None:
        with self._lock:
            self._flush_audio("user", self.log.user_audio)
            self._flush_audio("agent", self.log.agent_audio)
            rows = self.log.rows(self._n_rows)
            if rows:
                with open(self.path / "events.jsonl", "a", encoding="utf-8") as f:
                    f.write(
                        "".join(
                            _dumps({"t": t, "source": s, "type": ty, **fl}) + "\n" for t, s, ty, fl in rows
                        )
                    )
                self._n_rows += len(rows)
            samples = self.log.clock.samples()[self._n_clock :]
            if samples:
                with open(self.path / "clock.jsonl", "a", encoding="utf-8") as f:
                    f.write("".join(_dumps(list(s)) + "\n" for s in samples))
                self._n_clock += len(samples)
            self._write_meta()

    def _flush_audio(self, name: str, track) -> None:
        start = self._n_user if name == "user" else self._n_agent
        stop = len(track)
        if stop <= start:
            return
        lines, chunks, pos = [], [], self._pos[name]
        times = track._t
        for i in range(start, stop):
            data = track.chunk_bytes(i)
            n = len(data) // 2
            entry: dict[str, Any] = {"t": times[i], "start": pos, "samples": n}
            if name == "user":
                tb = track._t_browser[i]
                entry["t_browser"] = None if math.isnan(tb) else tb
                entry["seq"] = track._seq[i]
            else:
                entry["turn_id"] = track._turn[i]
                entry["dropped"] = track._dropped[i]
            lines.append(_dumps(entry) + "\n")
            chunks.append(data)
            pos += n
        with open(self.path / f"{name}.wav", "r+b") as f:
            f.seek(
                HEADER_BYTES + 2 * self._pos[name]
            )  # an exact offset: a retried flush rewrites, never duplicates
            f.write(b"".join(chunks))
            f.seek(0)
            f.write(wav_header(pos))
        with open(self.path / f"{name}_index.jsonl", "a", encoding="utf-8") as f:
            f.write("".join(lines))
        self._pos[name] = pos
        if name == "user":
            self._n_user = stop
        else:
            self._n_agent = stop

    def _write_meta(self) -> None:
        log = self.log
        meta = {
            "format": "vatel_nb.session",
            "version": FORMAT_VERSION,
            "t0": log.t0,
            "wall0": log.wall0.isoformat(),
            "sample_rate": SAMPLE_RATE,
            "agent": log.meta.get("agent"),
            "meta": {k: v for k, v in log.meta.items() if k not in ("load_warnings", "path")},
            "interrupted": [[k, v] for k, v in log.agent_audio.interrupted.items()],
            "clock_window_s": log.clock.window_s,
        }
        text = json.dumps(meta, indent=1, default=_jsonable)
        if text != self._meta_text:
            tmp = self.path / "meta.json.tmp"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.path / "meta.json")
            self._meta_text = text


def save_session(log: EventLog, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write the whole log (events, both audio tracks with their timing, clock samples) to folder ``path``.

    Raises ``FileExistsError`` if the folder already holds files (unless ``overwrite=True``).
    Returns the folder path. Read it back with :func:`load_session`.
    """
    w = _Writer(log, path, overwrite=overwrite)
    w.flush()
    return w.path


class Autosaver:
    """Append new rows, audio and clock samples of ``log`` to folder ``path`` every ``interval`` s.

    Runs in a daemon thread (works while a notebook cell blocks). ``start()`` / ``stop()`` (final
    flush), or use it as a context manager. A failed flush is kept in ``.error`` and retried at the
    next tick; nothing already in the log is lost. The folder is loadable at any moment.
    """

    def __init__(
        self, log: EventLog, path: str | os.PathLike, interval: float = 1.0, *, overwrite: bool = False
    ):
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        self.log, self.interval = log, float(interval)
        self._writer = _Writer(log, path, overwrite=overwrite)
        self.path = self._writer.path
        self.error: BaseException | None = None
        self.flushes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def flush(self) -> None:
        """Write what is new now (also called by the thread every ``interval`` s)."""
        try:
            self._writer.flush()
            self.flushes += 1
            self.error = None
        except Exception as e:  # keep running: the next tick retries
            self.error = e
            raise

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:
                pass

    def start(self) -> Autosaver:
        """Start the background thread (idempotent). Returns self."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="vatel-autosave", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and write everything still pending."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.flush()

    def __enter__(self) -> Autosaver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
