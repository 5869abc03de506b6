"""What a :class:`~vatel_nb.session.VatelSession` does with the front-end's envelopes.

Runs on the session's loop only (the :class:`~._bridge.Inbox` hands batches over). Rows appended
(``docs/architecture.md``): ``browser/mic-captured``, ``browser/playback-started|stopped|flushed``,
``browser/underrun``, ``browser/clock-sync``, ``browser/status``, ``browser/error``, ``local/dropped`` (mic
frames the inbox had to drop) and ``local/error`` for envelopes that make no sense.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import OrderedDict
from typing import Any

from ..widget import _messages as env
from ._bridge import Incoming

__all__ = ["FrontendMixin"]

_BURST = 5  # pings right after ``ready``
_BURST_GAP_S = 0.05
_MAX_BAD_ENVELOPE_ROWS = 100


class FrontendMixin:
    """Front-end side methods of VatelSession (state lives on the session)."""

    log: Any
    _state: dict[str, Any]

    def _init_frontend_state(self) -> None:
        self._pings: OrderedDict[int, float] = OrderedDict()  # id → k_send (kernel s since t0)
        self._ping_id = 0
        self._ping_task: asyncio.Task[None] | None = None
        self._inbox_drops_logged = 0
        self._bad_envelopes = 0
        self.frontend_info: dict[str, Any] = {}

    # ------------------------------------------------------------------ out

    def _to_frontend(self, envelope: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        try:
            dropped = self._outbox.send(envelope, buffers)
        except Exception as e:  # e.g. the widget's comm is closed: the call goes on, recorded
            self.log.append(
                "local", "error", text=f"could not send {envelope.get('kind')!r} to the front-end: {e}"
            )
            return
        if dropped is not None:
            self.log.append(
                "local",
                "dropped",
                text="frontend-outbox",
                turn_id=dropped.get("turn_id"),
                seq=dropped.get("seq"),
            )

    # ------------------------------------------------------------------ in

    def _consume(self, batch: list[Incoming]) -> None:
        lost = self._inbox.mic_dropped - self._inbox_drops_logged
        if lost > 0:
            self._inbox_drops_logged += lost
            self.log.append("local", "dropped", text="mic-inbox", detail={"frames": lost})
        for envelope, buffers, t_abs in batch:
            try:
                self._on_envelope(envelope, buffers, t_abs - self.log.t0)
            except env.EnvelopeError as e:
                self._bad_envelope(str(e))
            except Exception as e:  # never let one envelope break the others
                self._bad_envelope(f"{type(e).__name__}: {e}")

    def _bad_envelope(self, why: str) -> None:
        self._bad_envelopes += 1
        if self._bad_envelopes <= _MAX_BAD_ENVELOPE_ROWS:
            self.log.append("local", "error", text=f"ignored a front-end envelope: {why}")

    def _on_envelope(self, envelope: dict[str, Any], buffers: list[Any], t: float) -> None:
        env.validate_browser_envelope(envelope, buffers)
        kind = envelope["kind"]
        clock = envelope.get("clock")  # "modelled" from a headless caller; None = the page's clock
        log = self.log
        if kind == "mic":
            pcm = env.as_bytes(buffers[0])
            if len(pcm) % 2:
                raise env.EnvelopeError(
                    f"mic frame {envelope['seq']} has an odd number of bytes ({len(pcm)})"
                )
            if self._state["status"] not in ("connecting", "live"):
                return
            seq, t_browser = envelope["seq"], float(envelope["t_browser"])
            log.append(
                "browser",
                "mic-captured",
                t=t,
                seq=seq,
                samples=len(pcm) // 2,
                t_browser=t_browser,
                clock=clock,
            )
            self._queue_mic(seq, t_browser, pcm)
        elif kind == "pong":
            self._on_pong(envelope, t)
        elif kind == "playback":
            self._on_playback(envelope, t)
        elif kind == "control":
            self._on_control(envelope["action"])
        elif kind == "status":
            self._on_status(envelope, t)
        elif kind == "ready":
            self.frontend_info = {k: v for k, v in envelope.items() if k != "kind"}
            log.append("browser", "status", t=t, text="ready", detail=dict(self.frontend_info), clock=clock)
            self._outbox.mark_ready()
            self._start_pings()

    def _on_control(self, action: str) -> None:
        if action == "start":
            if self._finished:
                self._set_state(error="this call has ended; create a new VatelSession() for another call")
            elif self._start_task is None:
                self.start_soon()
        elif action == "end":
            self.end_soon("the call was ended from the page")
        elif action in ("mute", "unmute"):
            self.set_muted(action == "mute")

    def _on_status(self, envelope: dict[str, Any], t: float) -> None:
        state, error = envelope["state"], envelope.get("error")
        if error:
            self.log.append(
                "browser", "error", t=t, text=str(error), detail={"state": state}, clock=envelope.get("clock")
            )
            self._set_state(error=str(error))
        else:
            self.log.append("browser", "status", t=t, text=state, clock=envelope.get("clock"))

    def _on_playback(self, envelope: dict[str, Any], t: float) -> None:
        event = envelope["event"]
        detail = {
            k: envelope[k] for k in ("dropped_samples", "output_latency_ms") if envelope.get(k) is not None
        }
        samples = envelope.get("samples")
        self.log.append(
            "browser",
            "underrun" if event == "underrun" else f"playback-{event}",
            t=t,
            turn_id=envelope.get("turn_id"),
            t_browser=float(envelope["t_browser"]),
            samples=None if samples is None else int(samples),
            detail=detail or None,
            clock=envelope.get("clock"),
        )
        if event == "started":
            self._update_latency()

    # ------------------------------------------------------------------ clock pings

    def _start_pings(self) -> None:
        if self._ping_task is None and not self._finished:
            self._ping_task = asyncio.get_running_loop().create_task(
                self._ping_loop(), name="vatel-clock-ping"
            )

    def _stop_pings(self) -> None:
        if self._ping_task is not None:
            self._ping_task.cancel()
            self._ping_task = None

    async def _ping_loop(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            for _ in range(_BURST):
                self._send_ping()
                await asyncio.sleep(_BURST_GAP_S)
            while True:
                await asyncio.sleep(self._ping_interval_s)
                self._send_ping()

    def _send_ping(self) -> None:
        self._ping_id += 1
        self._pings[self._ping_id] = self.log.now()
        while len(self._pings) > 64:
            self._pings.popitem(last=False)
        self._to_frontend(env.ping(self._ping_id))

    def _on_pong(self, envelope: dict[str, Any], k_recv: float) -> None:
        k_send = self._pings.pop(envelope["id"], None)
        if k_send is None:
            raise env.EnvelopeError(f"pong for unknown ping id {envelope['id']!r}")
        t_browser = float(envelope["t_browser"])
        if not math.isfinite(t_browser) or k_recv < k_send:
            raise env.EnvelopeError(f"pong {envelope['id']}: t_browser or timing is not usable")
        self.log.clock.add_sample(k_send, t_browser, k_recv)
        rtt_ms = (k_recv - k_send) * 1000.0
        offset_ms = t_browser - (k_send + k_recv) * 500.0
        self.log.append(
            "browser",
            "clock-sync",
            t=k_recv,
            t_browser=t_browser,
            detail={"rtt_ms": rtt_ms, "offset_ms": offset_ms, "ping_id": envelope["id"]},
            clock=envelope.get("clock"),
        )
