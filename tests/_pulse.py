"""Virtual audio devices for the local-audio tests: a private PulseAudio server with two null sinks.

``vatel_speaker`` is the speaker (what the kit plays; its monitor is recorded with ``parec``);
``vatel_mic`` is the microphone's feed: speech played into it (``pacat``) comes out of its monitor
source ``vatel_mic.monitor``, which the kit opens as its input. Both run on the server's real-time
clock, so the monitors deliver audio (silence between utterances) at 24 kHz like a sound card.
PortAudio reaches the server through ALSA's pulse plugin (device ``default``/``pulse``), with
``PULSE_SERVER`` / ``PULSE_SINK`` / ``PULSE_SOURCE`` in the environment of the process under test.

The server is private (its own socket in a temporary folder): parallel runs and other engineers'
servers are not touched. ``scripts/test`` installs pulseaudio, pulseaudio-utils, libportaudio2 and
libasound2-plugins; without them the tests skip locally and fail in CI.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SPEAKER = "vatel_speaker"
MIC = "vatel_mic"
RATE = 24000


def missing() -> str | None:
    """What is missing for virtual devices (None: all there)."""
    for tool in ("pulseaudio", "pacat", "parec", "pactl"):
        if shutil.which(tool) is None:
            return f"{tool} (apt install pulseaudio pulseaudio-utils)"
    if ctypes.util.find_library("portaudio") is None:
        return "PortAudio (apt install libportaudio2)"
    if not list(Path("/usr/lib").glob("*/alsa-lib/libasound_module_pcm_pulse.so")):
        return "ALSA's pulse plugin (apt install libasound2-plugins)"
    return None


def require() -> None:
    """Skip when the virtual devices cannot be made; in CI that is a failure (scripts/test installs them)."""
    why = missing()
    if why is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"virtual audio devices need {why}: scripts/test installs it")
    pytest.skip(f"virtual audio devices need {why}")


@dataclass
class PulseDevices:
    """A running private PulseAudio server; :attr:`env` points a process at its devices."""

    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def server(self) -> str:
        return f"unix:{self.folder / 'native'}"

    @property
    def env(self) -> dict[str, str]:
        """Environment for a process whose default audio devices are the virtual ones."""
        return {
            **os.environ,
            "PULSE_SERVER": self.server,
            "PULSE_SINK": SPEAKER,
            "PULSE_SOURCE": f"{MIC}.monitor",
        }

    def play(self, pcm: np.ndarray) -> subprocess.Popen[bytes]:
        """Start playing int16 24 kHz mono ``pcm`` into the mic feed (real time); returns pacat."""
        p = subprocess.Popen(
            ["pacat", "--playback", f"--server={self.server}", f"--device={MIC}", *_FORMAT],
            stdin=subprocess.PIPE,
        )
        assert p.stdin is not None
        p.stdin.write(np.asarray(pcm, "<i2").tobytes())
        p.stdin.close()
        return p

    def record(self, path: Path) -> subprocess.Popen[bytes]:
        """Start recording the speaker's monitor (int16 24 kHz mono raw) into ``path``; stop it
        with ``terminate()``."""
        return subprocess.Popen(
            [
                "parec",
                f"--server={self.server}",
                f"--device={SPEAKER}.monitor",
                "--latency-msec=20",
                *_FORMAT,
            ],
            stdout=path.open("wb"),
        )


_FORMAT = ["--format=s16le", f"--rate={RATE}", "--channels=1", "--raw"]


@contextlib.contextmanager
def pulse_devices(folder: Path) -> Iterator[PulseDevices]:
    """Run a private PulseAudio server with the two null sinks for the duration of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "default.pa"
    config.write_text(
        f"load-module module-native-protocol-unix socket={folder / 'native'} auth-anonymous=1\n"
        f"load-module module-null-sink sink_name={SPEAKER} rate={RATE} channels=1\n"
        f"load-module module-null-sink sink_name={MIC} rate={RATE} channels=1\n"
        f"set-default-sink {SPEAKER}\n"
        f"set-default-source {MIC}.monitor\n"
    )
    env = {
        **os.environ,
        "HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder),
        "PULSE_RUNTIME_PATH": str(folder / "runtime"),
        "PULSE_STATE_PATH": str(folder / "state"),
    }
    log = (folder / "pulseaudio.log").open("wb")
    proc = subprocess.Popen(
        ["pulseaudio", "-n", "-F", str(config), "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    dev = PulseDevices(folder, proc)
    try:
        deadline = time.monotonic() + 20
        while True:
            ok = subprocess.run(
                ["pactl", f"--server={dev.server}", "info"], capture_output=True, check=False
            ).returncode
            if ok == 0:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                text = (folder / "pulseaudio.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"pulseaudio did not start: {text}")
            time.sleep(0.1)
        yield dev
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
