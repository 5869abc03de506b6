"""Kernel side of the kernel-audio browser test: a session on the embedded simulator (pocketsphinx
hears the user) whose widget the page switches to the kernel's devices; the result is written as
JSON once the page ended the call."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any


def start() -> tuple[Any, Any]:
    """The session (embedded simulator, demo agent) and its widget; nothing starts on render."""
    from vatel_nb import VatelSession

    session = VatelSession(verbose=False)
    return session, session.widget()


async def finish(session: Any, widget: Any, path: str, timeout_s: float) -> None:
    """Wait until a call was made and has ended, then write what the test checks to ``path``."""
    from vatel_nb.analysis import turns

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if len(session.recording) and session.status in ("ended", "error"):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    log = session.log
    ev = log.frame()
    browser = ev[ev["source"] == "browser"]
    timed = browser[browser["t_browser"].notna()]
    td = turns(log)
    data = {
        "calls": len(session.recording),
        "status": session.status,
        "error": session.error,
        "audio_source": widget.audio_source,
        "kernel_audio": widget.kernel_audio,
        "frontend": log.meta.get("frontend"),
        "clocks": sorted({str(c) for c in timed["clock"].dropna()}),
        "types": {str(k): int(v) for k, v in browser["type"].value_counts().items() if v},
        "user_finals": [
            str(t)
            for t in ev[(ev["type"] == "input_audio_transcript") & (ev["is_final"] == True)]["text"]  # noqa: E712
        ],
        "v2v_ms": [float(v) for v in td["v2v_ms"].dropna()],
        "transcript": session.transcript,
    }
    local = widget._kernel.local if widget._kernel is not None else None
    if local is not None:
        data["device_stats"] = {
            "blocks": local.blocks,
            "xruns": local.xruns,
            "callback_errors": local.callback_errors,
            "last_callback_error": local.last_callback_error,
            "playing": local.core.playing,
        }
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps(data, default=str))
    os.replace(tmp, path)
