"""The voice WebSocket (``GET /v1/connection?token=…``): typed messages in, audio and tool results out.

``async with connect(token) as conn:`` (or ``conn = await connect(token)``) opens it.
``async for msg in conn`` yields parsed server messages; a bad frame (invalid JSON, unknown
type, broken audio) arrives as :class:`~vatel_nb.protocol.InvalidMessage` and never ends the loop.
Binary frames are read as UTF-8 JSON, as the vendor's SDK does (``docs/compatibility.md``).
Iteration stops quietly on a clean close (1000 / 1001, any close after ``session_ended``, or a
close you asked for) and raises :class:`~vatel_nb.ConnectionClosedError` on an abnormal one. When
this side failed the connection (a frame over the 16 MiB limit → 1009, no pong within
``ping_timeout`` → 1011) the error carries that code and says so, not a generic 1006.

Arrival times (kernel clock, ``time.perf_counter()`` seconds): a dedicated reader task takes the
time right after each frame is read off the socket, before parsing, so a busy consumer does not
inflate it. Get it as ``conn.last_recv_time`` (time of the message most recently returned by
``recv()`` / the iterator) or iterate ``async for t, msg in conn.timed()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as _ws_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from .._errors import (
    APIConnectionError,
    APITimeoutError,
    ConnectionClosedError,
    error_from_response,
    scrub,
)
from .._version import __version__
from ..protocol import (
    ClientMessage,
    InputAudio,
    InvalidMessage,
    ServerMessage,
    ToolCallOutput,
    parse_server_message,
    serialize,
)
from ._config import redact_token, resolve_base_url, ws_url

__all__ = ["USER_AGENT", "Connecting", "TokenMaskFilter", "VatelConnection", "connect"]

USER_AGENT = f"vatel-nb/{__version__}"
_CLEAN_CODES = (1000, 1001)
#: Parsed messages that may wait for the consumer (≈ 5 s of 20 ms audio chunks).
_MAX_QUEUE = 256
_MAX_FRAME = 16 * 2**20  # bytes: far above any audio chunk, but bounded

Received = ServerMessage | InvalidMessage

_TOKEN_IN_TEXT = re.compile(r"([?&]token=)[^&\s\"']+")


class TokenMaskFilter(logging.Filter):
    """Masks ``token=…`` in URLs (and any registered secret) in log records.

    Installed on the ``websockets`` loggers: at DEBUG level the library logs the request line,
    which carries the session token. The record is formatted once and its text replaced.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logging system's to report
            return True
        masked = scrub(_TOKEN_IN_TEXT.sub(r"\1***", text))
        if masked != text:
            record.msg, record.args = masked, None
        return True


def _install_log_filter() -> None:
    # filters do not propagate to child loggers: put one on each logger the library writes to
    for name in ("websockets", "websockets.client", "websockets.protocol"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenMaskFilter) for f in logger.filters):
            logger.addFilter(TokenMaskFilter())


_install_log_filter()


@dataclass(frozen=True)
class _Closed:
    code: int | None
    reason: str
    clean: bool
    local: bool = False  # this side failed the connection (the code is the one it sent)


def _close_of(ws: ClientConnection) -> tuple[int | None, str, bool]:
    """``(code, reason, local)`` of a finished connection: the server's close frame if one came;
    else the close this side sent when it failed the connection (too big, keepalive), else 1006."""
    proto = ws.protocol
    rcvd, sent = proto.close_rcvd, proto.close_sent
    if rcvd is None and sent is not None and sent.code not in _CLEAN_CODES:
        return sent.code, sent.reason, True
    return ws.close_code, ws.close_reason or "", False


