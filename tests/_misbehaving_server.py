"""A Vatel-shaped server that misbehaves on purpose, below the level a web framework allows.

Plain asyncio TCP on 127.0.0.1 in its own thread. REST requests (``GET /v1/agents/{id}``,
``POST /v1/session-token``) get canned answers from :mod:`_fixture_server`; ``GET
/v1/connection`` is upgraded with the ``websockets`` sans-I/O :class:`ServerProtocol`, after
which the server runs ``server.script``, a list of steps:

- ``("send", text)`` / ``("send_bytes", data)``: a text / binary frame;
- ``("big", n_bytes)``: one text frame of ``n_bytes`` (a JSON string), written in pieces;
- ``("read", seconds)``: read (and so answer pings) for ``seconds``, recording client frames;
- ``("sleep", seconds)``: neither read nor write (pings go unanswered);
- ``("stream_audio", seconds)``: send 20 ms audio chunks in real time without reading;
- ``("close", code, reason)``: a proper close frame, then the TCP close;
- ``("fin",)``: close the TCP connection without a close frame;
- ``("reset",)``: abort the connection with a TCP reset (SO_LINGER 0);
- ``("read_forever",)``: read until the client goes away.

``server.received`` holds the client's text frames; ``server.done`` is set when the script ends.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from typing import Any

import numpy as np
from _fixture_server import AGENTS, TOKEN
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from vatel_nb.protocol import ResponseAudio, serialize


def _http(status: int, body: Any) -> bytes:
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + data


class MisbehavingServer:
    """``with MisbehavingServer() as server:``; ``server.base_url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self) -> None:
        self.script: list[tuple[Any, ...]] = []
        self.received: list[str] = []
        self.done = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.base_url = ""

    def __enter__(self) -> MisbehavingServer:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", 0), self._loop
        ).result(10)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # ------------------------------------------------------------------ HTTP

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode()
            method, target, _ = line.split(" ", 2)
            length = 0
            for h in head.split(b"\r\n")[1:]:
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            if target.startswith("/v1/connection"):
                await self._socket(head, reader, writer)
                return
            writer.write(self._rest(method, target, body))
            await writer.drain()
            writer.close()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass

    @staticmethod
    def _rest(method: str, target: str, body: bytes) -> bytes:
        if method == "GET" and target.startswith("/v1/agents/"):
            agent_id = target.rsplit("/", 1)[1]
            for agent in AGENTS:
                if agent["id"] == agent_id:
                    return _http(200, agent)
            return _http(404, {"error": "agent not found"})
        if method == "POST" and target == "/v1/session-token":
            return _http(200, {"token": TOKEN})
        return _http(404, {"error": f"no route {target}"})

    # ------------------------------------------------------------------ WebSocket

    async def _socket(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proto = ServerProtocol(max_size=None)
        proto.receive_data(head)
        events = proto.events_received()
        request = next(e for e in events if isinstance(e, Request))
        proto.send_response(proto.accept(request))
        writer.write(b"".join(proto.data_to_send()))
        try:
            await self._run(proto, reader, writer)
        finally:
            self.done.set()

    async def _run(
        self, proto: ServerProtocol, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        def flush() -> None:
            writer.write(b"".join(proto.data_to_send()))

        async def read_for(seconds: float | None) -> None:
            deadline = None if seconds is None else time.monotonic() + seconds
            while deadline is None or time.monotonic() < deadline:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    data = await asyncio.wait_for(reader.read(65536), left)
                except asyncio.TimeoutError:
                    return
                if not data:
                    return
                proto.receive_data(data)
                for ev in proto.events_received():
                    if isinstance(ev, Frame) and ev.opcode is Opcode.TEXT:
                        self.received.append(ev.data.decode())
                flush()  # pongs, close echoes
                await writer.drain()

        for action, *args in self.script:
            if action == "send":
                proto.send_text(args[0].encode())
                flush()
            elif action == "send_bytes":
                proto.send_binary(args[0])
                flush()
            elif action == "big":
                n = int(args[0])
                header = b"\x81\x7f" + struct.pack("!Q", n)  # FIN + text, 64-bit length, unmasked
                writer.write(header + b'"' + b"x" * (n - 2) + b'"')
            elif action == "read":
                await read_for(args[0])
            elif action == "read_forever":
                await read_for(None)
            elif action == "sleep":
                await asyncio.sleep(args[0])
            elif action == "stream_audio":
                pcm = np.full(480, 1000, dtype="<i2").tobytes()
                end = time.monotonic() + args[0]
                while time.monotonic() < end:
                    proto.send_text(serialize(ResponseAudio.from_pcm("streamed", pcm)).encode())
                    flush()
                    await asyncio.sleep(0.02)
            elif action == "close":
                proto.send_close(args[0], args[1] if len(args) > 1 else "")
                flush()
                await writer.drain()
                writer.close()
                return
            elif action == "fin":
                await writer.drain()
                writer.close()
                return
            elif action == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            else:
                raise ValueError(f"unknown script action {action!r}")
            if writer.transport.get_write_buffer_size() < 1 << 20:
                await writer.drain()
        writer.close()
