"""Device picking and the messages when PortAudio, sounddevice or devices are missing (no audio I/O)."""

from __future__ import annotations

import importlib.abc
import sys

import pytest

from vatel_nb.local import AudioDevice, LocalAudioError, format_devices, import_sounddevice, pick
from vatel_nb.widget._kernel_audio import probe_kernel_audio

DEVICES = [
    AudioDevice(0, "HDA Intel PCH: ALC3246 Analog (hw:0,0)", "ALSA", 2, 2, 48000.0),
    AudioDevice(1, "USB Headset: Audio (hw:1,0)", "ALSA", 1, 2, 48000.0),
    AudioDevice(2, "pulse", "ALSA", 32, 32, 44100.0),
    AudioDevice(3, "default", "ALSA", 32, 32, 44100.0, default_input=True, default_output=True),
    AudioDevice(4, "HDMI 0", "ALSA", 0, 8, 48000.0),
]


def test_pick_by_default_number_and_name_part():
    assert pick(DEVICES, None, "input").name == "default"
    assert pick(DEVICES, "4", "output").name == "HDMI 0"
    assert pick(DEVICES, "headset", "input").index == 1
    assert pick(DEVICES, "PULSE", "output").index == 2


def test_pick_says_what_is_wrong():
    with pytest.raises(LocalAudioError, match=r"no input device 'HDMI'.*see --list-devices"):
        pick(DEVICES, "HDMI", "input")  # an output-only device
    with pytest.raises(LocalAudioError, match="matches several input devices"):
        pick(DEVICES, "hw:", "input")
    with pytest.raises(LocalAudioError, match="no audio input device: connect a microphone"):
        pick([DEVICES[4]], None, "input")


def test_format_devices_marks_the_defaults():
    text = format_devices(DEVICES)
    assert "><  3" in text and "USB Headset" in text and "--input / --output" in text
    assert format_devices([]).startswith("no audio devices")


class _Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, error: Exception) -> None:
        self.error = error

    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            raise self.error
        return None


@pytest.fixture
def no_sounddevice(monkeypatch):
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)

    def install(error: Exception) -> None:
        monkeypatch.setattr(sys, "meta_path", [_Refuse(error), *sys.meta_path])

    return install


def test_missing_portaudio_says_what_to_install(no_sounddevice):
    no_sounddevice(OSError("PortAudio library not found"))
    with pytest.raises(LocalAudioError, match=r"apt install libportaudio2.*brew install portaudio"):
        import_sounddevice()
    info = probe_kernel_audio()  # the widget's offer: not available, with the same sentence
    assert info["available"] is False and "libportaudio2" in info["reason"]


def test_missing_sounddevice_says_which_extra(no_sounddevice):
    no_sounddevice(ImportError("No module named 'sounddevice'"))
    with pytest.raises(LocalAudioError, match=r"pip install 'vatel-nb\[local\]'"):
        import_sounddevice()
