"""The session's link to its front-end: envelopes in (any thread) and out (once ``ready``), UI state.

:class:`FrontendLink` owns the :class:`~._bridge.Inbox` / :class:`~._bridge.Outbox` pair and
the front-end's ``ready`` info; it does no call logic. Incoming envelopes are handed, in order
and on the session's loop, to the session's ``route`` callback, except ``control start`` (the
``start`` callback: a new call) and ``probe`` (answered here at once, with a probe buffer, so the
page can tell whether binary buffers work both ways) — the session decides which call an envelope
belongs to. ``ready`` sets the transport of everything sent after it.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from typing import Any

from .. import envelope as env
from ..log import EventLog
from ._bridge import Frontend, Inbox, Incoming, Outbox

__all__ = ["FrontendLink", "card_html", "card_text"]


class FrontendLink:
    """Envelopes between one front-end and the session (see the module docstring).

    ``route(envelope, buffers, t_abs)``: deliver one page envelope (``t_abs`` = ``perf_counter``
    at hand-off); ``start()``: the page asked for a call; ``live_log()``: the log of the call in
    progress (None between calls), where hand-off drops are counted.
    """

    def __init__(
        self,
        *,
        inbox_frames: int,
        route: Callable[[dict[str, Any], list[Any], float], None],
        start: Callable[[], None],
        live_log: Callable[[], EventLog | None],
    ) -> None:
        self.inbox = Inbox(mic_capacity=inbox_frames)
        self.outbox = Outbox()
        #: What the front-end said in its last ``ready`` (sample rates, latencies, user agent).
        self.frontend_info: dict[str, Any] = {}
        self._route, self._start, self._live_log = route, start, live_log
        self._drops_logged = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver incoming envelopes on ``loop`` from now on."""
        self.inbox.bind(loop, self._consume)

    @property
    def ready(self) -> bool:
        """True once the attached front-end has sent ``ready``."""
        return self.outbox.ready

    def attach(self, frontend: Frontend) -> None:
        """Use ``frontend`` (replacing any other); nothing is streamed to it before ``ready``."""
        self.outbox.frontend = frontend
        self.outbox.ready = False
        self.outbox.transport = "binary"

    def send(self, envelope: dict[str, Any], buffers: list[bytes] | None, log: EventLog) -> None:
        """To the front-end (queued until ``ready``); a failure or a drop is logged in ``log``."""
        try:
            dropped = self.outbox.send(envelope, buffers)
        except Exception as e:  # e.g. the widget's comm is closed: the call goes on, recorded
            log.append(
                "local", "error", text=f"could not send {envelope.get('kind')!r} to the front-end: {e}"
            )
            return
        if dropped is not None:
            log.append(
                "local",
                "dropped",
                text="frontend-outbox",
                turn_id=dropped.get("turn_id"),
                seq=dropped.get("seq"),
            )

    def update_state(self, changed: dict[str, Any], log: EventLog) -> None:
        """Push UI state changes to a front-end that takes them (``update_state``)."""
        update = getattr(self.outbox.frontend, "update_state", None)
        if changed and update is not None:
            try:
                update(changed)
            except Exception as e:  # a closed widget must not break the call
                log.append("local", "error", text=f"could not update the front-end: {e}")

    def _consume(self, batch: list[Incoming]) -> None:
        log = self._live_log()
        lost = self.inbox.mic_dropped - self._drops_logged
        if lost > 0 and log is not None:
            self._drops_logged += lost
            log.append("local", "dropped", text="mic-inbox", detail={"frames": lost})
        for envelope, buffers, t_abs in batch:
            kind = envelope.get("kind") if isinstance(envelope, dict) else None
            if kind == "probe":
                self._answer_probe(envelope, buffers, log)
                continue
            if kind == "ready":
                self.frontend_info = {k: v for k, v in envelope.items() if k != "kind"}
                transport = envelope.get("transport", "binary")
                self.outbox.transport = transport if transport in env.TRANSPORTS else "binary"
                self.outbox.mark_ready()
            elif kind == "control" and envelope.get("action") == "start":
                self._start()
                continue
            self._route(envelope, buffers, t_abs)

    def _answer_probe(self, envelope: dict[str, Any], buffers: list[Any], log: EventLog | None) -> None:
        """Answer the page's ``probe`` at once, binary, bypassing the outbox (held until ``ready``)."""
        frontend = self.outbox.frontend
        probe_id = envelope.get("id")
        if frontend is None or not isinstance(probe_id, int) or isinstance(probe_id, bool):
            return
        try:
            frontend.send(env.probe_reply(probe_id, env.probe_ok(buffers)), [env.PROBE_BYTES])
        except Exception as e:  # a widget manager that fails on buffers: the page times out → base64
            if log is not None:
                log.append("local", "error", text=f"could not answer the front-end's probe: {e}")

    def stats(self, runner: Any, mic_capacity: int) -> dict[str, Any]:
        """Counters: frames sent/dropped per queue (``runner``: the current call's
        :class:`~._runner.CallRunner`, or None), envelopes sent, queue high-water marks."""
        r, inbox, outbox = runner, self.inbox, self.outbox
        return {
            "mic_sent": r.core.frames_sent if r else 0,
            "dropped": {
                "inbox": inbox.mic_dropped,
                "inbox_other": inbox.other_dropped,
                "mic_queue": r.mic_dropped if r else 0,
                "outbox": outbox.dropped,
                "interrupted_chunks": r.core.late_chunks if r else 0,
            },
            "inbox_high_water": inbox.high_water,
            "mic_queue_high_water": r.mic_high_water if r else 0,
            "mic_queue_capacity": mic_capacity,
            "inbox_capacity": inbox.mic_capacity,
            "envelopes_sent": outbox.sent,
        }


def card_text(card: dict[str, str]) -> str:
    """The session's one-line repr from its card (agent, backend, calls, status)."""
    return (
        f"VatelSession(agent={card['agent']!r}, backend={card['backend']!r}, "
        f"calls={card['calls']}, status={card['status']!r})"
    )


def card_html(card: dict[str, str]) -> str:
    """The session's short HTML card: what a cell ending in ``session`` shows (not a live widget)."""
    c = {k: html.escape(v) for k, v in card.items()}
    return (
        "<div style='font-family:system-ui,sans-serif;border:1px solid #ccc;border-radius:6px;"
        "padding:6px 10px;display:inline-block'>"
        f"<b>VatelSession</b> · agent {c['agent']} · backend {c['backend']} · "
        f"{c['calls']} call(s) · status {c['status']}<br>"
        "<span style='color:#666'>display <code>session.widget()</code> to talk; "
        "<code>session.calls</code>, <code>session.turns()</code> to analyse</span></div>"
    )
