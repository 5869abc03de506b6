"""The simulator's HTTP + WebSocket routes (Starlette), following Vatel's ``openapi.json``.

Implemented: ``GET /v1/organization``, ``GET /v1/agents``, ``GET /v1/agents/{id}``,
``POST /v1/session-token``, ``GET /v1/connection`` (WebSocket), ``GET /v1/calls``,
``GET /v1/calls/{id}``, ``GET /v1/calls/{id}/recording``. The spec's other endpoints answer
501. Extension (NOT part of Vatel's API): ``GET /_sim/sessions/{id}/ground-truth``.
All REST routes want ``Authorization: Bearer <api key>`` (401 otherwise); every error is JSON
``{"error": "..."}``. ``/v1/connection`` refuses a missing or malformed token (400), a forged or
expired one (401), an unknown agent (404) and a token whose call is still live (409) with that
JSON body, before any upgrade.

Hardening: a request body over ``max_body_bytes`` → 413, a JSON body nested deeper than
:data:`MAX_JSON_DEPTH` → 400 (never a 500), and error texts quote at most
:data:`SHOWN_CHARS` characters of what the client sent. Under the ``vendor`` profile a JSON
``null`` in ``POST /v1/session-token`` means "absent" (the vendor SDK sends them); ``spec`` refuses
it, as ``openapi.json`` does.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import math
import uuid
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from ._agents import ORGANIZATION_ID
from ._tokens import TokenError

if TYPE_CHECKING:
    from ._state import SimulatorState

__all__ = ["MAX_JSON_DEPTH", "SHOWN_CHARS", "build_app"]

#: Deepest JSON nesting a request body may have (the token request needs 1).
MAX_JSON_DEPTH = 32
#: Characters of a client-sent value quoted back in an error text.
SHOWN_CHARS = 80

log = logging.getLogger("vatel_nb.simulator")

_TOKEN_FIELDS = {
    "agent_id": str, "version_id": str, "chat_id": str, "transport": str,
    "first_message": str, "prompt": str, "chat": bool,
}  # fmt: skip
_CALL_STATUSES = ("connected", "started", "in_progress", "auth_failed", "ended")
_CALL_SOURCES = ("twilio", "sip", "simulation", "api")
_OUTCOMES = {
    "ended_by_agent": ("ended_by_agent", "idle_timeout"),
    "ended_by_user": ("ended_by_user",),
    "transferred": (),
}
_UNIMPLEMENTED = [
    ("/v1/llms", ["GET"]), ("/v1/voices", ["GET"]), ("/v1/agents", ["POST"]),
    ("/v1/agents/{id}", ["PATCH", "DELETE"]), ("/v1/agents/{id}/versions", ["GET", "POST"]),
    ("/v1/agents/{id}/versions/{versionId}", ["GET", "PATCH", "DELETE"]),
    ("/v1/agents/{id}/versions/{versionId}/publish", ["POST"]), ("/v1/agents/{id}/dial", ["POST"]),
    ("/v1/twilio/numbers", ["GET", "POST"]), ("/v1/twilio/numbers/{id}", ["GET", "PATCH", "DELETE"]),
    ("/v1/sip-trunks", ["GET", "POST"]), ("/v1/sip-trunks/{id}", ["GET", "PATCH", "DELETE"]),
    ("/v1/sip-trunks/{id}/assignments", ["GET", "POST"]),
    ("/v1/sip-trunks/assignments/{assignmentId}", ["GET", "PATCH", "DELETE"]),
]  # fmt: skip


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _shown(value: Any) -> str:
    """A client-sent value for an error text, cut to :data:`SHOWN_CHARS` (never echo large inputs)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= SHOWN_CHARS:
        return repr(value)
    return f"{text[:SHOWN_CHARS]!r}… ({len(text)} characters)"


