"""The demo you can talk to, proven in a real browser: "What time is it in Tokyo?" spoken into the
microphone of headless Debian chromium (a fake-mic WAV of espeak-ng speech) reaches the embedded
simulator through the real widget in JupyterLab and Notebook 7; the demo agent's recognizer
(pocketsphinx, constrained to its phrases) hears it, the agent calls the kernel's ``get_time`` tool
with ``Asia/Tokyo`` and answers with Tokyo's time, and that answer plays in the page.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from ._fake_mic import _assemble
from ._notebooks import HERE, write_notebook

pytestmark = pytest.mark.browser

# The greeting ("Hello! I am the simulated agent. Ask me what time it is, here or in Tokyo.") plays
# for ≈ 5 s first: the question comes after it, so it is not a barge-in.
SCRIPT = _assemble([("What time is it in Tokyo?", 8.0)], tail_s=40.0)


def test_what_time_is_it_in_tokyo(jupyter, browser_for, notebook_page, artifacts):
    browser = browser_for("demo-tokyo", SCRIPT)
    name = f"demo-tokyo-{jupyter.app}"
    result = artifacts / f"{name}.json"
    result.unlink(missing_ok=True)
    write_notebook(
        jupyter.root_dir / f"{name}.ipynb",
        [
            f"import sys\nsys.path.insert(0, {str(HERE)!r})\n"
            "from _demo_kernel import start_demo, finish_demo\n"
            "session, sim, w = start_demo()\n"
            "w",
            # the mic file loops after its first pass: stop waiting before the question comes again
            f"await finish_demo(session, sim, {str(result)!r}, timeout_s={SCRIPT.first_pass_s - 2})",
        ],
    )
    page = notebook_page(browser, jupyter, f"{name}.ipynb")
    page.run_all()
    data = page.wait_for_file(result, timeout_s=SCRIPT.first_pass_s + 180)
    assert data["status_at_end"] == "live" and data["error"] == "", data
    events = data["events"]

    finals = [e["text"] for e in events if e["type"] == "input_audio_transcript" and e["is_final"]]
    assert "what time is it in tokyo" in finals, finals  # the words heard
    calls = [e for e in events if e["type"] == "tool_call"]
    assert len(calls) == 1 and calls[0]["tool_name"] == "get_time", calls
    assert data["calls"] and data["calls"][0]["timezone"] == "Asia/Tokyo", data["calls"]
    output = next(e["text"] for e in events if e["type"] == "tool-finished")
    asked = dt.datetime.fromisoformat(data["calls"][0]["utc"]).astimezone(ZoneInfo("Asia/Tokyo"))
    assert output == asked.strftime("%H:%M")  # Tokyo's time, not the machine's
    answer = next(
        e
        for e in events
        if e["type"] == "response_text" and e["is_final"] and re.search(r"it is \d\d:", e["text"] or "")
    )
    assert answer["text"] == f"In Tokyo it is {output}.", answer
    played = {e["turn_id"] for e in events if e["type"] == "playback-stopped"}
    assert answer["turn_id"] in played, "the spoken answer never finished playing in the page"
    started = [e for e in events if e["type"] == "playback-started" and e["turn_id"] == answer["turn_id"]]
    assert started, "the spoken answer never became audible in the page"
    truth = data["truth"]
    turn = next(t for t in truth["turns"] if t["turn_id"] == answer["turn_id"])
    assert turn["outcome"] == "responded" and turn["samples_sent"] > 24_000  # ≥ 1 s of speech
