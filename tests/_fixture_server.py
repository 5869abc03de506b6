"""A small Vatel-shaped server for client tests: Starlette + uvicorn in a thread on 127.0.0.1:0.

It serves canned JSON (``ORG``, ``AGENTS``, ``CALLS``, ``RECORDING``) for the endpoints the
client calls, and can be told to misbehave:

- ``server.override(path, status=…, json=… | text=…, delay=…)``: answer that path (any method)
  with the given status / body / delay until ``reset()``;
- ``server.responders[path] = fn``: answer that path with ``fn(request)`` (a Starlette
  ``Response``: any status, headers and body) until ``reset()``;
- ``server.ws_script = [...]``: what the voice socket does after accepting: ``("send", text)``,
  ``("send_bytes", b)``, ``("recv", n)`` (record n client messages), ``("sleep", s)``,
  ``("close", code, reason)``, ``("wait_close",)`` (record messages until the client closes),
  ``("crash",)`` (the app raises: uvicorn ends the socket abnormally);
- ``server.ws_deny = (status, body, content_type)``: refuse the upgrade with that HTTP answer;
- ``server.ws_accept_delay``: seconds to wait before accepting (open timeouts).

Everything received is recorded: ``server.requests`` (method, path, query, headers, body) and
``server.ws_received`` / ``server.ws_queries``.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import threading
import time
import wave
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

API_KEY = "test-api-key"
TOKEN = "tok/with spaces+and&symbols=?"
AGENT_ID = "3f1c9a52-5a43-4c2e-9a77-0d2f6f6c1a01"
AGENT2_ID = "8d2b1e34-77aa-4f61-b0d8-2c9e3a4b5c02"
ORG = {"id": "0b6f3c2a-1111-4a2b-9c3d-4e5f60718293", "name": "Acme", "created_at": "2026-01-02T03:04:05Z"}
AGENTS = [
    {
        "id": AGENT_ID,
        "name": "Demo agent",
        "status": "active",
        "llm": "gpt-4o-mini",
        "prompt": "You are helpful.",
        "first_message": "Hello! How can I help?",
        "first_message_interruption_time": 1.5,
        "default_language": "en",
        "summarize_calls": True,
        "vad_settings": {"start_secs": 0.2, "stop_secs": 0.8, "silence_timeout_secs": 10},
        "keyterms": ["Vatel"],
        "created_at": "2026-01-02T03:04:05Z",
        "some_future_field": {"x": 1},
    },
    {"id": AGENT2_ID, "name": "Second", "status": "inactive"},
]


def _call(i: int) -> dict[str, Any]:
    return {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "agent_id": AGENT_ID,
        "status": "ended",
        "source": "api",
        "outbound": False,
        "created_at": f"2026-02-{i + 1:02d}T10:00:00Z",
        "duration_seconds": 30 + i,
        "cost": 0.25,
        "tags": ["demo"],
        "transcript": {
            "entries": [
                {"index": 0, "role": "assistant", "message": "Hello!", "type": "message", "turnId": "t1"},
                {
                    "index": 1,
                    "role": "",
                    "type": "tool_call",
                    "toolCall": {"callId": "c1", "toolName": "lookup", "arguments": '{"q": "x"}'},
                    "durationMs": 120,
                },
            ]
        },
    }


CALLS = [_call(i) for i in range(5)]


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24_000)
        w.writeframes(bytes(range(256)) * 10)
    return buf.getvalue()


RECORDING = _wav()


@dataclass
class Override:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    json: Any = field(default=None)


class FixtureServer:
    """Run with ``with FixtureServer() as server:``; ``server.base_url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self.api_key = API_KEY
        self.token = TOKEN
        self.reset()
        routes = [
            Route("/v1/organization", self._handler(lambda r: ORG)),
            Route("/v1/agents", self._handler(lambda r: AGENTS)),
            Route("/v1/agents/{id}", self._handler(self._agent)),
            Route("/v1/session-token", self._handler(self._session_token), methods=["POST"]),
            Route("/v1/calls", self._handler(self._calls)),
            Route("/v1/calls/{id}", self._handler(self._call)),
            Route("/v1/calls/{id}/recording", self._handler(self._recording)),
            WebSocketRoute("/v1/connection", self._socket),
        ]
        self.app = Starlette(routes=routes)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, ws="websockets-sansio", log_level="critical", lifespan="off", ws_ping_interval=None
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def reset(self) -> None:
        """Forget recordings and misbehaviour (between tests)."""
        self.requests: list[Recorded] = []
        self.overrides: dict[str, Override] = {}
        self.responders: dict[str, Any] = {}
        self.ws_script: list[tuple[Any, ...]] = [("wait_close",)]
        self.ws_deny: tuple[int, bytes, str] | None = None
        self.ws_accept_delay = 0.0
        self.ws_received: list[str | bytes] = []
        self.ws_queries: list[str] = []
        self.ws_done = threading.Event()

    def override(
        self, path: str, status: int = 200, *, json: Any = None, text: str | None = None, delay: float = 0.0
    ) -> None:
        """Answer ``path`` with ``status`` and a JSON (``json=``) or plain-text (``text=``) body."""
        if text is not None:
            self.overrides[path] = Override(status, text.encode(), "text/plain", delay)
        else:
            body = b"" if json is None else _dumps(json)
            self.overrides[path] = Override(status, body, "application/json", delay)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fixture server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    # ------------------------------------------------------------------ REST

    def _handler(self, fn: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            self.requests.append(
                Recorded(
                    request.method,
                    request.url.path,
                    request.url.query,
                    dict(request.query_params),
                    dict(request.headers),
                    body,
                    parsed,
                )
            )
            responder = self.responders.get(request.url.path)
            if responder is not None:
                return responder(request)
            ov = self.overrides.get(request.url.path)
            if ov is not None:
                if ov.delay:
                    await asyncio.sleep(ov.delay)
                return Response(ov.body, ov.status, media_type=ov.content_type)
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return JSONResponse({"error": "invalid API key"}, 401)
            result = fn(request)
            if isinstance(result, Response):
                return result
            return Response(_dumps(result), 200, media_type="application/json")

        return endpoint

    def _agent(self, request: Request) -> Any:
        for agent in AGENTS:
            if agent["id"] == request.path_params["id"]:
                return agent
        return JSONResponse({"error": "agent not found"}, 404)

    def _session_token(self, request: Request) -> Any:
        from _spec import is_valid  # local: the server module stays importable on its own

        body = self.requests[-1].json
        if not is_valid("GenerateSessionTokenRequest", body):
            return JSONResponse({"error": "invalid request body"}, 400)
        if body["agent_id"] not in (a["id"] for a in AGENTS):
            return JSONResponse({"error": "agent not found"}, 404)
        return {"token": self.token}

    def _calls(self, request: Request) -> Any:
        q = request.query_params
        page, size = int(q.get("page", 1)), int(q.get("page_size", 20))
        chosen = CALLS
        if "agent_ids" in q:
            chosen = [c for c in chosen if c["agent_id"] in q["agent_ids"].split(",")]
        total = len(chosen)
        pages = max(1, -(-total // size))
        items = chosen[(page - 1) * size : page * size]
        pagination = {
            "page": page,
            "page_size": size,
            "total": total,
            "total_pages": pages,
            "has_next": page < pages,
            "has_prev": page > 1,
        }
        return {"calls": items, "pagination": pagination}

    def _call(self, request: Request) -> Any:
        for call in CALLS:
            if call["id"] == request.path_params["id"]:
                return call
        return JSONResponse({"error": "call not found"}, 404)

    def _recording(self, request: Request) -> Any:
        if request.path_params["id"] not in (c["id"] for c in CALLS):
            return JSONResponse({"error": "recording not found"}, 404)
        return Response(RECORDING, 200, media_type="audio/wav")

    # ------------------------------------------------------------------ WebSocket

    async def _socket(self, ws: WebSocket) -> None:
        self.ws_queries.append(ws.url.query)
        try:
            if self.ws_deny is not None:
                status, body, ctype = self.ws_deny
                await ws.send_denial_response(Response(body, status, media_type=ctype))
                return
            if ws.query_params.get("token") != self.token:
                await ws.send_denial_response(JSONResponse({"error": "invalid session token"}, 401))
                return
            if self.ws_accept_delay:
                await asyncio.sleep(self.ws_accept_delay)
            await ws.accept()
            await self._run_script(ws)
        except WebSocketDisconnect:
            pass
        finally:
            self.ws_done.set()

    async def _run_script(self, ws: WebSocket) -> None:
        for action, *args in self.ws_script:
            if action == "send":
                await ws.send_text(args[0])
            elif action == "send_bytes":
                await ws.send_bytes(args[0])
            elif action == "sleep":
                await asyncio.sleep(args[0])
            elif action == "recv":
                for _ in range(args[0]):
                    self.ws_received.append(await self._receive(ws))
            elif action == "close":
                await ws.close(args[0], args[1] if len(args) > 1 else None)
                return
            elif action == "wait_close":
                while True:
                    self.ws_received.append(await self._receive(ws))
            elif action == "crash":  # the app fails mid-session: uvicorn ends the socket abnormally
                raise RuntimeError("fixture server crash (on purpose)")
            else:
                raise ValueError(f"unknown script action {action!r}")

    @staticmethod
    async def _receive(ws: WebSocket) -> str | bytes:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(msg.get("code", 1000))
        return msg.get("text") if msg.get("text") is not None else msg.get("bytes", b"")


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()
