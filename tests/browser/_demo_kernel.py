"""Kernel-side code of the browser demo test (imported by the generated notebook).

The real demo: an embedded :class:`~vatel_nb.simulator.Simulator` with its recognizer (pocketsphinx,
constrained to the demo agent's phrases) and the built-in demo agent, a ``get_time`` tool in the
kernel, and the widget, started on render with mic processing off (the fake mic reaches the
simulator unaltered). :func:`finish_demo` waits (``await``: comms keep flowing) until the agent's
answer to the time question has played in the page, ends the call and writes what the test checks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vatel_nb.session import VatelSession
from vatel_nb.simulator import DEMO_AGENT_ID, Simulator

CALLS: list[dict[str, Any]] = []
#: An answer that says a time ("In Tokyo it is 08:05.").
TIME_SAID = re.compile(r"\bit is \d\d:\d\d")


def get_time(timezone: str = "UTC") -> str:
    """The quickstart's tool: the time now (HH:MM) in an IANA zone; every call is recorded."""
    now = dt.datetime.now(ZoneInfo(timezone))
    CALLS.append({"timezone": timezone, "utc": dt.datetime.now(dt.timezone.utc).isoformat()})
    return now.strftime("%H:%M")


def start_demo() -> tuple[VatelSession, Simulator, Any]:
    sim = Simulator()  # asr="auto": pocketsphinx (the test extra installs it)
    sim.__enter__()
    session = VatelSession(
        DEMO_AGENT_ID, api_key=sim.api_key, base_url=sim.base_url, tools={"get_time": get_time}, verbose=False
    )
    widget = session.widget()
    widget.mic_processing = False
    widget.autostart = True
    return session, sim, widget


async def finish_demo(session: VatelSession, sim: Simulator, result: str, *, timeout_s: float) -> None:
    """Wait for a played answer that says a time (``timeout_s`` from the moment the call is live:
    the page may take long to render the widget on a loaded machine), end the call, write
    ``result`` (JSON)."""
    live_by = time.monotonic() + 120
    while session.status != "live" and time.monotonic() < live_by:
        await asyncio.sleep(0.1)
    deadline = time.monotonic() + timeout_s
    answer = None
    while time.monotonic() < deadline and session.status not in ("ended", "error"):
        rows = session.log.rows()
        texts = [r for r in rows if r[1] == "server" and r[2] == "response_text" and r[3].get("is_final")]
        answer = next((r for r in texts if TIME_SAID.search(r[3].get("text") or "")), None)
        if answer is not None:
            stopped = {r[3].get("turn_id") for r in rows if r[1] == "browser" and r[2] == "playback-stopped"}
            if answer[3].get("turn_id") in stopped:
                break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    session_id, status = session.session_id, session.status
    await session.end("test finished")
    ev = session.events
    keep = ev[
        ev["type"].isin(
            [
                "input_audio_transcript",
                "tool_call",
                "tool-finished",
                "response_text",
                "playback-started",
                "playback-stopped",
                "playback-flushed",
                "underrun",
                "interruption",
                "speech_started",
                "speech_stopped",
            ]
        )
    ]
    out = {
        "status_at_end": status,
        "error": session.error,
        "calls": CALLS,
        "events": json.loads(keep.to_json(orient="records", date_format="iso", default_handler=str)),
        "truth": sim.ground_truth(session_id).to_dict() if session_id else None,
    }
    tmp = Path(result + ".tmp")
    tmp.write_text(json.dumps(out, default=str))
    tmp.replace(result)
    sim.close()
    print("demo done", status)
