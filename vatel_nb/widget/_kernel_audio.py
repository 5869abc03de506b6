"""The widget's kernel-audio mode: the kernel's own mic and speaker instead of the page's.

For notebooks whose page has no microphone but whose kernel runs on the user's machine (VS Code's
webviews have no media devices, microsoft/vscode#119127). The page offers "use this computer's
audio devices (kernel)" when the ``kernel_audio`` trait says devices are there; choosing it sets
``audio_source = "kernel"``. Then :class:`KernelAudio` opens a
:class:`~vatel_nb.local.LocalAudio` front-end on the session (PortAudio streams, ``clock="device"``)
and the page only shows the state and sends ``control`` envelopes; it plays nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["KernelAudio", "probe_kernel_audio"]


def probe_kernel_audio() -> dict[str, Any]:
    """What the ``kernel_audio`` trait says: ``{"available": bool, "input": name, "output": name,
    "reason": a sentence when not available (what to install or connect)}``."""
    try:
        from ..local import audio_devices, pick

        devices = audio_devices()
        mic, speaker = pick(devices, None, "input"), pick(devices, None, "output")
    except Exception as e:  # LocalAudioError (what to install), or anything PortAudio raised
        return {"available": False, "input": "", "output": "", "reason": str(e)}
    return {"available": True, "input": mic.name, "output": speaker.name, "reason": ""}


class KernelAudio:
    """The kernel-audio mode of one widget. ``page_frontend``: the widget (re-attached when the mode
    ends); ``on_state``: the widget's ``update_state`` (the session's UI state goes there)."""

    def __init__(self, session: Any, page_frontend: Any, on_state: Callable[[dict[str, Any]], None]) -> None:
        self.session = session
        self.page_frontend = page_frontend
        self.on_state = on_state
        self.local: Any = None
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """True while the kernel's devices are the session's front-end."""
        return self.local is not None

    def enable(self, *, half_duplex: bool = False, jitter_ms: float = 60.0) -> None:
        """Open the default devices and make them the session's front-end (raises
        :class:`~vatel_nb.local.LocalAudioError` saying what to install or connect)."""
        with self._lock:
            if self.local is not None:
                return
            from ..local import LocalAudio

            local = LocalAudio(
                self.session, half_duplex=half_duplex, jitter_ms=jitter_ms, on_state=self.on_state
            )
            local.open()
            self.local = local

    def new_call(self) -> None:
        """The page pressed Start: capture again (a finished call stopped it)."""
        local = self.local
        if local is not None:
            local.resume()

    def disable(self) -> None:
        """Close the devices and give the session back to the page."""
        with self._lock:
            local, self.local = self.local, None
        if local is not None:
            local.close()
            self.session.attach(self.page_frontend)
