"""The call view in the real browser (headless Debian chromium).

1. ``vatel-nb report FOLDER`` writes ``call.html``; opened from disk with the network off, it loads
   nothing else, plays (the audio element's currentTime advances and the drawn cursor follows),
   a click on a turn seeks there and shows that turn's latency waterfall (the numbers of
   ``turns()``), the keyboard moves turn to turn and pauses, the wheel zooms.
2. In real JupyterLab, ``session.view()`` after a headless call against the embedded simulator
   shows the timeline; clicking a turn plays it through the widget's audio windows (a WAV buffer
   over the comm) and the cursor follows the audio element. The view is displayed *before* the call
   starts, so it must update live. With ``VATEL_NB_UPDATE_README_IMAGE=1`` the screenshot replaces
   ``docs/images/call-view-lab.png``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vatel_nb.analysis import SyntheticCall, turns
from vatel_nb.log import load_session, save_session

from ._chromium import find_chromium
from ._jupyter import JupyterServer
from ._notebooks import write_notebook

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
README_IMAGE = REPO / "docs" / "images" / "call-view-lab.png"
TURN_LANE_Y = 156 + 13  # LAYOUT.turns.top + half its height (js/src/view_draw.js)


@pytest.fixture(scope="module")
def chromium(playwright_driver: Any) -> Any:
    b = playwright_driver.chromium.launch(
        executable_path=find_chromium(),
        headless=True,
        args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--disable-gpu"],
    )
    yield b
    b.close()


def _synthetic_folder(folder: Path) -> Path:
    c = SyntheticCall()
    c.session_started(0.1)
    c.pings(30.0)
    c.agent_reply("greet", 0.5, 0.7, 2.0, text="Hello there", burst=1.0)
    c.user_speech(4.0, 6.5)
    c.transcript(7.1, "what time is it")
    c.agent_reply("a1", 7.3, 7.5, 3.0, text="It is noon.", burst=1.0)
    c.user_speech(12.0, 13.0)
    c.tool(13.9, 14.1, call_id="c1", name="get_time")
    c.agent_reply("a2", 14.3, 14.5, 3.0, text="Let me see.", burst=1.0, cut_at=15.5)
    c.user_speech(15.2, 16.4)
    c.agent_reply("a3", 17.3, 17.5, 4.0, text="Sorry, go on.", burst=1.0)
    c.user_speech(23.0, 24.0)
    c.agent_reply("a4", 25.0, 25.2, 3.0, text="Goodbye.", burst=1.0)
    c.mic(30.0)
    return save_session(c.log, folder)


def _state(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => { const r = document.querySelector('.vatel-view'); const a = r.querySelector('audio');
                   const s = r.querySelector('.vv-stage').getBoundingClientRect();
                   return {t0: +r.dataset.t0, t1: +r.dataset.t1, width: +r.dataset.width,
                           cursor: +r.dataset.cursor, window: +(r.dataset.window || 0),
                           playing: r.dataset.playing === 'true',
                           turn: r.dataset.turn ?? null, time: a.currentTime, paused: a.paused,
                           src: a.currentSrc.slice(0, 16), left: s.left, top: s.top}; }"""
    )


def _x(st: dict[str, Any], t: float) -> float:
    return st["left"] + (t - st["t0"]) / (st["t1"] - st["t0"]) * st["width"]


def _cursor_drawn_at(page: Any, st: dict[str, Any] | None = None) -> bool:
    """The overlay canvas has the (black) cursor column where data-cursor says (read together, in
    one task: drawOver() sets both)."""
    return page.evaluate(
        """() => { const r = document.querySelector('.vatel-view'); const c = r.querySelector('.vv-cursor');
                    const span = +r.dataset.t1 - +r.dataset.t0;
                    const x = (+r.dataset.cursor - +r.dataset.t0) / span * +r.dataset.width;
                    const d = devicePixelRatio; const g = c.getContext('2d');
                    const px = g.getImageData(Math.round(x * d) - 2 * d, 60 * d, 5 * d, 1).data;
                    for (let i = 3; i < px.length; i += 4) if (px[i] > 200) return true; return false; }"""
    )


