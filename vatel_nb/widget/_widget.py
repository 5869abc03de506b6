"""The notebook widget: an anywidget model that is one front-end of a :class:`VatelSession`.

The page (``js/src``) captures the mic and plays the agent; this model only relays envelopes.
Comm messages may arrive on a kernel *subshell* thread (JupyterLab's ``commsOverSubshells``), so
the handlers here never touch asyncio objects: they hand each envelope to
``session.handle_frontend`` (a bounded, thread-safe inbox) and return. Trait updates come from
the session's loop through :meth:`VatelWidget.update_state`, under a lock shared with incoming
state updates. Audio goes both ways as binary buffers, or as base64 text inside the envelope when
the page found binary buffers unusable or ``transport="base64"`` is set (Colab); traits carry UI
state and never a secret (no API key, no session token).
"""

from __future__ import annotations

import threading
from typing import Any

import anywidget
import traitlets

from .. import envelope as env
from ._bundle import widget_esm
from ._kernel_audio import KernelAudio, probe_kernel_audio

__all__ = ["VatelWidget"]


class VatelWidget(anywidget.AnyWidget):
    """The voice-call widget for one session (``session.widget()``; display it in a cell).

    Synced traits (UI state): ``status``, ``error``, ``transcript``, ``last_latency_ms``,
    ``last_latency_kind``, ``muted``, ``mic_processing``, ``jitter_ms`` (a fixed playback cushion,
    ms; None: adaptive playout), ``autostart``, ``agent_name``, ``backend``, ``transport``
    (``"auto"``: the page probes binary buffers each way before ``ready`` and falls back to base64
    if either fails; ``"binary"`` / ``"base64"``: no probe, use that; the choice is in
    ``session.frontend_info["transport"]`` and the log's ``browser/status ready`` row); the
    kernel-audio mode (:mod:`._kernel_audio`): ``kernel_audio`` (what the kernel's devices are,
    once the page asked with ``control probe-kernel-audio``), ``audio_source`` (``"page"`` |
    ``"kernel"``: set by the kernel once ``control use-kernel-audio`` / ``use-page-audio`` took
    effect), ``half_duplex`` (kernel mode: mic muted while the agent is audible; there is no echo
    cancellation on that path).
    """

    _esm = widget_esm()

    status = traitlets.Unicode("idle", help="idle | connecting | live | ended | error").tag(sync=True)
    error = traitlets.Unicode("", help="the last error, as a sentence saying what to do").tag(sync=True)
    transcript = traitlets.List(traitlets.Dict(), help="[{role, text, final, turn_id}]").tag(sync=True)
    last_latency_ms = traitlets.Float(None, allow_none=True, help="last turn latency, ms").tag(sync=True)
    last_latency_kind = traitlets.Unicode("", help="which latency last_latency_ms is").tag(sync=True)
    muted = traitlets.Bool(False, help="mic muted (both ways)").tag(sync=True)
    mic_processing = traitlets.Bool(True, help="echo cancellation, noise suppression, AGC").tag(sync=True)
    jitter_ms = traitlets.Float(
        None, allow_none=True, help="fixed playback cushion, ms; None: adaptive playout (the default)"
    ).tag(sync=True)
    autostart = traitlets.Bool(False, help="start the call when the widget renders (tests)").tag(sync=True)
    agent_name = traitlets.Unicode("", help="the agent's display name").tag(sync=True)
    backend = traitlets.Unicode("", help='"simulator" or the server host').tag(sync=True)
    transport = traitlets.Enum(
        ("auto", "binary", "base64"), "auto", help="how audio travels: probe (auto), binary or base64"
    ).tag(sync=True)
    kernel_audio = traitlets.Dict(
        {}, help="the kernel's audio devices: {available, input, output, reason}; {} until probed"
    ).tag(sync=True)
    audio_source = traitlets.Unicode("page", help='"page" | "kernel" (the kernel\'s devices)').tag(sync=True)
    half_duplex = traitlets.Bool(False, help="kernel audio: mic muted while the agent is audible").tag(
        sync=True
    )

    def __init__(self, session: Any = None, **kwargs: Any) -> None:
        self._state_lock = threading.RLock()
        names = set(self.class_trait_names(sync=True))
        initial = {k: v for k, v in (session.ui_state if session is not None else {}).items() if k in names}
        initial.update(kwargs)
        super().__init__(**initial)
        self._session = session
        self.on_msg(self._on_custom)
        self.observe(self._on_muted, names="muted")
        self._kernel = KernelAudio(session, self, self.update_state) if session is not None else None
        if session is not None:
            session.attach(self)

    # ------------------------------------------------------------------ kernel-audio mode

    def probe_kernel_audio(self) -> dict[str, Any]:
        """Look for the kernel's audio devices now; sets and returns ``kernel_audio``."""
        info = probe_kernel_audio()
        with self._state_lock:
            self.kernel_audio = info
        return info

    def use_kernel_audio(self, use: bool = True) -> None:
        """Run calls through the kernel's own devices (``use``), or give them back to the page; what
        the page's ``control use-kernel-audio`` / ``use-page-audio`` do. Returns at once (PortAudio
        may take a moment): ``audio_source`` says when it took effect, ``error`` why it did not."""
        if self._kernel is not None:
            threading.Thread(
                target=self._switch_source,
                args=("kernel" if use else "page",),
                name="vatel-kernel-audio",
                daemon=True,
            ).start()

    def _switch_source(self, source: str) -> None:
        kernel = self._kernel
        assert kernel is not None
        if source != "kernel":
            kernel.disable()
            with self._state_lock:
                self.audio_source = "page"
            return
        try:
            # the kernel's devices keep a fixed cushion (60 ms unless jitter_ms sets one)
            jitter = self.jitter_ms if self.jitter_ms is not None else 60.0
            kernel.enable(half_duplex=self.half_duplex, jitter_ms=jitter)
        except Exception as e:  # LocalAudioError says what to install or connect
            text = f"could not use this computer's audio devices: {e}"
            self._session.log.append("local", "error", text=text)
            with self._state_lock, self.hold_sync():
                self.error = text
                self.audio_source = "page"
                self.kernel_audio = {**self.kernel_audio, "reason": text}
        else:
            with self._state_lock, self.hold_sync():
                self.error = ""
                self.audio_source = "kernel"

    def close(self) -> None:
        """Close the widget (and the kernel's audio devices, if it had opened them)."""
        if self._kernel is not None:
            self._kernel.disable()
        super().close()

    # ------------------------------------------------------------------ page → kernel (any thread)

    def _handle_msg(self, msg: dict[str, Any]) -> None:
        with self._state_lock:
            super()._handle_msg(msg)

    def _on_custom(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        session = self._session
        if session is not None and isinstance(content, dict):
            kernel = self._kernel
            action = content.get("action") if content.get("kind") == "control" else None
            if action in env.WIDGET_ACTIONS:  # the widget's own: not for the call
                if action == "probe-kernel-audio":
                    if not self.kernel_audio:  # PortAudio may take a moment: not on the comm thread
                        threading.Thread(target=self.probe_kernel_audio, daemon=True).start()
                else:
                    self.use_kernel_audio(action == "use-kernel-audio")
                return
            if kernel is not None and kernel.active:
                if content.get("kind") in ("mic", "playback", "ready", "pong"):
                    return  # the kernel's devices are the front-end: the page's audio is not used
                if content.get("kind") == "control" and content.get("action") == "start":
                    kernel.new_call()
            session.handle_frontend(content, list(buffers or ()))

    def _on_muted(self, change: dict[str, Any]) -> None:
        session = self._session
        if session is not None and session.muted != change["new"]:
            session.handle_frontend(env.control("mute" if change["new"] else "unmute"))

    # ------------------------------------------------------------------ kernel → page (session loop)

    def update_state(self, changes: dict[str, Any]) -> None:
        """Set synced traits from the session (called on the session's loop)."""
        with self._state_lock, self.hold_sync():
            for name, value in changes.items():
                if self.has_trait(name):
                    setattr(self, name, value)

    # ``send(envelope, buffers)`` is ipywidgets' Widget.send: a custom comm message with buffers.
