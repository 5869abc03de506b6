"""What the call core asks its shell to do: :class:`Effects` and the rows, sends and samples in it.

The core (:mod:`._core`) returns these; the shell (:mod:`._runner`) carries them out in order. All
times are kernel seconds since the call's log ``t0``; ``t_browser`` is the page's clock, ms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..protocol import ToolCall, ToolCallOutput

__all__ = ["ClientRecord", "ClockSample", "Effects", "MicFrame", "Row", "ServerRecord"]


class Row(NamedTuple):
    """One event-log row: ``log.append(source, type, t, **fields)``."""

    source: str
    type: str
    t: float
    fields: dict[str, Any]


class ServerRecord(NamedTuple):
    """A server message to record (``record_server_message``; its audio goes to the agent track)."""

    msg: Any
    t: float
    pcm: bytes | None


class ClientRecord(NamedTuple):
    """A client message that was sent (``record_client_message``; mic audio goes to the user track)."""

    msg: Any
    t: float
    seq: int | None = None
    t_browser: float | None = None
    pcm: bytes | None = None


class ClockSample(NamedTuple):
    """A ping/pong pair for ``log.clock.add_sample``: kernel send/receive s, page clock ms."""

    k_send: float
    t_browser: float
    k_recv: float


class MicFrame(NamedTuple):
    """A mic frame to send as ``input_audio`` (``pcm`` is silence while muted)."""

    seq: int | None
    t_browser: float | None
    pcm: bytes


@dataclass(slots=True)
class Effects:
    """What the shell must do after one input. All lists are in order."""

    rows: list[Row | ServerRecord | ClientRecord | ClockSample] = field(default_factory=list)
    send: list[MicFrame | ToolCallOutput] = field(default_factory=list)
    page: list[tuple[dict[str, Any], list[bytes]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    tools: list[ToolCall] = field(default_factory=list)
    #: End the call with this reason (a sentence for the user), cleanly.
    end: str | None = None
    #: A new agent turn reached the page or became audible: refresh the live latency figure.
    latency: bool = False

    def row(self, source: str, type_: str, t: float, **fields: Any) -> None:
        self.rows.append(Row(source, type_, t, fields))

    def to_page(self, envelope: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self.page.append((envelope, buffers or []))
