"""Typed call records (``GET /v1/calls``, ``GET /v1/calls/{id}``); same rules as :mod:`._models`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._models import _bool, _float, _int, _obj, _str, _strs

__all__ = ["Call", "CallPage", "Pagination", "TranscriptEntry", "TranscriptToolCall"]


@dataclass(frozen=True)
class TranscriptToolCall:
    """Tool invocation metadata on a transcript row; ``arguments`` is the JSON text as sent."""

    item_id: str | None = None
    call_id: str | None = None
    tool_name: str | None = None
    arguments: str | None = None
    output: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> TranscriptToolCall:
        d = _obj(data)
        keys = ("itemId", "callId", "toolName", "arguments", "output", "startedAt", "endedAt")
        return cls(*(_str(d, k) for k in keys), raw=d)


@dataclass(frozen=True)
class TranscriptEntry:
    """One transcript row: ``type`` is message | tool_call | tool_call_output | interruption;
    ``duration_ms`` in milliseconds."""

    index: int | None = None
    role: str | None = None
    message: str | None = None
    type: str | None = None
    tool_call: TranscriptToolCall | None = None
    tool_call_output: str | None = None
    created_at: str | None = None
    duration_ms: int | None = None
    turn_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> TranscriptEntry:
        d = _obj(data)
        tc = d.get("toolCall")
        return cls(
            index=_int(d, "index"),
            role=_str(d, "role"),
            message=_str(d, "message"),
            type=_str(d, "type"),
            tool_call=TranscriptToolCall.from_json(tc) if isinstance(tc, dict) else None,
            tool_call_output=_str(d, "toolCallOutput"),
            created_at=_str(d, "createdAt"),
            duration_ms=_int(d, "durationMs"),
            turn_id=_str(d, "turnId"),
            raw=d,
        )


@dataclass(frozen=True)
class Call:
    """A call record (``GET /v1/calls/{id}``, items of ``GET /v1/calls``).

    ``transcript`` is empty when the server stored none; ``duration_seconds`` in seconds;
    ``cost`` is the billed total; extracted variables and feedback stay in ``raw``.
    """

    id: str | None
    agent_id: str | None = None
    status: str | None = None
    source: str | None = None
    outbound: bool | None = None
    party_number: str | None = None
    termination_reason: str | None = None
    created_at: str | None = None
    connected_at: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_seconds: int | None = None
    summary: str | None = None
    cost: float | None = None
    tags: tuple[str, ...] = ()
    transcript: tuple[TranscriptEntry, ...] = ()
    graph_version_id: str | None = None
    organization_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Call:
        d = _obj(data)
        entries = _obj(d.get("transcript")).get("entries")
        return cls(
            id=_str(d, "id"),
            agent_id=_str(d, "agent_id"),
            status=_str(d, "status"),
            source=_str(d, "source"),
            outbound=_bool(d, "outbound"),
            party_number=_str(d, "party_number"),
            termination_reason=_str(d, "termination_reason"),
            created_at=_str(d, "created_at"),
            connected_at=_str(d, "connected_at"),
            started_at=_str(d, "started_at"),
            ended_at=_str(d, "ended_at"),
            duration_seconds=_int(d, "duration_seconds"),
            summary=_str(d, "summary"),
            cost=_float(d, "cost"),
            tags=_strs(d, "tags"),
            transcript=tuple(TranscriptEntry.from_json(e) for e in entries if isinstance(e, dict))
            if isinstance(entries, list)
            else (),
            graph_version_id=_str(d, "graph_version_id"),
            organization_id=_str(d, "organization_id"),
            raw=d,
        )


@dataclass(frozen=True)
class Pagination:
    """Page position of a :class:`CallPage` (pages count from 1)."""

    page: int = 1
    page_size: int = 0
    total: int = 0
    total_pages: int = 0
    has_next: bool = False
    has_prev: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Pagination:
        d = _obj(data)
        return cls(
            page=_int(d, "page") or 1,
            page_size=_int(d, "page_size") or 0,
            total=_int(d, "total") or 0,
            total_pages=_int(d, "total_pages") or 0,
            has_next=bool(_bool(d, "has_next")),
            has_prev=bool(_bool(d, "has_prev")),
            raw=d,
        )


@dataclass(frozen=True)
class CallPage:
    """One page of ``GET /v1/calls``: ``calls`` plus ``pagination``."""

    calls: tuple[Call, ...]
    pagination: Pagination
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> CallPage:
        d = _obj(data)
        calls = d.get("calls")
        items = (
            tuple(Call.from_json(c) for c in calls if isinstance(c, dict)) if isinstance(calls, list) else ()
        )
        return cls(items, Pagination.from_json(d.get("pagination")), raw=d)
