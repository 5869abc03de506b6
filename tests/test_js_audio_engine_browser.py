"""The real audio engine (bundled js/src) in headless Debian chromium, without Jupyter.

A fake anywidget model on a static page (tests/browser_pages/engine.html, served from 127.0.0.1)
records what the page sends; a fake mic plays a generated 48 kHz WAV tone.
"""

from __future__ import annotations

import http.server
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser._chromium import find_chromium, launch
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from vatel_nb.widget._bundle import widget_esm

pytestmark = pytest.mark.browser

PAGES = Path(__file__).resolve().parent / "browser_pages"
MIC_HZ = 1000.0


def _write_wav(path: Path, freq: float, seconds: float = 2.0, rate: int = 48000) -> None:
    t = np.arange(int(rate * seconds)) / rate
    pcm = (0.5 * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    bundle = widget_esm().encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/bundle.mjs":
                body, ctype = bundle, "text/javascript"
            elif path == "/engine.html":
                body, ctype = (PAGES / "engine.html").read_bytes(), "text/html"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def pw() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    wav = tmp_path_factory.mktemp("mic") / "mic.wav"
    _write_wav(wav, MIC_HZ)
    b = launch(pw, wav)  # the browser suite's flags and its clear error when chromium is missing
    try:
        yield b
    finally:
        b.close()


def _open(browser: Browser, server: str, query: str = "") -> Page:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/engine.html{query}")
    page.wait_for_function("window.__pageReady === true", timeout=10000)
    page.wait_for_function(
        "window.__test.kinds('control').some(m => m.action === 'start')"
        " || (window.__vatel && window.__vatel.stats().state === 'error')",
        timeout=15000,
    )
    stats = page.evaluate("window.__vatel.stats()")
    assert stats["state"] == "running", (stats, errors)
    return page


def _mic_frames(page: Page) -> list[dict[str, Any]]:
    return page.evaluate("window.__test.kinds('mic')")


def _peak_hz(pcm: np.ndarray, rate: int = 24000) -> float:
    x = pcm.astype(np.float64) * np.hanning(len(pcm))
    spec = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(pcm), 1 / rate)[spec.argmax()])


def _wait_playback(page: Page, event: str, turn: str, timeout: float = 5000) -> dict[str, Any]:
    page.wait_for_function(
        f"window.__test.playback().some(m => m.event === {event!r} && m.turn_id === {turn!r})",
        timeout=timeout,
    )
    return next(
        m for m in page.evaluate("window.__test.playback()") if m["event"] == event and m["turn_id"] == turn
    )


@pytest.mark.parametrize("native", [False, True], ids=["ctx24k", "native-rate-fallback"])
def test_ready_then_mic_frames_at_50_per_second_keep_the_tone(
    browser: Browser, server: str, native: bool
) -> None:
    page = _open(browser, server, "?native=1" if native else "")
    try:
        sent = page.evaluate(
            "window.__test.sent.map(s => s.msg.kind + ':' + (s.msg.state || s.msg.action || ''))"
        )
        first = [k for k in sent if not k.startswith("mic")][:4]
        assert first == ["status:starting", "probe:", "ready:", "control:start"], sent[:5]
        ready = page.evaluate("window.__test.kinds('ready')[0]")
        assert ready["sample_rate"] == 24000 and ready["processing"] is False
        # the probe went both ways intact (the test page answers as VatelSession does): binary
        assert ready["transport"] == "binary", ready
        assert ready["probe"] == {"to_kernel": True, "to_page": True, "forced": False}, ready
        assert (ready["context_rate"] == 24000) is (not native), ready
        page.wait_for_function("window.__test.kinds('mic').length >= 75", timeout=10000)
        frames = _mic_frames(page)
        assert [f["seq"] for f in frames] == list(range(len(frames)))
        assert all(f["samples"] == 480 and f["_bytes"] == [960] for f in frames)
        # capture stamps: frames are 20 ms of audio apart on the browser clock, and precede sending
        tb = np.array([f["t_browser"] for f in frames])
        assert np.allclose(np.diff(tb), 20.0, atol=3.0), np.diff(tb)[:20]
        assert all(f["t_browser"] <= f["_t"] + 1.0 for f in frames)
        lag = float(np.median([f["_t"] - f["t_browser"] for f in frames]))
        print(f"capture stamp → send: median {lag:.1f} ms (≥ 20 ms: a frame is sent once complete)")
        assert 15 < lag < 200, lag
        # frames leave at the audio rate: ~50 per second of page time
        sent_t = np.array([f["_t"] for f in frames])
        per_s = (len(frames) - 1) / ((sent_t[-1] - sent_t[0]) / 1000)
        assert 40 <= per_s <= 60, per_s
        pcm = np.array(page.evaluate("window.__test.micPcm(25)"), dtype=np.int16)
        assert abs(_peak_hz(pcm) - MIC_HZ) < 5, _peak_hz(pcm)
        assert np.sqrt(np.mean((pcm / 32768.0) ** 2)) > 0.1, "the tone arrives at level (processing off)"
        # the mic level meter moves
        assert float(page.get_attribute(".vatel-level", "data-level")) > 0.3
    finally:
        page.close()