def test_report_html_plays_from_disk_without_network(chromium, tmp_path, artifacts) -> None:
    folder = _synthetic_folder(tmp_path / "call")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "vatel-nb"), "report", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    html = folder / "call.html"
    assert html.exists() and "call.html" in proc.stdout
    td = turns(load_session(folder))
    users = td[td["outcome"].astype(str) != "agent-initiated"].reset_index(drop=True)

    context = chromium.new_context(viewport={"width": 1280, "height": 700}, offline=True)
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(html.as_uri())
    page.wait_for_selector(".vatel-view[data-t1]")
    page.wait_for_timeout(300)
    st = _state(page)
    assert (st["t0"], st["t1"]) == (0, pytest.approx(30.0, abs=0.1)), "opens on the whole call"
    assert "3 user turns" not in page.inner_text(".vv-stats")  # 4 user turns in this call
    assert page.inner_text(".vv-stats").startswith("4 user turns")

    # --- play: the audio element's time advances, the cursor follows it
    page.click(".vatel-view-play")
    page.wait_for_function(
        "() => document.querySelector('audio.vatel-view-audio').currentTime > 0.3", timeout=10_000
    )
    a = _state(page)
    page.wait_for_timeout(1000)
    b = _state(page)
    assert b["playing"] and not b["paused"] and b["src"].startswith("data:audio/wav")
    assert 0.5 < b["time"] - a["time"] < 2.5, (a, b)
    assert abs(b["cursor"] - b["time"]) < 0.25, b
    assert _cursor_drawn_at(page, b)

    # --- a click on a turn (the turn lane) seeks to its start and shows its latency waterfall
    turn = users.iloc[1]  # the interrupted one
    rec = json.loads(page.inner_text("#vatel-view-timeline"))["turns"]
    start = next(r["start"] for r in rec if r["turn"] == int(turn["turn"]))
    page.mouse.click(_x(st, start + 0.3), st["top"] + TURN_LANE_Y)
    page.wait_for_timeout(400)
    c = _state(page)
    assert c["turn"] == str(int(turn["turn"]))
    assert start <= c["time"] <= start + 1.2 and c["playing"], (start, c)
    panel = page.inner_text(".vatel-view-waterfall")
    assert f"Turn {int(turn['turn'])} · interrupted" in panel
    assert f"heard voice-to-voice {round(turn['v2v_ms'])} ms" in panel
    assert f"end of utterance {round(turn['eou_ms'])} ms" in panel
    page.wait_for_timeout(600)
    d = _state(page)
    assert d["time"] > c["time"] + 0.3 and abs(d["cursor"] - d["time"]) < 0.25

    # --- keyboard: → next turn, space pauses
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    e = _state(page)
    nxt = users.iloc[2]
    assert e["turn"] == str(int(nxt["turn"]))
    nstart = next(r["start"] for r in rec if r["turn"] == int(nxt["turn"]))
    assert nstart <= e["time"] <= nstart + 1.0, (nstart, e)
    page.keyboard.press(" ")
    page.wait_for_timeout(300)
    f = _state(page)
    page.wait_for_timeout(500)
    g = _state(page)
    assert not g["playing"] and g["paused"] and g["time"] == pytest.approx(f["time"], abs=1e-3)

    # --- click on the waveform plays from there; the wheel zooms around the pointer
    page.mouse.click(_x(st, 20.0), st["top"] + 60)
    page.wait_for_timeout(300)
    h = _state(page)
    assert 20.0 - 0.1 <= h["time"] <= 21.0 and h["playing"], h
    page.mouse.move(_x(st, 20.0), st["top"] + 60)
    page.mouse.wheel(0, -600)
    page.wait_for_timeout(200)
    z = _state(page)
    assert z["t1"] - z["t0"] < 15 and z["t0"] < 20.0 < z["t1"], z
    page.screenshot(path=str(artifacts / "call-view-html.png"))

    assert not errors, errors
    others = [u for u in requests if not u.startswith(("file:", "data:", "blob:"))]
    assert others == [] and requests[0] == html.as_uri(), requests
    context.close()


CALL_CELL = """\
import asyncio
from vatel_nb import VatelSession, ScriptedCaller
from vatel_nb.caller import Utterance, demo_simulator
lines = ["hello there", "what time is it in Paris", "thank you goodbye"]
sim, agent = demo_simulator(lines)
session = VatelSession(agent, api_key=sim.api_key, base_url=sim.base_url,
                       tools={"get_time": lambda timezone="UTC": "12:00 in " + timezone})
view = session.view(refresh_s=0.5)
view
"""

