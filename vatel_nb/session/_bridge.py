"""The session's side of the front-end link: envelopes in from any thread, envelopes out once ready.

A *front-end* is anything that speaks the widget ↔ browser envelope (``docs/architecture.md``):
the anywidget model, or a headless scripted caller in the same process. It implements
:class:`Frontend` and feeds the session with ``session.handle_frontend(envelope, buffers)``.

- :class:`Inbox` is the only hand-off between threads: comm handlers (which JupyterLab may run
  on a kernel *subshell* thread) put envelopes in it and return at once; the session's event loop
  drains it. It is bounded: ``mic`` frames beyond ``mic_capacity`` waiting frames are dropped and
  counted (``mic_dropped``), other envelopes beyond ``other_capacity`` likewise (``other_dropped``).
- :class:`Outbox` holds kernel → front-end envelopes until the front-end has sent ``ready``
  (early messages are lost otherwise); it keeps at most ``capacity`` of them, dropping the
  oldest and counting it. ``ping`` is never queued. It packs each envelope for the transport the
  front-end chose in ``ready`` (``binary`` buffers, or ``base64`` text inside the envelope).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .. import envelope as env

__all__ = ["Frontend", "Inbox", "Incoming", "Outbox"]


@runtime_checkable
class Frontend(Protocol):
    """What the session needs from a front-end. Both methods are called on the session's loop."""

    def send(self, envelope: dict[str, Any], buffers: list[bytes]) -> None:
        """Deliver one kernel → browser envelope (``audio`` carries one PCM16 buffer)."""

    def update_state(self, changes: dict[str, Any]) -> None:
        """UI state changed (keys are the widget's trait names: status, error, transcript, …).
        Optional: a front-end without this method just gets no state updates."""


#: One envelope waiting in the inbox: (envelope, buffers, perf_counter() at hand-off).
Incoming = tuple[dict[str, Any], list[Any], float]


class Inbox:
    """Bounded, thread-safe queue from any thread to one asyncio loop (see the module docstring)."""

    def __init__(self, mic_capacity: int = 100, other_capacity: int = 1000) -> None:
        self.mic_capacity = int(mic_capacity)
        self.other_capacity = int(other_capacity)
        self._lock = threading.Lock()
        self._items: deque[Incoming] = deque()
        self._n_mic = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: Callable[[list[Incoming]], None] | None = None
        self._scheduled = False
        #: Frames / envelopes dropped because the inbox was full (totals).
        self.mic_dropped = 0
        self.other_dropped = 0
        #: Largest number of items waiting at once (for tests and diagnostics).
        self.high_water = 0

    def bind(self, loop: asyncio.AbstractEventLoop, consumer: Callable[[list[Incoming]], None]) -> None:
        """Deliver batches to ``consumer`` on ``loop`` from now on (items already waiting included)."""
        with self._lock:
            self._loop, self._consumer = loop, consumer
            wake = bool(self._items) and not self._scheduled
            self._scheduled = self._scheduled or wake
        if wake:
            self._wake()

    def put(self, envelope: dict[str, Any], buffers: list[Any]) -> bool:
        """Queue one envelope from any thread; False if it was dropped because the inbox is full."""
        t = time.perf_counter()
        # not a dict: queued as other envelopes are, for the call's core to log what is wrong
        is_mic = envelope.__class__ is dict and envelope.get("kind") == "mic"
        with self._lock:
            if is_mic and self._n_mic >= self.mic_capacity:
                self.mic_dropped += 1
                return False
            if not is_mic and len(self._items) - self._n_mic >= self.other_capacity:
                self.other_dropped += 1
                return False
            self._items.append((envelope, buffers, t))
            self._n_mic += is_mic
            if len(self._items) > self.high_water:
                self.high_water = len(self._items)
            wake = self._loop is not None and not self._scheduled
            self._scheduled = self._scheduled or wake
        if wake:
            self._wake()
        return True

    def __len__(self) -> int:
        return len(self._items)

    def _wake(self) -> None:
        loop = self._loop
        try:
            assert loop is not None
            loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nothing will consume any more
            with self._lock:
                self._scheduled = False

    def _drain(self) -> None:
        with self._lock:
            batch = list(self._items)
            self._items.clear()
            self._n_mic = 0
            self._scheduled = False
            consumer = self._consumer
        if batch and consumer is not None:
            consumer(batch)


class Outbox:
    """Kernel → front-end envelopes held until ``ready``; bounded (oldest dropped first)."""

    def __init__(self, capacity: int = 500) -> None:
        self._pending: deque[tuple[dict[str, Any], list[bytes]]] = deque()
        self.capacity = int(capacity)
        self.frontend: Frontend | None = None
        self.ready = False
        #: How buffers travel to the front-end (``envelope.TRANSPORTS``), as its ``ready`` said.
        self.transport = "binary"
        #: Envelopes dropped while waiting for ``ready`` (total) and the last one's kind.
        self.dropped = 0
        #: Envelopes delivered to the front-end (total).
        self.sent = 0

    def send(self, envelope: dict[str, Any], buffers: list[bytes] | None = None) -> dict[str, Any] | None:
        """Send now if a ready front-end is attached, else queue. Returns an envelope dropped to make
        room (so the caller can log it), else None. ``ping`` is sent only when ready, never queued."""
        buffers = buffers or []
        if self.ready and self.frontend is not None:
            self._deliver(envelope, buffers)
            return None
        if envelope.get("kind") == "ping":
            return None
        dropped = None
        if len(self._pending) >= self.capacity:
            dropped = self._pending.popleft()[0]
            self.dropped += 1
        self._pending.append((envelope, buffers))
        return dropped

    def mark_ready(self) -> int:
        """The front-end sent ``ready``: flush what waited, in order. Returns how many were sent."""
        self.ready = True
        n = 0
        while self._pending and self.frontend is not None:
            envelope, buffers = self._pending.popleft()
            self._deliver(envelope, buffers)
            n += 1
        return n

    def _deliver(self, envelope: dict[str, Any], buffers: list[bytes]) -> None:
        assert self.frontend is not None
        self.frontend.send(*env.pack(envelope, buffers, self.transport))
        self.sent += 1
