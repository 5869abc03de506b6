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

__all__ = ["VatelWidget"]


class VatelWidget(anywidget.AnyWidget):
    """The voice-call widget for one session (``session.widget()``; display it in a cell).

    Synced traits (UI state): ``status``, ``error``, ``transcript``, ``last_latency_ms``,
    ``last_latency_kind``, ``muted``, ``mic_processing``, ``jitter_ms`` (a fixed playback cushion,
    ms; None: adaptive playout), ``autostart``, ``agent_name``, ``backend``, ``transport``
    (``"auto"``: the page probes binary buffers each way before ``ready`` and falls back to base64
    if either fails; ``"binary"`` / ``"base64"``: no probe, use that; the choice is in
    ``session.frontend_info["transport"]`` and the log's ``browser/status ready`` row).
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

    def __init__(self, session: Any = None, **kwargs: Any) -> None:
        self._state_lock = threading.RLock()
        names = set(self.class_trait_names(sync=True))
        initial = {k: v for k, v in (session.ui_state if session is not None else {}).items() if k in names}
        initial.update(kwargs)
        super().__init__(**initial)
        self._session = session
        self.on_msg(self._on_custom)
        self.observe(self._on_muted, names="muted")
        if session is not None:
            session.attach(self)

    # ------------------------------------------------------------------ page → kernel (any thread)

    def _handle_msg(self, msg: dict[str, Any]) -> None:
        with self._state_lock:
            super()._handle_msg(msg)

    def _on_custom(self, _widget: Any, content: Any, buffers: list[Any]) -> None:
        session = self._session
        if session is not None and isinstance(content, dict):
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