@pytest.mark.parametrize("native", [False, True], ids=["ctx24k", "native-rate-fallback"])
def test_audio_turn_plays_and_reports_started_and_stopped(
    browser: Browser, server: str, native: bool
) -> None:
    page = _open(browser, server, "?native=1" if native else "")
    try:
        page.evaluate("window.__test.tapPlayback()")
        # every value the speaking indicator takes (a loaded machine may finish the 0.6 s turn
        # before a poll from here sees it)
        page.evaluate(
            "(() => { const el = document.querySelector('.vatel-speaking'); window.__speaking = [];"
            " new MutationObserver(() => window.__speaking.push(el.dataset.speaking))"
            ".observe(el, {attributes: true, attributeFilter: ['data-speaking']}); })()"
        )
        t0 = page.evaluate("performance.now()")
        page.evaluate("window.__test.playTone('t1', 660, 0.6)")
        started = _wait_playback(page, "started", "t1")
        page.wait_for_function("window.__speaking.includes('true')", timeout=5000)
        peak = page.evaluate("window.__peak()")
        stopped = _wait_playback(page, "stopped", "t1")
        assert started["t_browser"] >= t0 - 0.0005  # µs-rounded on the wire
        assert started["output_latency_ms"] >= 0
        assert stopped["samples"] == 14400
        # 600 ms of audio: never less; more only if the audio thread stalled (a loaded machine),
        # so only the lower bound is a correctness check (the figure is printed, not asserted)
        played_ms = stopped["t_browser"] - started["t_browser"]
        print(f"turn of 600 ms audible for {played_ms:.1f} ms")
        assert played_ms >= 597, played_ms
        assert abs(peak["hz"] - 660) < 10, peak
        page.wait_for_function("document.querySelector('.vatel-speaking').dataset.speaking === 'false'")
        # a second turn delivered as offset Uint8Array views (Colab) plays the same way
        page.evaluate("window.__test.playTone('t2', 440, 0.3, {mode: 'uint8'})")
        stopped2 = _wait_playback(page, "stopped", "t2")
        assert stopped2["samples"] == 7200
        stats = page.evaluate("window.__vatel.stats()")
        assert stats["underruns"] == 0 and stats["chunksReceived"] == 30 + 15
    finally:
        page.close()


def test_interrupt_flushes_promptly_and_drops_late_chunks(browser: Browser, server: str) -> None:
    page = _open(browser, server)
    try:
        seq = page.evaluate("window.__test.playTone('t3', 500, 3.0, {final: false, chunks: 100})")
        _wait_playback(page, "started", "t3")
        page.wait_for_timeout(300)
        t_int = page.evaluate(
            "(() => { const t = performance.now();"
            " window.__test.deliver({kind: 'interrupt', turn_id: 't3'}); return t; })()"
        )
        flushed = _wait_playback(page, "flushed", "t3")
        page.evaluate(f"window.__test.playTone('t3', 500, 1.0, {{startSeq: {seq}}})")  # late chunks of t3
        page.wait_for_timeout(300)
        events = page.evaluate("window.__test.playback()")
        assert [(e["event"], e["turn_id"]) for e in events] == [("started", "t3"), ("flushed", "t3")]
        assert flushed["samples"] + flushed["dropped_samples"] == 100 * 480
        assert flushed["dropped_samples"] > 24000, "most of the 2 s turn was cut"
        # the cut (20 ms fade) is reported within ~30 ms of page time (printed; speed is a bench
        # matter). What must hold: it came before the >2 s of audio still queued could play out.
        report_delay = page.evaluate("window.__test.playback().find(e => e.event === 'flushed')._t") - t_int
        print(f"interrupt → flushed report: {report_delay:.1f} ms")
        assert report_delay < 2000, report_delay
        stats = page.evaluate("window.__vatel.stats()")
        assert stats["flushes"] == 1 and stats["playback"]["lateDroppedSamples"] == 24000
        assert page.get_attribute(".vatel-speaking", "data-speaking") == "false"
    finally:
        page.close()


