"""The kernel's audio devices through sounddevice/PortAudio: import it, list devices, pick them.

Every failure is a :class:`LocalAudioError` whose message says what to install or pass:
sounddevice not installed (``pip install 'vatel-nb[local]'``), the PortAudio library missing
(``apt install libportaudio2`` / ``brew install portaudio``), no input or no output device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._errors import VatelError

__all__ = ["AudioDevice", "LocalAudioError", "audio_devices", "format_devices", "import_sounddevice", "pick"]

#: What to install when PortAudio cannot be loaded, per platform.
INSTALL_PORTAUDIO = (
    "install the PortAudio library: Debian/Ubuntu `sudo apt install libportaudio2`, "
    "Fedora `sudo dnf install portaudio`, macOS `brew install portaudio` "
    "(the sounddevice wheels for macOS and Windows include it)"
)


class LocalAudioError(VatelError):
    """The kernel's audio devices cannot be used; the message says what to install or choose."""


def import_sounddevice() -> Any:
    """The ``sounddevice`` module, or :class:`LocalAudioError` saying what to install."""
    try:
        import sounddevice
    except ImportError as e:
        raise LocalAudioError(
            "local audio needs the sounddevice package: pip install 'vatel-nb[local]'"
        ) from e
    except OSError as e:  # sounddevice raises OSError('PortAudio library not found')
        raise LocalAudioError(f"local audio could not load PortAudio ({e}): {INSTALL_PORTAUDIO}") from e
    return sounddevice


@dataclass(frozen=True)
class AudioDevice:
    """One PortAudio device: ``index`` (what ``--input``/``--output`` take, as does its name),
    channel counts, default sample rate (Hz), host API name, and whether it is the default."""

    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    default_input: bool = False
    default_output: bool = False


def audio_devices(sd: Any = None) -> list[AudioDevice]:
    """Every PortAudio device (:class:`LocalAudioError` when PortAudio is missing)."""
    sd = sd or import_sounddevice()
    try:
        raw = sd.query_devices()
        apis = sd.query_hostapis()
        default_in, default_out = (sd.default.device[0], sd.default.device[1])
    except Exception as e:  # PortAudioError: PortAudio could not initialize (no audio system)
        raise LocalAudioError(f"PortAudio could not list audio devices: {e}") from e
    out = []
    for d in raw:
        i = int(d["index"])
        out.append(
            AudioDevice(
                index=i,
                name=str(d["name"]),
                host_api=str(apis[d["hostapi"]]["name"]),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
                default_input=i == default_in,
                default_output=i == default_out,
            )
        )
    return out


def format_devices(devices: list[AudioDevice]) -> str:
    """A table of ``devices`` for ``vatel-nb talk --list-devices`` (``>`` / ``<`` mark the
    default input / output)."""
    if not devices:
        return "no audio devices (PortAudio found none)"
    lines = ["    #  in out  rate   host API      name"]
    for d in devices:
        mark = (">" if d.default_input else " ") + ("<" if d.default_output else " ")
        lines.append(
            f"{mark} {d.index:>2} {d.max_input_channels:>3} {d.max_output_channels:>3} "
            f"{d.default_samplerate / 1000:>5.1f}k  {d.host_api[:12]:<12}  {d.name}"
        )
    lines.append("(> default input, < default output; pass a number or part of a name to --input / --output)")
    return "\n".join(lines)


def pick(devices: list[AudioDevice], wanted: str | int | None, kind: str) -> AudioDevice:
    """The ``kind`` (``"input"`` | ``"output"``) device named by ``wanted``: an index, or a
    case-insensitive part of its name; None = the default. :class:`LocalAudioError` if none fits."""
    attr = "max_input_channels" if kind == "input" else "max_output_channels"
    usable = [d for d in devices if getattr(d, attr) > 0]
    if not usable:
        thing = "microphone" if kind == "input" else "speaker or headphones"
        raise LocalAudioError(
            f"no audio {kind} device: connect a {thing}"
            " (on Linux, a sound server such as PulseAudio/PipeWire with its ALSA plugin, "
            "`apt install libasound2-plugins`, exposes its devices to PortAudio)"
        )
    if wanted is None or wanted == "":
        for d in usable:
            if getattr(d, f"default_{kind}"):
                return d
        return usable[0]
    text = str(wanted).strip()
    if text.isdigit():
        for d in usable:
            if d.index == int(text):
                return d
    else:
        exact = [d for d in usable if d.name.lower() == text.lower()]
        found = exact or [d for d in usable if text.lower() in d.name.lower()]
        if len(found) == 1 or exact:
            return found[0]
        if found:
            names = ", ".join(f"{d.index}: {d.name}" for d in found)
            raise LocalAudioError(
                f"--{kind} {text!r} matches several {kind} devices ({names}); pass its number"
            )
    names = ", ".join(f"{d.index}: {d.name}" for d in usable)
    raise LocalAudioError(f"no {kind} device {text!r}; {kind} devices: {names} (see --list-devices)")
