"""Kernel-side code of the browser conversation test (imported by the generated notebook).

Starts an embedded :class:`~vatel_nb.simulator.Simulator` with a deterministic scripted agent (scripted
transcription, fixed replies, no injected delay), a :class:`~vatel_nb.session.VatelSession` against it
(with an explicit API key, so the key is a secret the page must never see) and its widget, set to
start on render with mic processing off. :func:`finish_call` waits (``await``, so comms keep flowing)
until the agent has answered every user utterance of the first pass, ends the call and writes what
the test checks: events, turns, the simulator's ground truth, the captured user audio.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from vatel_nb.session import VatelSession
from vatel_nb.simulator import Latency, Reply, Simulator


def start_call(
    script: list[str],
    replies: list[str],
    *,
    vad: dict[str, float] | None = None,
    latency: Latency | None = None,
    voice: str = "auto",
    widget_traits: dict[str, Any] | None = None,
    profile: str | None = None,
    autostart: bool = True,
    seed: int | None = None,
) -> tuple[VatelSession, Simulator, Any]:
    """(session, simulator, widget): the ``n``-th user turn is answered with ``replies[n]``
    (the last reply repeats). ``widget_traits``: extra trait values for the widget (e.g. jitter_ms).
    ``profile``: the simulator's wire profile (``vendor``, the default, or ``spec``). ``seed``: the
    simulator's seed (the same response chunks in every run)."""

    def reply(transcript: str, history: list[dict[str, Any]]) -> Reply:
        n = sum(1 for h in history if h.get("role") == "user")
        return Reply(replies[min(n, len(replies)) - 1])

    sim = Simulator(asr="scripted", latency=latency or Latency(), voice=voice, profile=profile, seed=seed)
    sim.__enter__()
    agent = sim.add_agent(
        "Scripted agent",
        reply=reply,
        script=script,
        vad_settings=vad or {"start_secs": 0.1, "stop_secs": 0.4},
    )
    session = VatelSession(agent, api_key=sim.api_key, base_url=sim.base_url, verbose=False)
    widget = session.widget()
    widget.mic_processing = False  # the fake mic must reach the simulator unaltered
    for key, value in (widget_traits or {}).items():
        setattr(widget, key, value)
    widget.autostart = autostart
    return session, sim, widget


def _token(session: VatelSession, sim: Simulator) -> str | None:
    """The session token the call used (the one secret besides the API key the session scrubs)."""
    tokens = [s for s in session._settings.secrets if s and s != sim.api_key]
    return tokens[-1] if tokens else None


async def finish_calls(
    session: VatelSession, sim: Simulator, result: str, *, calls: int, timeout_s: float
) -> None:
    """Wait until ``calls`` calls have been made and ended from the page (Start … End, twice),
    then write ``result`` (JSON): ``session.calls``, ``turns()``, per-call event time ranges."""
    deadline = time.monotonic() + timeout_s
    timed_out = False
    while not (len(session.recording) >= calls and session.status in ("ended", "error")):
        if time.monotonic() > deadline:
            timed_out = True
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # late page reports (status ended) land in the last call
    ev = session.events
    out: dict[str, Any] = {
        "timed_out": timed_out,
        "calls": _rows(session.calls),
        "turns": _rows(session.turns()),
        "t_range": {str(c): [float(g["t"].min()), float(g["t"].max())] for c, g in ev.groupby("call")},
        "types": {
            str(c): sorted({f"{s}/{t}" for s, t in zip(g["source"], g["type"], strict=True)})
            for c, g in ev.groupby("call")
        },
        "summary_turns": float(session.summary().loc["turns", "value"]),
        "repr_html": session._repr_html_(),
    }
    tmp = Path(result + ".tmp")
    tmp.write_text(json.dumps(out, default=str))
    tmp.replace(result)
    sim.close()
    print("calls done:", len(session.recording), session.status)


def _rows(df: Any) -> list[dict[str, Any]]:
    return json.loads(df.to_json(orient="records", date_format="iso", default_handler=str))


def _events(session: VatelSession, source: str, type_: str) -> list[tuple]:
    return [r for r in session.log.rows() if r[1] == source and r[2] == type_]


async def finish_call(
    session: VatelSession,
    sim: Simulator,
    widget: Any,
    result: str,
    *,
    replies_expected: int,
    timeout_s: float,
) -> None:
    """Wait until ``replies_expected`` agent turns have stopped or been flushed in the page (or
    ``timeout_s``), end the call, write ``result`` (JSON) and ``result + '.pcm'`` (user audio sent)."""
    deadline = time.monotonic() + timeout_s
    timed_out = False
    while True:
        done = _events(session, "browser", "playback-stopped") + _events(
            session, "browser", "playback-flushed"
        )
        if len({r[3].get("turn_id") for r in done}) >= replies_expected or session.status in (
            "ended",
            "error",
        ):
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # late playback reports
    session_id = session.session_id
    status_live = session.status
    await session.end("test finished")
    await asyncio.sleep(0.2)
    out: dict[str, Any] = {
        "timed_out": timed_out,
        "status_at_end": status_live,
        "status": session.status,
        "error": session.error,
        "session_id": session_id,
        "t0": session.log.t0,
        "secrets": {"api_key": sim.api_key, "token": _token(session, sim)},
        "kernel_traits": {
            name: getattr(widget, name)
            for name in widget.class_trait_names(sync=True)
            if not name.startswith("_")
        },
        "stats": session.stats(),
    }
    try:
        out["events"] = _rows(session.events)
    except Exception as exc:
        out["events_error"] = repr(exc)
    try:
        out["turns"] = _rows(session.turns())
    except Exception as exc:
        out["turns_error"] = repr(exc)
    try:
        out["truth"] = sim.ground_truth(session_id).to_dict() if session_id else None
    except Exception as exc:
        out["truth_error"] = repr(exc)
    ua = session.log.user_audio
    out["user_audio"] = {
        "t_browser": [None if np.isnan(x) else float(x) for x in np.asarray(ua.t_browser(), dtype=float)],
        "samples": [int(x) for x in ua.sample_counts()],
        "t": [float(x) for x in ua.times()],
    }
    Path(result + ".pcm").write_bytes(np.asarray(ua.pcm(), dtype="<i2").tobytes())
    tmp = Path(result + ".tmp")
    tmp.write_text(json.dumps(out, default=str))
    tmp.replace(result)
    sim.close()
    print("conversation done:", "timed out" if timed_out else "complete", session.status)
