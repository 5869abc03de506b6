"""The kernel's own audio devices as a front-end (sounddevice/PortAudio): ``vatel-nb talk`` and
the widget's "use this computer's audio devices (kernel)".

:class:`LocalAudio` opens an input and an output stream and speaks the page's envelope to a
:class:`~vatel_nb.session.VatelSession`; :class:`LocalAudioCore` is its I/O-free logic. Times are
PortAudio's stream time (``clock="device"`` in the log). Needs the ``local`` extra and the
PortAudio library; :class:`LocalAudioError` says what to install when either is missing.
"""

from ._core import DEVICE_CLOCK, LocalAudioCore, level_dbfs
from ._devices import AudioDevice, LocalAudioError, audio_devices, format_devices, import_sounddevice, pick
from ._stream import ECHO_WARNING, LocalAudio

__all__ = [
    "DEVICE_CLOCK",
    "ECHO_WARNING",
    "AudioDevice",
    "LocalAudio",
    "LocalAudioCore",
    "LocalAudioError",
    "audio_devices",
    "format_devices",
    "import_sounddevice",
    "level_dbfs",
    "pick",
]
