"""Two calls in one widget, in a real browser (JupyterLab and Notebook 7): Start, talk, End, Start,
talk, End — clicked in the page, as a user does.

Chromium's fake microphone loops one short utterance every ≈6 s; the kernel runs an embedded
simulator with a scripted agent. Checked from the kernel (a JSON file the notebook writes):
``session.calls`` has 2 ended rows, ``turns()`` has answered user turns in both calls, each call's
``t`` starts near 0 (seconds since *that* call started). Checked in the page: the status line says
Live for the second call (not the first call's "Call ended"), and the microphone is released
between calls.
"""

from __future__ import annotations

import pytest

from ._fake_mic import repeating_script
from ._notebooks import calls_notebook

pytestmark = pytest.mark.browser

UTTERANCE = "Hello there how are you today"
REPLY = "I am fine thank you"


def test_start_end_start_end_gives_two_calls(jupyter, browser_for, notebook_page, artifacts):
    browser = browser_for("calls", repeating_script())
    name = f"calls-{jupyter.app}"
    result = artifacts / f"{name}.json"
    result.unlink(missing_ok=True)
    calls_notebook(
        jupyter.root_dir / f"{name}.ipynb", result, [UTTERANCE] * 20, [REPLY], calls=2, timeout_s=150
    )
    page = notebook_page(browser, jupyter, f"{name}.ipynb")
    page.run_all()
    p = page.page
    button = p.locator(".vatel-widget button.vatel-call").first
    status = p.locator(".vatel-widget .vatel-status").first
    agent_lines = p.locator(".vatel-widget .vatel-transcript .vatel-agent", has_text=REPLY)
    page.wait_for("the widget", lambda: button.count(), 90)

    def mic_open() -> bool:
        return bool(
            p.evaluate("() => !!(window.__vatel && window.__vatel.stats() && window.__vatel.stats().micOpen)")
        )

    for call in (1, 2):
        page.wait_for(f"Start call (call {call})", lambda: button.inner_text() == "Start call", 30)
        button.click()
        page.wait_for(f"call {call} live", lambda: status.get_attribute("data-state") == "live", 60)
        assert mic_open(), "the microphone is not captured during the call"
        page.wait_for(f"the agent's reply in call {call}", lambda: agent_lines.count() >= 1, 60)
        page.screenshot(f"{name}-call{call}-live")
        button.click()  # End call
        page.wait_for(f"call {call} ended", lambda: status.get_attribute("data-state") == "ended", 30)
        page.wait_for("the microphone released", lambda: not mic_open(), 10)
    data = page.wait_for_file(result, timeout_s=60)
    page.screenshot(f"{name}-after")

    assert data["timed_out"] is False
    calls = data["calls"]
    assert [c["call"] for c in calls] == [1, 2]
    assert [c["status"] for c in calls] == ["ended", "ended"]
    assert all(c["end_reason"] == "the call was ended from the page" for c in calls), calls
    assert calls[0]["session_id"] != calls[1]["session_id"]
    for call in ("1", "2"):
        lo, hi = data["t_range"][call]
        assert -0.5 < lo < 0.5 and hi < 120, data["t_range"]  # t: seconds since this call started
        assert "browser/mic-captured" in data["types"][call] and "local/closed" in data["types"][call]
    turns = data["turns"]
    for call in (1, 2):
        users = [t for t in turns if t["call"] == call and t["outcome"] != "agent-initiated"]
        assert any(t["outcome"] == "responded" for t in users), users
        assert all(t["user_start"] < 60 for t in users)
        answered = [t for t in users if t["outcome"] == "responded"]
        assert all(t["v2v_ms"] is None or t["v2v_ms"] >= 0 for t in answered)
    assert data["summary_turns"] >= 2
    assert "2 call(s)" in data["repr_html"]