RUN_CELL = """\
caller = ScriptedCaller(session, [Utterance.say(x, think=0.3) for x in lines], reply_timeout=10, tail=0.5)
await caller.run()
for _ in range(600):  # the view's last refresh after the call ended (≤ 60 s, even under load)
    if view.timeline.get("live") is False and not view.timeline.get("pending"):
        break
    await asyncio.sleep(0.1)
import json, os
td = session.turns()
info = {"turns": json.loads(td.to_json(orient="records")), "view_turns": len(view.timeline["turns"]),
        "live": view.timeline["live"], "status": session.status}
tmp = RESULT + ".tmp"
open(tmp, "w").write(json.dumps(info))
os.replace(tmp, RESULT)
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = JupyterServer(
        "lab",
        workdir=tmp_path_factory.mktemp("jupyter-view"),
        extra_args=["--LabApp.expose_app_in_browser=True"],
    )
    server.start()
    yield server
    server.shutdown_kernels()
    server.stop()


def test_session_view_in_jupyterlab(lab, chromium, notebook_page, tmp_path, artifacts) -> None:
    result = artifacts / "call-view-lab.json"
    result.unlink(missing_ok=True)
    write_notebook(lab.root_dir / "view.ipynb", [CALL_CELL, f"RESULT = {str(result)!r}\n" + RUN_CELL])
    page = notebook_page(chromium, lab, "view.ipynb")
    page.run_all()
    view = page.page.locator(".vatel-view")
    page.wait_for("the call view", lambda: view.count() and view.get_attribute("data-t1"), 60)
    # live: the view was displayed before the call; it grows while the call runs
    page.wait_for(
        "live turns in the view",
        lambda: (
            page.page.locator(".vv-live").inner_text() == "● live"
            and not page.page.inner_text(".vatel-view .vv-stats").startswith("0 user turns")
        ),
        90,
    )
    data = page.wait_for_file(result, timeout_s=120)
    assert data["status"] == "ended" and data["live"] is False
    users = [t for t in data["turns"] if t["outcome"] != "agent-initiated"]
    assert len(users) == 3 and data["view_turns"] == len(data["turns"])
    page.wait_for(
        "the final view", lambda: page.page.inner_text(".vatel-view .vv-stats").startswith("3 user turns"), 30
    )
    page.wait_for("live label gone", lambda: page.page.locator(".vv-live").inner_text() == "", 30)
    root = page.page.locator(".vatel-view")
    root.scroll_into_view_if_needed()

    # --- click the second user turn on the turn lane: it plays from its start, the cursor follows
    st = _state(page.page)
    turn = users[1]
    assert page.page.locator(".vatel-view").count() == 1
    start = min(x for x in (turn["vad_start"], turn["user_start"]) if x is not None)
    page.page.mouse.click(_x(st, start + 0.2), st["top"] + TURN_LANE_Y)
    page.wait_for(
        "audio playing",
        lambda: (s := _state(page.page))["playing"] and s["time"] > 0 and s["src"].startswith("blob:"),
        30,
    )
    a = _state(page.page)
    assert a["turn"] == str(turn["turn"])
    assert start - 0.3 <= a["cursor"] <= start + 1.5, (start, a)
    page.page.wait_for_timeout(1000)
    b = _state(page.page)
    assert b["cursor"] - a["cursor"] > 0.5 and abs(b["cursor"] - (b["window"] + b["time"])) < 0.25
    assert _cursor_drawn_at(page.page, b)
    panel = page.page.inner_text(".vatel-view-waterfall")
    assert f"Turn {turn['turn']} · " in panel and "heard voice-to-voice" in panel
    if turn["v2v_ms"] is not None:
        assert f"heard voice-to-voice {round(turn['v2v_ms'])} ms" in panel
    # keys go to the view, not to JupyterLab's notebook shortcuts (→ would select the next cell)
    active = page.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex")
    page.page.keyboard.press("ArrowRight")
    page.wait_for("the next turn", lambda: _state(page.page)["turn"] == str(users[2]["turn"]), 10)
    assert page.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex") == active
    page.page.keyboard.press("ArrowLeft")  # media-player style: the turn before, or this turn's start
    page.page.wait_for_timeout(300)
    back = _state(page.page)
    assert back["turn"] in (str(turn["turn"]), str(users[2]["turn"])), back
    page.page.mouse.move(_x(st, start + 0.2), st["top"] + TURN_LANE_Y)
    page.page.wait_for_timeout(300)
    shot = artifacts / "call-view-lab.png"
    page.page.locator(".jp-OutputArea-output", has=page.page.locator(".vatel-view")).first.screenshot(
        path=str(shot)
    )
    if os.environ.get("VATEL_NB_UPDATE_README_IMAGE") == "1":
        README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, README_IMAGE)
    errors = [c for c in page.console if c.startswith("PAGEERROR")]
    assert not errors, errors