def test_pong_mute_second_view_and_end(browser: Browser, server: str) -> None:
    page = _open(browser, server)
    try:
        before, after = page.evaluate(
            "(() => { const a = performance.now(); window.__test.deliver({kind: 'ping', id: 7});"
            " return [a, performance.now()]; })()"
        )
        pong = page.evaluate("window.__test.kinds('pong')")
        # t_browser is rounded to the µs on the wire (messages.js round3)
        assert len(pong) == 1 and pong[0]["id"] == 7
        assert before - 0.0005 <= pong[0]["t_browser"] <= after + 0.0005
        assert pong[0]["_t"] <= after, "answered synchronously, before the handler returned"
        # a second view of the same model: still one engine, one capture
        page.evaluate("void (window.__cleanupView2 = window.__test.renderView('view2'))")
        assert page.evaluate("window.__vatel.engines.length") == 1
        assert page.locator(".vatel-call").count() == 2
        page.wait_for_timeout(1000)
        frames = _mic_frames(page)
        assert [f["seq"] for f in frames] == list(range(len(frames)))
        page.evaluate("window.__cleanupView2()")  # removing a view keeps the engine running
        # mute from the UI: control + trait, frames stop; unmute resumes
        page.locator("#view1 .vatel-mute").click()
        assert page.evaluate("window.__test.attrs.muted") is True
        page.wait_for_timeout(100)
        n = len(_mic_frames(page))
        page.wait_for_timeout(400)
        assert len(_mic_frames(page)) == n
        page.locator("#view1 .vatel-mute").click()
        page.wait_for_function(f"window.__test.kinds('mic').length > {n + 5}")
        actions = [m["action"] for m in page.evaluate("window.__test.kinds('control')")]
        assert actions == ["start", "mute", "unmute"]
        # end from the kernel: capture stops, status ended
        page.evaluate("window.__test.deliver({kind: 'end', reason: 'bye'})")
        page.wait_for_function("window.__vatel.stats().state === 'ended'", timeout=15000)
        assert page.evaluate("window.__test.kinds('status').at(-1).state") == "ended"
        n = len(_mic_frames(page))
        page.wait_for_timeout(300)
        assert len(_mic_frames(page)) == n
        assert page.text_content(".vatel-status") == "Call ended"
        assert page.text_content(".vatel-call") == "Start call"
        # the kernel's traits drive the status line, transcript and latency
        page.evaluate(
            "window.__test.set('transcript', [{role: 'user', text: 'hello <b>', final: true, turn_id: 'u1'},"
            " {role: 'agent', text: 'hi there', final: false, turn_id: 'a1'}]);"
            "window.__test.set('last_latency_ms', 812.4);"
            "window.__test.set('last_latency_kind', 'heard voice-to-voice');"
            "window.__test.set('status', 'error'); window.__test.set('error', 'Set VATEL_API_KEY.')"
        )
        assert page.text_content("#view1 .vatel-transcript") == "You:hello <b>Agent:hi there"
        assert page.locator("#view1 .vatel-transcript .vatel-agent.vatel-partial").count() == 1
        assert page.text_content(".vatel-latency") == "Last turn latency: 812 ms (heard voice-to-voice)"
        assert page.text_content(".vatel-status") == "Error: Set VATEL_API_KEY."
        # the model closes: the engine detaches (a ping is no longer answered)
        page.evaluate("window.__cleanupModel()")
        page.evaluate("window.__test.deliver({kind: 'ping', id: 8})")
        assert len(page.evaluate("window.__test.kinds('pong')")) == 1
    finally:
        page.close()


def test_mic_denied_is_reported_in_the_widget_and_to_the_kernel(pw: Playwright, server: str) -> None:
    # no --use-fake-ui-for-media-stream: headless chromium denies the permission prompt
    args = [
        "--no-sandbox",
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
    ]
    b = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=args)
    try:
        page = b.new_page()
        page.goto(f"{server}/engine.html")
        page.wait_for_function("window.__vatel && window.__vatel.stats().state === 'error'", timeout=15000)
        status = page.evaluate("window.__test.kinds('status')")
        assert [s["state"] for s in status] == ["starting", "mic-denied"]
        assert "Allow" in status[1]["error"]
        assert page.get_attribute(".vatel-status", "data-state") == "error"
        assert "Microphone access was denied" in page.text_content(".vatel-status")
        assert page.evaluate("window.__test.kinds('ready').length") == 0
        assert page.text_content(".vatel-call") == "Start call"
    finally:
        b.close()


def test_adaptive_playout_by_default_and_fixed_cushion_from_the_trait(browser: Browser, server: str) -> None:
    """jitter_ms None (the widget's default): adaptive playout, target reported with each event;
    a number: that fixed cushion, for the next turn."""
    page = _open(browser, server)
    try:
        page.evaluate("window.__test.set('jitter_ms', null)")
        page.wait_for_function("window.__vatel.stats().playback && window.__vatel.stats().playback.adaptive")
        page.evaluate("window.__test.playTone('a1', 440, 0.3)")
        started = _wait_playback(page, "started", "a1")
        stopped = _wait_playback(page, "stopped", "a1")
        assert started["target_ms"] == 30 and stopped["samples"] == 7200, (started, stopped)
        page.evaluate("window.__test.set('jitter_ms', 45)")
        page.wait_for_function("window.__vatel.stats().playback.adaptive === false")
        page.evaluate("window.__test.playTone('a2', 440, 0.3)")
        assert _wait_playback(page, "started", "a2")["target_ms"] == 45
        assert page.evaluate("window.__vatel.stats().playback.targetMs") == 45
    finally:
        page.close()
