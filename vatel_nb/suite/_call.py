"""One call of a suite: a scripted headless call, its session folder, turns, summary and checks.

Everything a call produces is per call — its own event log and clock (``t0`` on the machine that
ran it, ``wall0`` UTC), its folder, its rows — so calls run by many processes or machines merge
into one dataset without reconciling clocks. :func:`run_call` is a coroutine: many run on one loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import io
import math
import os
import socket
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._expect import check_call
from ._schema import Line, Scenario, Suite

__all__ = ["CallResult", "CallSpec", "Target", "pacing_ms", "run_call", "warm_audio"]

_FRAME_S = 0.02  # the headless caller's mic frame (20 ms)


@dataclass(frozen=True)
class Target:
    """Where calls go: ``base_url`` + ``api_key``, and the agent id of each scenario (the same id
    for all on a real service; one scripted twin of the demo agent per scenario on the simulator)."""

    base_url: str
    api_key: str
    agents: dict[str, str]
    simulated: bool = False


@dataclass(frozen=True)
class CallSpec:
    """One call to make: ``repeat`` (0-based) of ``scenario`` in run ``run_id`` of ``suite``."""

    suite: Suite
    scenario: str
    repeat: int
    run_id: str
    target: Target

    @property
    def call_id(self) -> str:
        """``<scenario>-<repeat:03d>``: unique within a run (the session folder's name)."""
        return f"{self.scenario}-{self.repeat:03d}"


@dataclass
class CallResult:
    """What one call produced: ``call`` (one row of the calls table), ``turns`` (its turns, keyed),
    ``expectations`` (its behaviour checks, keyed), and the session folder — ``folder`` when written
    in place, else ``archive`` (a tar of it, for results coming back from another machine)."""

    call: dict[str, Any]
    turns: pd.DataFrame
    expectations: list[dict[str, Any]]
    folder: Path | None = None
    archive: bytes | None = field(default=None, repr=False)

    def unpack(self, folder: Path) -> Path:
        """Write the archived session folder into ``folder`` (if it came as an archive)."""
        if self.archive is not None:
            folder.mkdir(parents=True, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(self.archive), mode="r") as tar:
                tar.extractall(folder, filter="data")
            self.archive = None
        self.folder = folder
        return folder


def pacing_ms(events: pd.DataFrame, t0: float) -> np.ndarray:
    """Caller-side pacing of each mic frame (ms): how late it was handed to the session after its
    last sample was due (scheduled capture time + 20 ms), on the caller's ``perf_counter`` clock."""
    mic = events[(events["source"] == "browser") & (events["type"] == "mic-captured")]
    if mic.empty:
        return np.zeros(0)
    due = mic["t_browser"].to_numpy(dtype=float) / 1e3 - t0 + _FRAME_S
    return (mic["t"].to_numpy(dtype=float) - due) * 1e3


def get_time(timezone: str = "UTC") -> str:
    """The default client tool: the current time (HH:MM) in an IANA time zone."""
    from ..cli._call import get_time as clock

    return clock(timezone)


def resolve_tools(spec: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """``[tools]`` of a suite → ``{name: function}`` (``"module:function"`` or a fixed output)."""
    if not spec:
        return {"get_time": get_time}
    out: dict[str, Callable[..., Any]] = {}
    for name, value in spec.items():
        if isinstance(value, dict):
            text = str(value["output"])
            out[name] = lambda _text=text, **_kw: _text
            continue
        mod, _, attr = str(value).partition(":")
        try:
            fn = getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as e:
            raise ValueError(f"[tools] {name} = {value!r}: cannot import it ({e})") from None
        out[name] = fn
    return out


def _utterances(lines: tuple[Line, ...], cache: dict[str, Any]) -> list[Any]:
    """The lines as caller utterances, audio synthesized/read once per process (``cache``)."""
    from ..caller import Utterance, load_utterance_audio

    out = []
    for ln in lines:
        key = f"wav:{ln.wav}" if ln.wav else f"say:{ln.text}"
        if key not in cache:
            src = Utterance(audio=ln.wav) if ln.wav else Utterance.say(str(ln.text))
            cache[key] = load_utterance_audio(src)
        out.append(Utterance(audio=cache[key], think=ln.think, barge_in=ln.barge_in, text=ln.text))
    return out


_AUDIO: dict[str, Any] = {}
_AUDIO_LOCK = threading.Lock()  # espeak-ng is not thread-safe: one synthesis at a time per process


def _call_row(
    spec: CallSpec, sc: Scenario, log: Any, session: Any, turns: pd.DataFrame, started: float
) -> dict:
    from ..analysis import LATENCY_COLUMNS

    ev = log.frame()
    pace = pacing_ms(ev, log.t0)
    ended_by_agent = bool(((ev["source"] == "server") & (ev["type"] == "session_ended")).any())
    user = turns[turns["outcome"] != "agent-initiated"]
    row: dict[str, Any] = {
        "repeat": spec.repeat,
        "call_id": spec.call_id,
        "session_id": str(log.meta.get("session_id") or ""),
        "status": str(session.status),
        "error": str(session.error or ""),
        "ended_by": "agent" if ended_by_agent else ("error" if session.status == "error" else "caller"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "wall_start": pd.Timestamp(log.wall0),
        "duration_s": float(ev["t"].max()) if len(ev) else 0.0,
        "elapsed_s": float(started),  # run_call start → call over (s, perf_counter)
        "lines": len(sc.lines),
        "turns": len(turns),
        "user_turns": len(user),
        **{
            f"n_{o.replace('-', '_')}": int((turns["outcome"] == o).sum())
            for o in sorted(set(turns["outcome"]))
        },
        "pacing_p50_ms": float(np.percentile(pace, 50)) if len(pace) else math.nan,
        "pacing_p99_ms": float(np.percentile(pace, 99)) if len(pace) else math.nan,
        "pacing_max_ms": float(pace.max()) if len(pace) else math.nan,
        "mic_frames": len(pace),
    }
    for col in LATENCY_COLUMNS:
        v = turns[col].dropna() if col in turns else pd.Series(dtype=float)
        row[f"{col[:-3]}_p50_ms"] = float(v.median()) if len(v) else math.nan
    return row


def _archive(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for p in sorted(folder.iterdir()):
            tar.add(p, arcname=p.name)
    return buf.getvalue()


async def run_call(spec: CallSpec, folder: Path | None = None) -> CallResult:
    """Make the call in real time and analyse it. ``folder``: where its session folder goes;
    None = a temporary folder returned as an archive (a remote worker). A call that fails (the
    server refused, the socket dropped) still returns its rows, with ``status="error"``."""
    from ..caller import ScriptedCaller
    from ..session import VatelSession

    sc = spec.suite.scenario(spec.scenario)
    t = spec.target
    tmp = None
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="vatel-suite-")
        folder = Path(tmp.name) / spec.call_id
    session = VatelSession(
        t.agents[sc.name],
        api_key=t.api_key,
        base_url=t.base_url,
        tools=resolve_tools(spec.suite.tools),
        verbose=False,
    )
    session.log.meta["suite"] = {
        "suite": spec.suite.name,
        "run": spec.run_id,
        "scenario": sc.name,
        "repeat": spec.repeat,
        "call_id": spec.call_id,
    }
    caller = ScriptedCaller(
        session,
        _utterances(sc.lines, _AUDIO),
        wait_greeting=sc.wait_greeting,
        reply_timeout=spec.suite.reply_timeout,
        max_duration=spec.suite.max_duration,
        tail=spec.suite.tail,
    )
    t_begin = time.perf_counter()
    failure = ""
    try:
        await caller.run()
    except Exception as e:
        failure = f"{type(e).__name__}: {e}"
        session.log.append("local", "error", text=failure)
    started = time.perf_counter() - t_begin
    # The analysis and the files are CPU work: off the loop, so the other calls keep their pace,
    # and in ONE thread per process: with a thread per finished call, the loop would queue for
    # the interpreter lock behind all of them (20 calls ending together stalled pacing ~0.5 s).
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _analysis_thread(), _finish, spec, sc, session, folder, tmp, started, failure
    )


_EXECUTOR: concurrent.futures.ThreadPoolExecutor | None = None


def _analysis_thread() -> concurrent.futures.ThreadPoolExecutor:
    global _EXECUTOR
    with _AUDIO_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="vatel-suite-analysis")
        return _EXECUTOR


def _finish(
    spec: CallSpec, sc: Scenario, session: Any, folder: Path, tmp: Any, started: float, failure: str
) -> CallResult:
    from ..analysis import turns as turns_of
    from ..log import save_session

    log = session.log
    save_session(log, folder, overwrite=True)
    td = turns_of(log)
    ev = log.frame()
    td.to_csv(folder / "turns.csv", index=False)
    row = _call_row(spec, sc, log, session, td, started)
    if failure:
        row["status"], row["error"] = "error", failure
    checks = check_call(sc, td, ev)
    row["expectations_failed"] = sum(not c["passed"] for c in checks)
    key = {"repeat": spec.repeat, "call_id": spec.call_id}
    for c in checks:
        c.update(key)
    turns_rows = td.assign(**key)
    if tmp is not None:
        archive = _archive(folder)
        tmp.cleanup()
        return CallResult(row, turns_rows, checks, archive=archive)
    return CallResult(row, turns_rows, checks, folder=folder)


def warm_audio(suite: Suite) -> None:
    """Synthesize/read every line of ``suite`` once in this process (before calls start, so no
    call stalls the loop on it)."""
    # Also import what a finished call needs now: a first import inside a call's analysis
    # (extension modules load holding the interpreter lock) would stall every call's mic pacing.
    from .. import analysis, log  # noqa: F401
    from . import _store  # noqa: F401

    with _AUDIO_LOCK:
        for sc in suite.scenarios:
            _utterances(sc.lines, _AUDIO)
