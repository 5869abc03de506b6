"""The real widget in a real browser: ``VatelSession(...).widget()`` in JupyterLab and Notebook 7.

Headless Debian chromium whose microphone plays a generated WAV of three spoken utterances with
known boundaries; the third starts while the agent is still answering the second (barge-in). The
kernel runs an embedded simulator with a scripted agent (scripted transcripts, fixed replies, no
injected delay). Everything is asserted from the kernel side (the notebook writes a JSON file) plus
the page's DOM and widget models (for secrets). Runs with comms over subshells (JupyterLab's
default) and with them disabled.

Screenshots (whole page and the widget alone) go to ``artifacts/browser/``; with
``VATEL_NB_UPDATE_README_IMAGE=1`` the JupyterLab one also replaces ``docs/images/widget-lab.png``.

Utterances are located in the audio the kernel sent by their first and last 200 ms (a glitch
inside an utterance — seen under CPU load — does not move the edges); a per-100 ms fidelity
summary is printed. Tolerances: VAD positions ±50 ms (the VAD decides on a 10 ms grid; weak
fricative onsets and plosive ends come out softer after chromium's resampling); accumulated
fake-mic audio loss under load ≤ 100 ms; heard voice-to-voice latency from ``turns()`` vs the WAV/page ground
truth (browser clock only) ±60 ms (VAD frame, and VAD threshold differences on decaying or plosive
utterance ends, which chromium's resampling smears by ≈35 ms); time-to-yield ±(60 ms + the largest
clock-sync round trip), because ``turns()`` maps both of its ends through the kernel clock.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from ._audio_check import align, fidelity, locate_edges
from ._fake_mic import FRAME, RATE, conversation_script
from ._notebooks import conversation_notebook

pytestmark = pytest.mark.browser

SCRIPT = conversation_script()
REPLIES = [
    "I am fine thank you",
    "Once upon a time in a quiet village by the sea there lived an old clockmaker "
    "who repaired every clock in town and was never once late for anything at all",
    "Okay I will stop",
]
TOL_MS = 60.0
EXPECTED_EVENTS = {
    ("local", "connecting"),
    ("local", "agent"),
    ("local", "connected"),
    ("local", "closed"),
    ("server", "session_started"),
    ("server", "speech_started"),
    ("server", "speech_stopped"),
    ("server", "input_audio_transcript"),
    ("server", "response_text"),
    ("server", "response_audio"),
    ("server", "interruption"),
    ("client", "input_audio"),
    ("browser", "mic-captured"),
    ("browser", "clock-sync"),
    ("browser", "playback-started"),
    ("browser", "playback-stopped"),
    ("browser", "playback-flushed"),
}
EVENT_COLUMNS = [
    "call", "t", "wall", "source", "type", "turn_id", "text", "is_final", "tool_call_id", "tool_name",
    "seq", "samples", "t_browser", "t_mapped", "clock", "detail",
]  # fmt: skip
EDGE = 5 * FRAME  # 50 ms: VAD grid + soft utterance edges
README_IMAGE = "docs/images/widget-lab.png"


def _browser_ms(user_audio: dict, sample: int) -> float:
    """Browser capture time (ms) of sample ``sample`` of the audio the kernel sent."""
    starts = np.concatenate([[0], np.cumsum(user_audio["samples"])])
    i = int(np.searchsorted(starts, sample, side="right") - 1)
    return float(user_audio["t_browser"][i]) + (sample - starts[i]) / RATE * 1000.0


@pytest.mark.parametrize(
    ("subshells", "profile", "transport"),
    [
        ("default", "vendor", "auto"),
        ("default", "spec", "auto"),
        ("disabled", "vendor", "auto"),
        ("default", "vendor", "base64"),
    ],
)
def test_widget_conversation(
    jupyter, subshells, profile, transport, browser_for, notebook_page, tmp_path, artifacts
):
    """Both wire profiles: ``vendor`` (data null, mixed chunks, bursts) is what the real service does.
    ``transport="auto"``: the page probes binary buffers (they work in Jupyter: ``binary``);
    ``"base64"``: Colab's fallback forced, every mic frame and audio chunk as base64 in the JSON."""
    browser = browser_for("conversation", SCRIPT)
    name = f"widget-{jupyter.app}-{subshells}-{profile}" + ("" if transport == "auto" else f"-{transport}")
    result = artifacts / f"{name}.json"
    result.unlink(missing_ok=True)
    conversation_notebook(
        jupyter.root_dir / f"{name}.ipynb",
        result,
        [u.text for u in SCRIPT.utterances],
        REPLIES,
        timeout_s=SCRIPT.first_pass_s,  # ends before the loop replays utterance 0
        options=f"profile={profile!r}, widget_traits={{'transport': {transport!r}}}",
    )
    jupyter.set_comms_over_subshells(None if subshells == "default" else "disabled")

    page = notebook_page(browser, jupyter, f"{name}.ipynb")
    if subshells == "disabled" and jupyter.app == "notebook":
        # Notebook 7.6 lacks JupyterLab's subshell-settings plugin: apply the setting as it would
        assert page.force_comms_over_subshells("disabled")
    page.run_all()
    snapshots: list[str] = []

    def snapshot() -> None:
        snapshots.append(page.page.content())
        snapshots.append(json.dumps(page.widget_models()))

    live = '.vatel-widget .vatel-status[data-state="live"]'
    page.wait_for("widget live", lambda: page.page.locator(live).count(), 90)
    snapshot()
    # screenshot while the agent tells its long story (before the barge-in cuts it)
    speaking = '.vatel-widget .vatel-speaking[data-speaking="true"]'
    story = page.page.locator(".vatel-widget .vatel-transcript", has_text="Once upon")
    page.wait_for(
        "agent speaking the 2nd reply",
        lambda: story.count() and page.page.locator(speaking).count(),
        40,
        interval_s=0.05,
    )
    page.page.wait_for_timeout(300)
    page.screenshot(name)
    widget_shot = artifacts / f"{name}-widget.png"
    page.page.locator(".jp-OutputArea-output", has=page.page.locator(".vatel-widget")).first.screenshot(
        path=str(widget_shot)
    )
    snapshot()
    subshell_info = page.kernel_info()
    data = page.wait_for_file(result, timeout_s=60)
    snapshot()
    if name == "widget-lab-default-vendor" and os.environ.get("VATEL_NB_UPDATE_README_IMAGE") == "1":
        dest = page.artifacts.parents[1] / README_IMAGE
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(widget_shot, dest)

    # --- the call started and ran to the end of the script
    for key in ("events", "turns", "truth"):
        assert f"{key}_error" not in data, data[f"{key}_error"]
    assert data["timed_out"] is False, "the agent did not answer every utterance (see the screenshot)"
    assert data["status_at_end"] == "live" and data["error"] == ""
    events = data["events"]
    kinds = {(e["source"], e["type"]) for e in events}
    missing = EXPECTED_EVENTS - kinds
    assert not missing, f"event types never logged: {sorted(missing)}"
    assert list(events[0]) == EVENT_COLUMNS, list(events[0])
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)
    ready = next(e["detail"] for e in events if e["type"] == "status" and e["text"] == "ready")
    if transport == "auto":  # Jupyter delivers binary buffers both ways: the probe says so
        assert ready["transport"] == "binary", ready
        assert ready["probe"] == {"to_kernel": True, "to_page": True, "forced": False}, ready
    else:
        assert ready["transport"] == "base64" and ready["probe"]["forced"] is True, ready
    assert data["stats"]["envelopes_sent"] > 0
    browser_rows = [e for e in events if e["source"] == "browser" and e["t_browser"] is not None]
    assert browser_rows and all(e["t_mapped"] is not None for e in browser_rows), "browser times not mapped"

    # --- the user turns the simulator detected are the WAV's utterances
    pcm = np.frombuffer(result.with_name(result.name + ".pcm").read_bytes(), dtype="<i2")
    lag, _ = align(pcm, SCRIPT.pcm)
    positions = []
    for u in SCRIPT.utterances:
        a, b, corr = locate_edges(pcm, SCRIPT.pcm, u.start, u.end, lag)
        assert corr > 0.8, f"utterance {u.text!r} not found in the audio the kernel sent (corr {corr:.2f})"
        assert abs(a - (u.start - lag)) <= 0.1 * RATE, f"{u.text!r}: {(a - u.start + lag) / RATE:.3f} s lost"
        assert abs((b - a) - (u.end - u.start)) <= 0.1 * RATE, (
            f"{u.text!r}: arrived {(b - a) / RATE:.3f} s long"
        )
        positions.append((a, b))
        print(f"{name} mic fidelity {u.text!r}: {fidelity(pcm, SCRIPT.pcm, u.start, u.end, lag)}")
    truth = data["truth"]
    segments = [s for s in truth["segments"] if s["start_sample"] < SCRIPT.pcm.size - lag]
    assert len(segments) == len(SCRIPT.utterances), [(s["start_sample"], s["end_sample"]) for s in segments]
    for seg, (a, b), u in zip(segments, positions, SCRIPT.utterances, strict=True):
        assert abs(seg["start_sample"] - a) <= EDGE, (seg, a, u)
        assert abs(seg["end_sample"] - b) <= EDGE, (seg, b, u)
        assert seg["transcript"] == u.text

    # --- agent audio reached the page: started for every reply, stopped / flushed as expected
    replies = [t for t in truth["turns"] if t["kind"] == "reply"]
    assert [t["outcome"] for t in replies[:3]] == ["responded", "interrupted", "responded"], replies
    pb = {
        (e["type"], e["turn_id"]): e
        for e in events
        if e["source"] == "browser" and e["type"].startswith("playback")
    }
    for t in replies[:3]:
        assert ("playback-started", t["turn_id"]) in pb, f"turn {t['turn_id']} never audible in the page"
    for t in (replies[0], replies[2]):
        stopped = pb[("playback-stopped", t["turn_id"])]
        assert abs(stopped["samples"] - t["samples_sent"]) <= 480, (stopped, t["samples_sent"])
    cut = replies[1]
    flushed = pb.get(("playback-flushed", cut["turn_id"]))
    assert flushed is not None, "the barge-in did not flush playback"
    assert ("playback-stopped", cut["turn_id"]) not in pb
    assert flushed["samples"] < cut["samples_meant"]

    # --- time to yield: the user's (WAV) onset → the page's flush, browser clock only
    onset_ms = _browser_ms(data["user_audio"], positions[2][0])
    yield_ms = flushed["t_browser"] - onset_ms
    assert 0 < yield_ms < (cut["samples_meant"] / RATE) * 1000
    turns = data["turns"]
    users = [t for t in turns if t["outcome"] != "agent-initiated"]
    assert [t["outcome"] for t in users[:3]] == ["responded", "interrupted", "responded"], users
    assert users[2]["barge_in"] is True
    # turns() maps both ends through the kernel clock: allow the clock-sync uncertainty on top
    rtts = [e["detail"]["rtt_ms"] for e in events if e["type"] == "clock-sync" and e.get("detail")]
    tol_yield = TOL_MS + max(rtts, default=0.0)
    assert users[2]["time_to_yield_ms"] == pytest.approx(yield_ms, abs=tol_yield), (
        users[2],
        yield_ms,
        tol_yield,
    )

    # --- turns() agrees with the simulator's own record of when it sent each reply's first audio
    for i, t in enumerate(replies[:3]):
        sent = t["t_first_audio"] - data["t0"]  # simulator ground truth on the kernel clock (same process)
        assert 0 <= users[i]["t_first_audio"] - sent < 0.1, (i, users[i]["t_first_audio"], sent)
        assert users[i]["transcript"] == SCRIPT.utterances[i].text

    # --- heard voice-to-voice: the WAV's utterance end → first audible agent sample, browser clock
    for i, t in enumerate(replies[:3]):
        end_ms = _browser_ms(data["user_audio"], positions[i][1])
        started = pb[("playback-started", t["turn_id"])]
        heard_ms = started["t_browser"] + (t["leading_silence_samples"] or 0) / RATE * 1000 - end_ms
        assert users[i]["v2v_ms"] == pytest.approx(heard_ms, abs=TOL_MS), (i, users[i], heard_ms)
        print(f"{name} turn {i}: heard v2v {heard_ms:.0f} ms (turns(): {users[i]['v2v_ms']:.0f} ms)")
    print(f"{name}: time to yield {yield_ms:.0f} ms (turns(): {users[2]['time_to_yield_ms']:.0f} ms)")

    # --- no secret in the page or in any widget state
    secrets = [s for s in data["secrets"].values() if s]
    assert len(secrets) == 2, "the notebook could not read the API key and the session token"
    kernel_state = json.dumps(data["kernel_traits"])
    for secret in secrets:
        for i, text in enumerate([*snapshots, kernel_state]):
            assert secret not in text, f"a secret leaked into snapshot {i} of {name}"

    # --- the subshell setting reached the page
    assert subshell_info["supports_subshells"] is True
    assert all((sid is None) == (subshells == "disabled") for sid in subshell_info["comm_subshells"])
