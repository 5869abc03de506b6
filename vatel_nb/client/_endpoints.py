"""One builder per REST endpoint, shared by the sync and async clients.

A builder validates its arguments and returns a :class:`Request`: method, path, query, JSON body
and the function that turns the decoded answer into a typed result. The clients only differ in
how they send it (``httpx.Client`` vs ``httpx.AsyncClient``); :func:`finish` turns the response
into the result or the typed error, for both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from .._errors import VatelError, error_from_response, register_secret
from ._call_models import Call, CallPage
from ._models import Agent, Organization, SessionToken

T = TypeVar("T")

__all__ = [
    "Request",
    "call_recording",
    "finish",
    "get_agent",
    "get_call",
    "list_agents",
    "list_calls",
    "next_page",
    "organization",
    "session_token",
]

_TRANSPORTS = ("websocket", "webrtc")


@dataclass(frozen=True)
class Request(Generic[T]):
    """A REST call, ready to send: ``parse`` maps the decoded JSON (or bytes if ``binary``) to T."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: dict[str, str] | None = None
    json: dict[str, Any] | None = None
    binary: bool = False


def finish(
    req: Request[T], status: int, content: bytes, url: str, headers: Mapping[str, str] | None = None
) -> T:
    """The typed result of ``req`` given the HTTP answer, or the typed :class:`APIStatusError`
    (``headers``: the response's, for ``Retry-After`` on a 429)."""
    if status >= 400:
        raise error_from_response(status, content, url, req.method, headers)
    if req.binary:
        return req.parse(content)
    try:
        obj = json.loads(content) if content else None
    except ValueError as e:
        snippet = content[:200].decode("utf-8", "replace")
        raise VatelError(
            f"{req.method} {url} answered HTTP {status} with a body that is not JSON ({e}): {snippet!r}; "
            "check VATEL_BASE_URL / the base_url argument points at the Vatel API"
        ) from None
    return req.parse(obj)


def _id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string (a UUID), got {value!r}")
    return value.strip()


def _path_id(name: str, value: Any) -> str:
    return quote(_id(name, value), safe="")


def _expect(kind: type, what: str) -> Callable[[Any], Any]:
    def check(obj: Any) -> Any:
        if not isinstance(obj, kind):
            raise VatelError(
                f"unexpected answer for {what}: expected a JSON {kind.__name__}, got {type(obj).__name__}; "
                "check VATEL_BASE_URL / the base_url argument points at the Vatel API"
            )
        return obj

    return check


def _object_of(model: Callable[[Any], T], what: str) -> Callable[[Any], T]:
    check = _expect(dict, what)
    return lambda obj: model(check(obj))


def organization() -> Request[Organization]:
    """``GET /v1/organization``."""
    return Request("GET", "/v1/organization", _object_of(Organization.from_json, "organization"))


def list_agents() -> Request[list[Agent]]:
    """``GET /v1/agents``."""
    check = _expect(list, "agents.list()")
    return Request(
        "GET", "/v1/agents", lambda obj: [Agent.from_json(a) for a in check(obj) if isinstance(a, dict)]
    )


def get_agent(agent_id: str) -> Request[Agent]:
    """``GET /v1/agents/{id}``."""
    return Request(
        "GET", f"/v1/agents/{_path_id('agent_id', agent_id)}", _object_of(Agent.from_json, "agents.get()")
    )


def session_token(
    agent_id: str,
    *,
    version_id: str | None = None,
    chat_id: str | None = None,
    transport: str | None = None,
    first_message: str | None = None,
    prompt: str | None = None,
    chat: bool | None = None,
) -> Request[SessionToken]:
    """``POST /v1/session-token``; only the fields given are sent (the server rejects extra ones)."""
    body: dict[str, Any] = {"agent_id": _id("agent_id", agent_id)}
    for name, value in (("version_id", version_id), ("chat_id", chat_id)):
        if value is not None:
            body[name] = _id(name, value)
    if transport is not None:
        if transport not in _TRANSPORTS:
            raise ValueError(f"transport must be one of {_TRANSPORTS}, got {transport!r}")
        body["transport"] = transport
    for name, value in (("first_message", first_message), ("prompt", prompt)):
        if value is not None:
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {type(value).__name__}")
            body[name] = value
    if chat is not None:
        if not isinstance(chat, bool):
            raise TypeError(f"chat must be True or False, got {chat!r}")
        body["chat"] = chat

    def parse(obj: Any) -> SessionToken:
        tok = SessionToken.from_json(_expect(dict, "session_token()")(obj))
        register_secret(tok.token)  # never shown in an exception text
        register_secret(tok.webrtc_token)
        if not tok.token:
            raise VatelError(
                "the session-token answer has no 'token'; check VATEL_BASE_URL points at the Vatel API"
            )
        return tok

    return Request("POST", "/v1/session-token", parse, json=body)


def _rfc3339(name: str, value: str | datetime | date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)  # naive datetimes are taken as UTC
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    if isinstance(value, str):
        return value
    raise TypeError(f"{name} must be an RFC3339 string, a datetime or a date, got {type(value).__name__}")


def _int_at_least(name: str, value: Any, low: int, high: int | None = None) -> str:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or value < low
        or (high is not None and value > high)
    ):
        bound = f"between {low} and {high}" if high is not None else f"≥ {low}"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return str(value)


def list_calls(
    *,
    page: int = 1,
    page_size: int = 20,
    agent_ids: str | Sequence[str] | None = None,
    status: str | None = None,
    source: str | None = None,
    date_from: str | datetime | date | None = None,
    date_to: str | datetime | date | None = None,
    outbound: bool | None = None,
    search: str | None = None,
    tag: str | None = None,
    outcome: str | None = None,
    organization_id: str | None = None,
) -> Request[CallPage]:
    """``GET /v1/calls`` with the filters given (agent ids comma-joined, dates as RFC3339 UTC)."""
    params = {
        "page": _int_at_least("page", page, 1),
        "page_size": _int_at_least("page_size", page_size, 1, 100),
    }
    if agent_ids is not None:
        ids = [agent_ids] if isinstance(agent_ids, str) else list(agent_ids)
        params["agent_ids"] = ",".join(_id("agent_ids[]", a) for a in ids)
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value is not None:
            params[name] = _rfc3339(name, value)
    if outbound is not None:
        if not isinstance(outbound, bool):
            raise TypeError(f"outbound must be True or False, got {outbound!r}")
        params["outbound"] = "true" if outbound else "false"
    for name, value in (
        ("status", status),
        ("source", source),
        ("search", search),
        ("tag", tag),
        ("outcome", outcome),
        ("organization_id", organization_id),
    ):
        if value is not None:
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {type(value).__name__}")
            params[name] = value
    return Request("GET", "/v1/calls", _object_of(CallPage.from_json, "calls.list()"), params=params)


def next_page(page: CallPage) -> int | None:
    """The page number after ``page``, or None when it was the last (or empty) one."""
    if not page.calls or not page.pagination.has_next:
        return None
    return page.pagination.page + 1


def get_call(call_id: str) -> Request[Call]:
    """``GET /v1/calls/{id}``."""
    return Request(
        "GET", f"/v1/calls/{_path_id('call_id', call_id)}", _object_of(Call.from_json, "calls.get()")
    )


def call_recording(call_id: str) -> Request[bytes]:
    """``GET /v1/calls/{id}/recording``: the WAV file's bytes."""
    return Request("GET", f"/v1/calls/{_path_id('call_id', call_id)}/recording", bytes, binary=True)