class VatelConnection:
    """An open voice session. Create it with :func:`connect` or ``AsyncVatel.connect``."""

    def __init__(self, ws: ClientConnection, url: str) -> None:
        self._ws = ws
        #: The socket URL with the token masked.
        self.url = redact_token(url)
        #: ``time.perf_counter()`` (s) when the frame of the last returned message was read.
        self.last_recv_time: float | None = None
        #: The ``session_started`` id (= call id) once received, else None.
        self.session_id: str | None = None
        # bounded: when the consumer falls behind, the reader stops reading and websockets' own
        # flow control pushes back on the server instead of this queue growing without limit
        self._queue: asyncio.Queue[tuple[float, Received] | _Closed] = asyncio.Queue(_MAX_QUEUE)
        self._session_ended = False
        self._closing_by_us = False
        self._final: _Closed | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="vatel-socket-reader")

    # ------------------------------------------------------------------ receiving

    async def _read(self) -> None:
        ws, put = self._ws, self._queue.put
        try:
            while True:
                raw = await ws.recv()
                t = time.perf_counter()
                msg = parse_server_message(raw)
                if msg.type == "session_started":
                    self.session_id = msg.id  # type: ignore[union-attr]
                elif msg.type == "session_ended":
                    self._session_ended = True
                await put((t, msg))
        except ConnectionClosed:
            pass
        finally:
            code, reason, local = _close_of(ws)
            clean = code in _CLEAN_CODES or self._session_ended
            self._final = _Closed(code, reason, clean, local)
            with contextlib.suppress(asyncio.QueueFull):  # full: _next() finds it once drained
                self._queue.put_nowait(self._final)

    async def _next(self) -> tuple[float, Received] | None:
        if self._queue.empty() and self._final is not None:
            item: tuple[float, Received] | _Closed = self._final  # every later call sees the end too
        else:
            item = await self._queue.get()
        if isinstance(item, _Closed):
            if item.clean or self._closing_by_us:
                return None
            raise ConnectionClosedError(item.code, item.reason, local=item.local, limit=_MAX_FRAME)
        self.last_recv_time = item[0]
        return item

    async def recv(self) -> Received | None:
        """The next message; ``None`` once the socket closed cleanly.

        Raises :class:`ConnectionClosedError` if it closed abnormally. Safe to cancel.
        """
        item = await self._next()
        return None if item is None else item[1]

    async def __aiter__(self) -> AsyncIterator[Received]:
        while (item := await self._next()) is not None:
            yield item[1]

    async def timed(self) -> AsyncIterator[tuple[float, Received]]:
        """Like ``async for msg in conn`` but yields ``(t, msg)``; ``t`` is the frame's arrival
        time, ``time.perf_counter()`` seconds (kernel clock)."""
        while (item := await self._next()) is not None:
            yield item

    # ------------------------------------------------------------------ sending

    async def send(self, message: ClientMessage) -> None:
        """Send one client message (:class:`InputAudio` or :class:`ToolCallOutput`)."""
        await self._send_text(serialize(message))

    async def send_input_audio(self, pcm: bytes | bytearray | memoryview) -> None:
        """Send one chunk of user audio: raw PCM16 little-endian mono 24 kHz bytes (base64 is done here).

        20 ms = 480 samples = 960 bytes is the usual chunk. Raises ValueError on an odd length.
        """
        data = bytes(pcm)
        if len(data) % 2:
            raise ValueError(
                f"PCM16 needs an even number of bytes (2 per sample), got {len(data)}; "
                "send whole 16-bit samples (e.g. 960 bytes = 20 ms at 24 kHz)"
            )
        await self._send_text(serialize(InputAudio.from_pcm(data)))

    async def send_tool_call_output(self, tool_call_id: str, output: str) -> None:
        """Answer a ``tool_call`` with the result text (same ``tool_call_id``)."""
        if not isinstance(output, str):
            raise TypeError(
                f"tool output must be a str (e.g. json.dumps(result)), got {type(output).__name__}"
            )
        await self._send_text(serialize(ToolCallOutput(tool_call_id, output)))

    async def _send_text(self, text: str) -> None:
        try:
            await self._ws.send(text)
        except ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd else self._ws.close_code
            reason = e.rcvd.reason if e.rcvd else (self._ws.close_reason or "")
            raise ConnectionClosedError(code, reason or "send on a closed voice connection") from None

    # ------------------------------------------------------------------ closing and state

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the session (idempotent) and wait until the socket is closed."""
        self._closing_by_us = True
        await self._ws.close(code, reason)
        if not self._reader.done() and self._queue.full():
            # the reader waits for room behind a consumer that stopped reading: the caller is
            # done with the session, so don't wait for it (what is queued stays readable)
            self._reader.cancel()
        await asyncio.wait({self._reader})

    async def __aenter__(self) -> VatelConnection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        """True once the socket is closed (all received messages may still be read)."""
        return self._final is not None

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code (1006 if the connection dropped without one); None while open."""
        return self._final.code if self._final else None

    @property
    def close_reason(self) -> str | None:
        """The close reason text; None while open."""
        return self._final.reason if self._final else None

    @property
    def clean_close(self) -> bool | None:
        """None while open; True for 1000 / 1001 or any close after ``session_ended``; else False."""
        return self._final.clean if self._final else None

    @property
    def latency(self) -> float:
        """Round-trip time of the last keepalive ping, seconds (0.0 before the first pong)."""
        return self._ws.latency


class Connecting:
    """What :func:`connect` returns: ``await`` it, or use it as ``async with … as conn``."""

    def __init__(self, opener: Callable[[], Awaitable[VatelConnection]]) -> None:
        self._opener = opener
        self._conn: VatelConnection | None = None

    def __await__(self) -> Generator[Any, None, VatelConnection]:
        return self._opener().__await__()

    async def __aenter__(self) -> VatelConnection:
        self._conn = await self._opener()
        return self._conn

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            await self._conn.close()


async def open_connection(
    url: str, *, ping_interval: float | None, ping_timeout: float | None, open_timeout: float | None
) -> VatelConnection:
    """Open ``url`` (already built by :func:`ws_url`) and map failures to the error tree."""
    shown = redact_token(url)
    try:
        ws = await _ws_connect(
            url,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            open_timeout=open_timeout,
            user_agent_header=USER_AGENT,
            compression=None,
            max_size=_MAX_FRAME,
        )
    except InvalidStatus as e:
        resp = e.response
        raise error_from_response(resp.status_code, resp.body, shown, "GET", resp.headers) from None
    except (asyncio.TimeoutError, TimeoutError):
        raise APITimeoutError(
            f"WebSocket open took longer than {open_timeout} s",
            url=shown,
            method="GET",
            argument="open_timeout",
        ) from None
    except (OSError, InvalidHandshake, InvalidURI) as e:
        # from None: the library's exception text may hold the token URL
        raise APIConnectionError(f"{type(e).__name__}: {e}", url=shown, method="GET") from None
    return VatelConnection(ws, url)


def connect(
    token: str,
    *,
    base_url: str | None = None,
    ping_interval: float | None = 20.0,
    ping_timeout: float | None = 20.0,
    open_timeout: float | None = 10.0,
) -> Connecting:
    """Open the voice socket with a session token (``AsyncVatel.session_token(...).token``).

    ``base_url`` defaults to ``$VATEL_BASE_URL`` then ``https://api.vatel.ai``. Keepalive pings
    every ``ping_interval`` s; the socket is failed if a pong takes more than ``ping_timeout`` s.
    Raises APIStatusError subclasses if the upgrade is refused, APIConnectionError /
    APITimeoutError if the server cannot be reached.
    """
    url = ws_url(resolve_base_url(base_url), token)
    return Connecting(
        lambda: open_connection(
            url, ping_interval=ping_interval, ping_timeout=ping_timeout, open_timeout=open_timeout
        )
    )