def _depth_ok(obj: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``obj`` (decoded JSON) nests at most ``limit`` levels (iterative: no recursion)."""
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return False
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return True


async def _read_json(request: Request, limit: int) -> Any:
    """The request's JSON body; raises :class:`_BodyError` (413 too big, 400 bad or too deep)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyError(413, f"request body of {int(declared)} bytes is over the {limit}-byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _BodyError(413, f"request body is over the {limit}-byte limit")
    try:
        obj = json.loads(body)
    except RecursionError:
        raise _BodyError(400, f"JSON body nested too deeply (limit {MAX_JSON_DEPTH} levels)") from None
    except ValueError:
        raise _BodyError(400, 'invalid JSON body: send {"agent_id": "<uuid>"}') from None
    if not _depth_ok(obj):
        raise _BodyError(400, f"JSON body nested too deeply (limit {MAX_JSON_DEPTH} levels)")
    return obj


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _parse_time(value: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def build_app(state: SimulatorState) -> Starlette:
    """The Starlette app serving ``state`` (agents, sessions, calls, token signer)."""

    def auth(request: Request) -> JSONResponse | None:
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header[:7].lower() == "bearer " else request.headers.get("api-key", "")
        if not key:
            return _error(401, "missing API key: send the header 'Authorization: Bearer <api key>'")
        if not hmac.compare_digest(key.encode(), state.api_key.encode()):
            return _error(401, "invalid API key: use the simulator's api_key (sim.api_key)")
        return None

    async def organization(request: Request) -> Response:
        return auth(request) or JSONResponse(
            {"id": ORGANIZATION_ID, "name": "vatel-nb simulator", "created_at": state.created_at}
        )

    async def list_agents(request: Request) -> Response:
        return auth(request) or JSONResponse([a.to_json() for a in state.agents.values()])

    async def get_agent(request: Request) -> Response:
        if (denied := auth(request)) is not None:
            return denied
        agent_id = request.path_params["id"]
        if not _is_uuid(agent_id):
            return _error(400, f"invalid agent id {_shown(agent_id)}: expected a UUID")
        agent = state.agents.get(agent_id)
        return JSONResponse(agent.to_json()) if agent else _error(404, f"agent {agent_id} not found")

    async def session_token(request: Request) -> Response:
        if (denied := auth(request)) is not None:
            return denied
        try:
            body = await _read_json(request, state.max_body_bytes)
        except _BodyError as e:
            return _error(e.status, str(e))
        if not isinstance(body, dict):
            return _error(400, 'the body must be a JSON object like {"agent_id": "<uuid>"}')
        extra = sorted(set(body) - set(_TOKEN_FIELDS))
        if extra:
            shown = [_shown(k) for k in extra[:5]]
            return _error(400, f"unknown properties {shown}; allowed: {sorted(_TOKEN_FIELDS)}")
        if state.profile.null_token_fields:  # the vendor SDK sends every optional field, as null
            body = {k: v for k, v in body.items() if v is not None}
        for name, kind in _TOKEN_FIELDS.items():
            if name in body and not isinstance(body[name], kind):
                return _error(400, f"{name} must be a {kind.__name__.replace('str', 'string')}")
        if "agent_id" not in body:
            return _error(400, "missing required property agent_id (the agent's UUID)")
        for name in ("agent_id", "version_id", "chat_id"):
            if name in body and not _is_uuid(body[name]):
                return _error(400, f"{name} {_shown(body[name])} is not a valid UUID")
        transport = body.get("transport", "websocket")
        if transport not in ("websocket", "webrtc"):
            return _error(
                400, f"invalid transport {_shown(transport)}: use 'websocket' (default) or 'webrtc'"
            )
        if body["agent_id"] not in state.agents:
            return _error(
                404, f"agent {body['agent_id']} not found; GET /v1/agents lists the available agents"
            )
        if transport == "webrtc":
            return _error(503, "WebRTC is not configured on this simulator: use transport 'websocket'")
        token = state.signer.issue(
            body["agent_id"],
            version_id=body.get("version_id"),
            first_message=body.get("first_message"),
            prompt=body.get("prompt"),
            chat_id=body.get("chat_id"),
            chat=bool(body.get("chat")),
        )
        return JSONResponse({"token": token})

    async def connection(ws: WebSocket) -> None:
        try:
            payload = state.signer.verify(ws.query_params.get("token"))
        except TokenError as e:
            await ws.send_denial_response(_error(e.status, str(e)))
            return
        agent = state.agents.get(payload["agent_id"])
        if agent is None:
            await ws.send_denial_response(_error(404, f"agent {payload['agent_id']} not found"))
            return
        if state.stopping:
            await ws.send_denial_response(_error(503, "the simulator is stopping"))
            return
        jti = str(payload.get("jti") or "")
        if jti in state.live_tokens:
            await ws.send_denial_response(
                _error(409, "this session token already has a live call: get a new token for each call")
            )
            return
        state.live_tokens.add(jti)
        await state.run_session(ws, agent, payload.get("parameters") or {}, jti)

    async def connection_http(request: Request) -> Response:
        return _error(
            400, "GET /v1/connection is a WebSocket endpoint: connect with ws://…/v1/connection?token=…"
        )

    async def list_calls(request: Request) -> Response:
        if (denied := auth(request)) is not None:
            return denied
        q = request.query_params
        try:
            page = int(q.get("page", "1"))
            page_size = int(q.get("page_size", "20"))
        except ValueError:
            return _error(400, "page and page_size must be integers")
        if page < 1:
            return _error(400, f"page must be >= 1, got {page}")
        if not 1 <= page_size <= 100:
            return _error(400, f"page_size must be between 1 and 100, got {page_size}")
        if "organization_id" in q and not _is_uuid(q["organization_id"]):
            return _error(400, f"organization_id {_shown(q['organization_id'])} is not a valid UUID")
        records = list(state.calls.values())
        if q.get("agent_ids"):
            ids = [s.strip() for s in q["agent_ids"].split(",") if s.strip()]
            bad = [_shown(s) for s in ids if not _is_uuid(s)]
            if bad:
                return _error(400, f"agent_ids has {len(bad)} invalid UUIDs: {', '.join(bad[:3])}")
            records = [r for r in records if r.agent_id in ids]
        for name, allowed in (
            ("status", _CALL_STATUSES),
            ("source", _CALL_SOURCES),
            ("outcome", tuple(_OUTCOMES)),
        ):
            if name in q and q[name] not in allowed:
                return _error(400, f"invalid {name} {_shown(q[name])}; expected one of {list(allowed)}")
        if "status" in q:
            records = [r for r in records if r.status == q["status"]]
        if "source" in q:
            records = [r for r in records if q["source"] == "api"]
        if "outcome" in q:
            records = [r for r in records if r.termination_reason in _OUTCOMES[q["outcome"]]]
        if "outbound" in q:
            if q["outbound"] not in ("true", "false"):
                return _error(400, f"outbound must be 'true' or 'false', got {_shown(q['outbound'])}")
            records = [r for r in records if q["outbound"] == "false"]
        if len(q.get("search", "")) > 256 or len(q.get("tag", "")) > 128:
            return _error(400, "search is limited to 256 characters and tag to 128")
        if q.get("search"):
            records = []  # simulated calls have no party number
        if q.get("tag"):
            records = []  # simulated calls carry no tags
        for name, keep in (("date_from", lambda a, b: a >= b), ("date_to", lambda a, b: a <= b)):
            if name in q:
                try:
                    bound = _parse_time(q[name])
                except ValueError:
                    return _error(400, f"{name} {_shown(q[name])} is not an RFC 3339 / ISO 8601 time")
                records = [r for r in records if keep(r.wall0, bound)]
        records.sort(key=lambda r: r.t0, reverse=True)
        total = len(records)
        pages = max(1, math.ceil(total / page_size))
        chunk = records[(page - 1) * page_size : page * page_size]
        pagination = {"page": page, "page_size": page_size, "total": total, "total_pages": pages,
                      "has_next": page < pages, "has_prev": page > 1}  # fmt: skip
        return JSONResponse({"calls": [r.to_json(transcript=False) for r in chunk], "pagination": pagination})

    def find_call(request: Request) -> Any:
        if (denied := auth(request)) is not None:
            return denied
        call_id = request.path_params["id"]
        if not _is_uuid(call_id):
            return _error(400, f"invalid call id {_shown(call_id)}: expected a UUID")
        record = state.calls.get(call_id)
        return record if record is not None else _error(404, f"call {call_id} not found")

    async def get_call(request: Request) -> Response:
        found = find_call(request)
        return found if isinstance(found, Response) else JSONResponse(found.to_json())

    async def get_recording(request: Request) -> Response:
        found = find_call(request)
        if isinstance(found, Response):
            return found
        if not found.has_recording:
            return _error(
                404,
                f"the recording of call {found.id} is no longer kept (the simulator keeps the newest ones)",
            )
        body = found.wav()
        headers = {
            "Content-Disposition": f'attachment; filename="{found.id}.wav"',
            "Content-Length": str(len(body)),
        }
        return Response(body, media_type="audio/wav", headers=headers)

    async def ground_truth(request: Request) -> Response:
        if (denied := auth(request)) is not None:
            return denied
        session = state.sessions.get(request.path_params["id"])
        if session is None:
            return _error(404, f"session {_shown(request.path_params['id'])} not found")
        return JSONResponse(session.truth.to_dict())

    def unimplemented(path: str) -> Any:
        async def endpoint(request: Request) -> Response:
            return auth(request) or _error(
                501,
                f"{request.method} {path} is in Vatel's API but not implemented by the vatel-nb simulator",
            )

        return endpoint

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = _shown(request.url.path)
        if exc.status_code == 404:
            return _error(404, f"no route {path}: see Vatel's openapi.json for the API's paths")
        if exc.status_code == 405:
            return _error(405, f"method {_shown(request.method)} not allowed on {path}")
        return _error(exc.status_code, str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("simulator: %s %s failed", request.method, _shown(request.url.path), exc_info=exc)
        return _error(500, f"internal simulator error: {type(exc).__name__} (see the simulator's log)")

    routes: list[Any] = [
        Route("/v1/organization", organization, methods=["GET"]),
        Route("/v1/agents", list_agents, methods=["GET"]),
        Route("/v1/agents/{id}", get_agent, methods=["GET"]),
        Route("/v1/session-token", session_token, methods=["POST"]),
        WebSocketRoute("/v1/connection", connection),
        Route("/v1/connection", connection_http, methods=["GET"]),
        Route("/v1/calls", list_calls, methods=["GET"]),
        Route("/v1/calls/{id}", get_call, methods=["GET"]),
        Route("/v1/calls/{id}/recording", get_recording, methods=["GET"]),
        Route("/_sim/sessions/{id}/ground-truth", ground_truth, methods=["GET"]),
    ]
    routes += [Route(path, unimplemented(path), methods=methods) for path, methods in _UNIMPLEMENTED]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error, Exception: server_error})
