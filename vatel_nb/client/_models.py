"""Typed REST results: frozen dataclasses built tolerantly from the server's JSON.

Unknown fields are ignored and a field of the wrong JSON type becomes ``None`` (a newer server
must not break an older client); the untouched JSON object is always kept in ``.raw``
(excluded from ``==`` and ``repr``). Attribute names are snake_case; timestamps stay RFC3339
strings exactly as sent (UTC wall clock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Agent", "Organization", "SessionToken", "VadSettings"]


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(d: dict, key: str) -> str | None:
    v = d.get(key)
    return v if isinstance(v, str) else None


def _bool(d: dict, key: str) -> bool | None:
    v = d.get(key)
    return v if isinstance(v, bool) else None


def _int(d: dict, key: str) -> int | None:
    v = d.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _float(d: dict, key: str) -> float | None:
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _strs(d: dict, key: str) -> tuple[str, ...]:
    v = d.get(key)
    return tuple(x for x in v if isinstance(x, str)) if isinstance(v, list) else ()


@dataclass(frozen=True)
class Organization:
    """``GET /v1/organization``: the organization your API key belongs to."""

    id: str | None
    name: str | None
    created_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Organization:
        d = _obj(data)
        return cls(_str(d, "id"), _str(d, "name"), _str(d, "created_at"), raw=d)


@dataclass(frozen=True)
class VadSettings:
    """Server voice-activity-detection timing, in seconds (``start_secs`` of speech starts a turn,
    ``stop_secs`` of silence ends it)."""

    start_secs: float | None = None
    stop_secs: float | None = None
    silence_timeout_secs: float | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> VadSettings:
        d = _obj(data)
        return cls(_float(d, "start_secs"), _float(d, "stop_secs"), _float(d, "silence_timeout_secs"), raw=d)


@dataclass(frozen=True)
class Agent:
    """A voice agent (``GET /v1/agents``, ``GET /v1/agents/{id}``).

    ``first_message_interruption_time`` is in seconds. Voice, noise-cancel and timeout settings
    stay in ``raw``.
    """

    id: str | None
    name: str | None = None
    status: str | None = None
    llm: str | None = None
    fallback_llm: str | None = None
    prompt: str | None = None
    first_message: str | None = None
    first_message_interruption_time: float | None = None
    default_language: str | None = None
    phone_number_id: str | None = None
    summarize_calls: bool | None = None
    enable_first_message_outbound: bool | None = None
    vad_settings: VadSettings | None = None
    keyterms: tuple[str, ...] = ()
    created_at: str | None = None
    updated_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Agent:
        d = _obj(data)
        vad = d.get("vad_settings")
        return cls(
            id=_str(d, "id"),
            name=_str(d, "name"),
            status=_str(d, "status"),
            llm=_str(d, "llm"),
            fallback_llm=_str(d, "fallback_llm"),
            prompt=_str(d, "prompt"),
            first_message=_str(d, "first_message"),
            first_message_interruption_time=_float(d, "first_message_interruption_time"),
            default_language=_str(d, "default_language"),
            phone_number_id=_str(d, "phone_number_id"),
            summarize_calls=_bool(d, "summarize_calls"),
            enable_first_message_outbound=_bool(d, "enable_first_message_outbound"),
            vad_settings=VadSettings.from_json(vad) if isinstance(vad, dict) else None,
            keyterms=_strs(d, "keyterms"),
            created_at=_str(d, "created_at"),
            updated_at=_str(d, "updated_at"),
            raw=d,
        )


@dataclass(frozen=True)
class SessionToken:
    """``POST /v1/session-token``: a short-lived JWT for ``GET /v1/connection?token=…``.

    ``room``, ``identity``, ``url`` and ``webrtc_token`` are set only for ``transport="webrtc"``.
    Tokens are hidden from ``repr``.
    """

    token: str = field(repr=False)
    room: str | None = None
    identity: str | None = None
    url: str | None = None
    webrtc_token: str | None = field(default=None, repr=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> SessionToken:
        d = _obj(data)
        return cls(
            _str(d, "token") or "",
            _str(d, "room"),
            _str(d, "identity"),
            _str(d, "url"),
            _str(d, "webrtc_token"),
            raw=d,
        )
