"""`vatel-nb talk` through virtual audio devices (a private PulseAudio server, tests/_pulse.py).

A whole call against the embedded simulator (pocketsphinx recognizes the user): known espeak-ng
speech is played into the virtual microphone, the agent's audio is recorded from the virtual
speaker's monitor and compared with what the kit received, and the heard voice-to-voice latency
comes from PortAudio's stream timing (``clock="device"`` rows). Ctrl-C (SIGINT) ends the call and
the session folder is written; ``vatel-nb report`` reads it.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import _pulse
import numpy as np
import pytest

VATEL_NB = str(Path(sys.executable).parent / "vatel-nb")
SAY = "Hello, can you hear me?"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory):
    _pulse.require()
    with _pulse.pulse_devices(tmp_path_factory.mktemp("pulse")) as dev:
        yield dev


def _lines(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            q.put(line.rstrip("\n"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return q, thread


def _wait_for(q: queue.Queue[str], prefix: str, seen: list[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = q.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if line.lstrip().startswith(prefix):
            return line
    raise AssertionError(f"no line starting {prefix!r} within {timeout} s; output so far: {seen}")


def _find(recording: np.ndarray, template: np.ndarray) -> tuple[int, float]:
    """Where ``template`` best matches in ``recording`` (sample offset) and the normalized correlation."""
    x, y = recording.astype(np.float64), template.astype(np.float64)
    n = 1 << int(np.ceil(np.log2(len(x) + len(y))))
    corr = np.fft.irfft(np.fft.rfft(x, n) * np.conj(np.fft.rfft(y, n)), n)[: len(x) - len(y) + 1]
    at = int(np.argmax(corr))
    window = x[at : at + len(y)]
    score = float(corr[at] / (np.linalg.norm(window) * np.linalg.norm(y) + 1e-9))
    return at, score


def test_talk_lists_the_virtual_devices(devices):
    p = subprocess.run(
        [VATEL_NB, "talk", "--list-devices"], env=devices.env, capture_output=True, text=True, timeout=60
    )
    assert p.returncode == 0, p.stderr
    assert "default" in p.stdout and ">" in p.stdout and "<" in p.stdout


def test_talk_makes_a_call_through_virtual_devices(devices, tmp_path):
    from vatel_nb.analysis import turns
    from vatel_nb.caller import Utterance
    from vatel_nb.caller._script import load_utterance_audio
    from vatel_nb.log import load_session

    speech = load_utterance_audio(Utterance.say(SAY))  # espeak-ng (the voice extra)
    out = tmp_path / "talk"
    sink = tmp_path / "speaker.raw"
    rec = devices.record(sink)
    err = tmp_path / "stderr.txt"
    proc = subprocess.Popen(
        [VATEL_NB, "talk", "--out", str(out), "--max-duration", "120"],
        env=devices.env,
        stdout=subprocess.PIPE,
        stderr=err.open("w"),
        text=True,
    )
    seen: list[str] = []
    try:
        q, pump = _lines(proc)
        _wait_for(q, "agent:", seen, 60)  # the greeting, played through the virtual speaker
        time.sleep(3.0)  # let the greeting finish playing
        devices.play(speech).wait(30)
        _wait_for(q, "you  :", seen, 30)
        _wait_for(q, "latency", seen, 30)
        time.sleep(4.0)  # let the reply play out
        proc.send_signal(signal.SIGINT)
        proc.wait(120)
        pump.join(10)
        while not q.empty():
            seen.append(q.get())
    finally:
        if proc.poll() is None:
            proc.kill()
        rec.terminate()
        rec.wait(10)
    stderr = err.read_text(errors="replace")
    assert proc.returncode == 0, f"{seen}\n{stderr}"
    assert "no echo cancellation" in stderr
    assert any(line.startswith("session folder") for line in seen), seen

    recording = load_session(out)
    log = recording.log()
    assert log.meta["frontend"]["kind"] == "local audio (PortAudio)"
    ev = log.frame()
    browser = ev[ev["source"] == "browser"]
    timed = browser[browser["t_browser"].notna()]
    assert len(timed) and (timed["clock"] == "device").all()
    assert (browser["type"] == "playback-started").sum() >= 2  # greeting and reply

    # what the kit received of each agent turn is what came out of the virtual speaker
    heard = np.frombuffer(sink.read_bytes(), "<i2")
    started = browser[browser["type"] == "playback-started"].set_index("turn_id")["t_mapped"]
    offsets = {}
    for turn_id in started.index[:2]:
        pcm = log.agent_audio.turn_pcm(turn_id)
        head = pcm[: min(len(pcm), 24000)]
        at, score = _find(heard, head)
        assert score > 0.95, f"turn {turn_id}: the speaker's audio does not match what was received ({score})"
        offsets[turn_id] = at / 24000
    # the playback times PortAudio reported agree with where the audio landed in the speaker
    first, second = list(offsets)
    measured = started[second] - started[first]
    actual = offsets[second] - offsets[first]
    print(f"playback-started gap: PortAudio {measured * 1e3:.1f} ms, speaker {actual * 1e3:.1f} ms")
    assert abs(measured - actual) < 0.05

    td = turns(recording)
    replied = td[td["v2v_ms"].notna()]
    assert len(replied) >= 1, td
    print("heard v2v through virtual devices (ms):", replied["v2v_ms"].round(1).tolist())
    assert (replied["v2v_ms"] > 0).all()

    p = subprocess.run([VATEL_NB, "report", str(out)], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    assert (out / "call.html").exists()


def test_talk_names_a_missing_device(devices, tmp_path):
    p = subprocess.run(
        [VATEL_NB, "talk", "--input", "no-such-mic", "--out", str(tmp_path / "x")],
        env=devices.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1
    assert "no input device 'no-such-mic'" in p.stderr and "--list-devices" in p.stderr
