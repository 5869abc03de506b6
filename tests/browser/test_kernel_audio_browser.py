"""A page with no microphone, a kernel with audio devices (VS Code's situation), in real JupyterLab
and headless chromium: the page has no ``navigator.mediaDevices`` (removed before any script runs),
the kernel sees virtual devices (a private PulseAudio server, tests/_pulse.py). The widget offers
"use this computer's audio devices (kernel)"; choosing it and pressing Start runs the call
through the kernel's devices: espeak-ng speech played into the virtual mic is heard by the
simulator, the agent answers through the virtual speaker, the page shows the transcript and
creates no AudioContext (it plays nothing).
"""

from __future__ import annotations

import time

import _pulse
import pytest

from ._chromium import NotebookPage, find_chromium
from ._jupyter import JupyterServer
from ._notebooks import HERE, write_notebook

pytestmark = pytest.mark.browser

# No media devices (as in a VS Code webview); count AudioContexts the page creates.
NO_MIC_PAGE = """
(() => {
  try {
    const gone = { get() { return undefined; }, configurable: true };
    Object.defineProperty(Navigator.prototype, "mediaDevices", gone);
  } catch (e) {}
  window.__vatelAudioContexts = 0;
  for (const name of ["AudioContext", "webkitAudioContext"]) {
    const AC = window[name];
    if (!AC) continue;
    window[name] = class extends AC { constructor(...a) { super(...a); window.__vatelAudioContexts++; } };
  }
})();
"""
SAY = "Hello, can you hear me?"


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory):
    _pulse.require()
    with _pulse.pulse_devices(tmp_path_factory.mktemp("pulse-browser")) as dev:
        yield dev


@pytest.fixture(scope="module")
def lab(devices, tmp_path_factory: pytest.TempPathFactory):
    env = {k: devices.env[k] for k in ("PULSE_SERVER", "PULSE_SINK", "PULSE_SOURCE")}
    server = JupyterServer(
        "lab",
        workdir=tmp_path_factory.mktemp("jupyter-kernel-audio"),
        extra_args=["--LabApp.expose_app_in_browser=True"],
        env=env,
    )
    server.start()
    yield server
    server.shutdown_kernels()
    server.stop()


@pytest.fixture(scope="module")
def browser(playwright_driver):
    b = playwright_driver.chromium.launch(
        executable_path=find_chromium(),
        headless=True,
        args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--disable-gpu"],
    )
    yield b
    b.close()


def _transcript(page: NotebookPage, who: str) -> list[str]:
    lines = page.page.locator(f".vatel-transcript .vatel-line.vatel-{who}:not(.vatel-partial)")
    return lines.all_inner_texts()


def test_widget_runs_the_call_through_the_kernels_devices(devices, lab, browser, artifacts, tmp_path):
    from vatel_nb.caller import Utterance
    from vatel_nb.caller._script import load_utterance_audio

    speech = load_utterance_audio(Utterance.say(SAY))
    result = tmp_path / "kernel-audio.json"
    write_notebook(
        lab.root_dir / "kernel-audio.ipynb",
        [
            f"import sys\nsys.path.insert(0, {str(HERE)!r})\n"
            "from _kernel_audio_kernel import start, finish\n"
            "session, w = start()\n"
            "w",
            f"await finish(session, w, {str(result)!r}, timeout_s=240)",
        ],
    )
    page = NotebookPage(browser, lab, "kernel-audio.ipynb", artifacts)
    page.context.add_init_script(NO_MIC_PAGE)
    try:
        page.open()
        page.run_all()
        p = page.page
        offer = p.locator(".vatel-widget .vatel-kernel-audio")
        page.wait_for("the kernel-audio offer", offer.is_visible, 90)
        assert "use this computer's audio devices (kernel)" in offer.inner_text().lower()
        offer.click()
        note = p.locator(".vatel-widget .vatel-kernel-note")
        page.wait_for("the kernel-audio note", note.is_visible, 30)
        assert "no echo cancellation" in note.inner_text()
        p.locator(".vatel-widget button.vatel-call").click()
        page.wait_for("the greeting", lambda: _transcript(page, "agent"), 90)
        page.wait_for(
            "live status", lambda: p.locator(".vatel-status").get_attribute("data-state") == "live", 30
        )
        time.sleep(5.0)  # the greeting plays through the virtual speaker (≈ 5 s)
        devices.play(speech).wait(30)
        try:
            page.wait_for("the user's words", lambda: _transcript(page, "user"), 60)
            page.wait_for("the reply", lambda: len(_transcript(page, "agent")) >= 2, 60)
            time.sleep(3.0)
        finally:
            p.locator(".vatel-widget button.vatel-call").click()  # End call
            data = page.wait_for_file(result, timeout_s=120)
            print("kernel side:", data)
        contexts = p.evaluate("() => window.__vatelAudioContexts")
    except BaseException:
        page.screenshot("kernel-audio-failed")
        raise
    finally:
        page.close()
    assert contexts == 0, "the page created an AudioContext: it must play nothing in kernel mode"
    assert data["audio_source"] == "kernel" and data["kernel_audio"]["available"] is True, data
    assert data["status"] == "ended" and data["error"] == "", data
    assert data["frontend"]["kind"] == "local audio (PortAudio)", data["frontend"]
    assert data["clocks"] == ["device"], data["clocks"]  # capture and playback times: PortAudio's
    assert data["types"].get("playback-started", 0) >= 2 and data["types"].get("mic-captured", 0) > 100, data
    assert data["user_finals"], data
    assert data["v2v_ms"] and all(v > 0 for v in data["v2v_ms"]), data["v2v_ms"]
    stats = data["device_stats"]
    assert stats["callback_errors"] == 0, stats["last_callback_error"]
    assert stats["blocks"]["input"] > 100 and stats["blocks"]["output"] > 100, stats
