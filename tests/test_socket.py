"""Voice WebSocket against the real fixture server (uvicorn on 127.0.0.1): exchange, closes, refusals."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Coroutine
from typing import Any
from urllib.parse import quote

import pytest
from _fixture_server import AGENT_ID, API_KEY, FixtureServer
from _spec import validate_client_message

from vatel_nb.client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncVatel,
    AuthenticationError,
    BadRequestError,
    ConnectionClosedError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    VatelConnection,
    _socket,
    connect,
)
from vatel_nb.protocol import (
    InputAudio,
    InvalidMessage,
    ResponseAudio,
    ResponseText,
    SessionEnded,
    SessionStarted,
    ToolArgument,
    ToolCall,
    ToolCallOutput,
    parse_client_message,
    serialize,
)

PCM = bytes(range(256)) * 3 + b"\x00" * 192  # 960 bytes = 20 ms at 24 kHz


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 15))


def sends(*messages: Any) -> list[tuple[str, str]]:
    return [("send", serialize(m)) for m in messages]


def open_conn(server: FixtureServer, **kw: Any) -> Any:
    return connect(server.token, base_url=server.base_url, **kw)


def test_full_exchange(fixture_server: FixtureServer) -> None:
    tool = ToolCall("tc-1", "lookup", (ToolArgument("city", "Paris", data_type="string"),))
    script_out = [
        SessionStarted("call-1"),
        ResponseText("t1", "Hello!", True),
        ResponseAudio.from_pcm("t1", PCM, is_final=True),
        tool,
    ]
    fixture_server.ws_script = [
        *sends(*script_out),
        ("recv", 2),
        *sends(SessionEnded()),
        ("close", 1000, "done"),
    ]

    async def main() -> tuple[list[Any], VatelConnection]:
        got = []
        async with open_conn(fixture_server) as conn:
            async for msg in conn:
                got.append(msg)
                if isinstance(msg, ResponseAudio):
                    await conn.send_input_audio(msg.pcm())
                elif isinstance(msg, ToolCall):
                    await conn.send_tool_call_output(msg.tool_call_id, json.dumps(msg.kwargs))
        return got, conn

    got, conn = run(main())
    assert got == [*script_out, SessionEnded()]
    assert conn.session_id == "call-1"
    assert (conn.closed, conn.clean_close, conn.close_code, conn.close_reason) == (True, True, 1000, "done")
    received = [parse_client_message(raw) for raw in fixture_server.ws_received]
    assert received == [InputAudio.from_pcm(PCM), ToolCallOutput("tc-1", '{"city": "Paris"}')]
    for raw in fixture_server.ws_received:
        validate_client_message(json.loads(raw))


@pytest.mark.parametrize(
    ("ending", "code", "reason"),
    [(("close", 4000, "boom"), 4000, "boom"), (("crash",), 1006, "")],
    ids=["4000", "dropped-1006"],
)
def test_abnormal_close_raises_with_code_and_reason(
    fixture_server: FixtureServer, ending: tuple[Any, ...], code: int, reason: str
) -> None:
    fixture_server.ws_script = [*sends(SessionStarted("s")), ending]

    async def main() -> tuple[list[Any], VatelConnection, ConnectionClosedError]:
        got: list[Any] = []
        conn = await open_conn(fixture_server)
        with pytest.raises(ConnectionClosedError) as info:
            async for msg in conn:
                got.append(msg)
        with pytest.raises(ConnectionClosedError):  # and again on every later read
            await conn.recv()
        await conn.close()
        return got, conn, info.value

    got, conn, err = run(main())
    assert got == [SessionStarted("s")]
    assert (err.code, err.reason) == (code, reason) and str(code) in str(err) and "reconnect" in str(err)
    assert (conn.clean_close, conn.close_code, conn.close_reason) == (False, code, reason)


@pytest.mark.parametrize(
    ("script", "code"),
    [
        ([("close", 1001, "going away")], 1001),
        ([*sends(SessionEnded()), ("close", 1011, "late error")], 1011),
    ],
    ids=["1001", "after-session_ended"],
)
def test_clean_closes_end_iteration_quietly(
    fixture_server: FixtureServer, script: list[Any], code: int
) -> None:
    fixture_server.ws_script = script

    async def main() -> tuple[list[Any], VatelConnection]:
        async with open_conn(fixture_server) as conn:
            got = [m async for m in conn]
            assert await conn.recv() is None
        return got, conn

    got, conn = run(main())
    assert (conn.clean_close, conn.close_code) == (True, code)
    assert all(isinstance(m, SessionEnded) for m in got)


def test_invalid_frames_do_not_end_the_loop(fixture_server: FixtureServer) -> None:
    fixture_server.ws_script = [
        ("send", "not json"),
        ("send_bytes", b"\x00\xffbinary"),
        ("send", '{"type": "brand_new_event", "data": {}}'),
        ("send", '{"type": "response_text", "data": {"turn_id": 1, "text": "x", "is_final": true}}'),
        *sends(ResponseText("t", "still here", True)),
        ("close", 1000, ""),
    ]

    async def main() -> list[Any]:
        async with open_conn(fixture_server) as conn:
            return [m async for m in conn]

    got = run(main())
    assert got[-1] == ResponseText("t", "still here", True)
    bad = got[:-1]
    assert all(isinstance(m, InvalidMessage) for m in bad) and len(bad) == 4
    assert bad[0].raw == "not json" and "JSON" in bad[0].error
    assert "binary frame of 8 bytes" in bad[1].error and bad[1].raw.endswith("binary")
    assert bad[2].message_type == "brand_new_event" and "unknown" in bad[2].error
    assert "turn_id" in bad[3].error


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (500, InternalServerError),
    ],
)
def test_refused_upgrade_raises_typed_error(
    fixture_server: FixtureServer, status: int, cls: type[APIStatusError]
) -> None:
    fixture_server.ws_deny = (status, json.dumps({"error": f"refused {status}"}).encode(), "application/json")
    with pytest.raises(cls) as info:
        run(open_conn(fixture_server).__aenter__())
    err = info.value
    assert (err.status_code, err.error, err.method) == (status, f"refused {status}", "GET")
    assert "token=***" in err.url and quote(fixture_server.token, safe="") not in str(err)


def test_refused_upgrade_with_text_body_and_bad_token(fixture_server: FixtureServer) -> None:
    fixture_server.ws_deny = (503, b"maintenance window", "text/plain")
    with pytest.raises(ServiceUnavailableError) as info:
        run(open_conn(fixture_server).__aenter__())
    assert info.value.error == "maintenance window"

    fixture_server.ws_deny = None

    async def wrong_token() -> None:
        await connect("not-the-token", base_url=fixture_server.base_url)

    with pytest.raises(AuthenticationError, match="session token") as info2:
        run(wrong_token())
    assert info2.value.error == "invalid session token"


def test_token_is_url_encoded_and_alone(fixture_server: FixtureServer) -> None:
    fixture_server.ws_script = [("close", 1000, "")]

    async def main() -> None:
        async with open_conn(fixture_server) as conn:
            assert [m async for m in conn] == []

    run(main())  # the server accepted, so it decoded the exact token
    assert fixture_server.ws_queries == ["token=" + quote(fixture_server.token, safe="")]


def test_keepalive_pings_are_answered(fixture_server: FixtureServer) -> None:
    fixture_server.ws_script = [
        ("sleep", 0.4),
        *sends(ResponseText("t", "after idle", True)),
        ("close", 1000, ""),
    ]

    async def main() -> tuple[list[Any], float]:
        async with open_conn(fixture_server, ping_interval=0.05, ping_timeout=2.0) as conn:
            got = [m async for m in conn]
        return got, conn.latency

    got, latency = run(main())
    assert got == [ResponseText("t", "after idle", True)]
    assert latency > 0  # set only when a pong came back


def test_client_close_is_clean_and_recorded(fixture_server: FixtureServer) -> None:
    async def main() -> VatelConnection:
        conn = await open_conn(fixture_server)
        await conn.send_input_audio(PCM)
        await conn.send(ToolCallOutput("x", "y"))
        await conn.close()
        await conn.close()  # idempotent
        assert await conn.recv() is None
        with pytest.raises(ConnectionClosedError):
            await conn.send_input_audio(PCM)
        return conn

    conn = run(main())
    assert (conn.clean_close, conn.close_code) == (True, 1000)
    assert fixture_server.ws_done.wait(5)
    assert [parse_client_message(r) for r in fixture_server.ws_received] == [
        InputAudio.from_pcm(PCM),
        ToolCallOutput("x", "y"),
    ]


def test_arrival_times_are_taken_on_arrival_not_on_read(fixture_server: FixtureServer) -> None:
    texts = [ResponseText("t", str(i), False) for i in range(4)]
    fixture_server.ws_script = [*sends(*texts), ("close", 1000, "")]  # one burst

    async def main() -> tuple[float, list[tuple[float, Any]], list[float], float]:
        before = time.perf_counter()
        pairs, reads = [], []
        async with open_conn(fixture_server) as conn:
            await asyncio.sleep(0.3)  # a slow consumer: the burst waits in the queue
            first = await conn.recv()
            assert conn.last_recv_time is not None
            pairs.append((conn.last_recv_time, first))
            reads.append(time.perf_counter())
            async for pair in conn.timed():
                pairs.append(pair)
                reads.append(time.perf_counter())
                assert conn.last_recv_time == pair[0]
                await asyncio.sleep(0.2)
        return before, pairs, reads, time.perf_counter()

    before, pairs, reads, after = run(main())
    times = [t for t, _ in pairs]
    assert [m for _, m in pairs] == texts
    assert before <= times[0] and times == sorted(times) and times[-1] <= after
    assert reads[-1] - reads[0] >= 0.35  # the consumer read them late and 0.2 s apart …
    assert times[-1] < reads[0]  # … but the stamps say when the burst arrived, before any read


def test_odd_pcm_is_rejected_before_sending(fixture_server: FixtureServer) -> None:
    async def main() -> None:
        async with open_conn(fixture_server) as conn:
            with pytest.raises(ValueError, match="even number of bytes"):
                await conn.send_input_audio(b"\x00" * 961)
            with pytest.raises(TypeError, match="must be a str"):
                await conn.send_tool_call_output("x", {"a": 1})  # type: ignore[arg-type]

    run(main())
    assert fixture_server.ws_done.wait(5)
    assert fixture_server.ws_received == []


def test_async_client_connect_fetches_a_token(fixture_server: FixtureServer) -> None:
    fixture_server.ws_script = [*sends(SessionStarted("c-9")), ("close", 1000, "")]

    async def main() -> list[Any]:
        async with AsyncVatel(API_KEY, base_url=fixture_server.base_url) as client:
            async with client.connect(AGENT_ID, first_message="Hi") as conn:
                return [m async for m in conn]

    assert run(main()) == [SessionStarted("c-9")]
    token_request = fixture_server.requests[-1]
    assert (token_request.path, token_request.json) == (
        "/v1/session-token",
        {"agent_id": AGENT_ID, "first_message": "Hi"},
    )


def test_unreachable_and_slow_servers(fixture_server: FixtureServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(APIConnectionError, match="VATEL_BASE_URL") as info:
        run(connect("tok", base_url=f"http://127.0.0.1:{port}").__aenter__())
    assert not isinstance(info.value, APITimeoutError)

    fixture_server.ws_accept_delay = 1.0
    with pytest.raises(APITimeoutError, match="timed out"):
        run(open_conn(fixture_server, open_timeout=0.2).__aenter__())
    assert fixture_server.ws_done.wait(5)


def test_reader_queue_is_bounded_and_loses_nothing(fixture_server: FixtureServer) -> None:
    n = _socket._MAX_QUEUE * 3
    fixture_server.ws_script = [
        *sends(*(ResponseText("t", str(i), False) for i in range(n))),
        ("close", 1000, ""),
    ]

    async def main() -> tuple[int, list[str], bool | None]:
        async with open_conn(fixture_server) as conn:
            await asyncio.sleep(0.5)  # the server sent everything; nobody has read yet
            waiting = conn._queue.qsize()
            texts = [m.text async for m in conn]
            return waiting, texts, conn.clean_close

    waiting, texts, clean = run(main())
    assert waiting <= _socket._MAX_QUEUE  # bounded: the rest waits in websockets' flow control
    assert texts == [str(i) for i in range(n)]  # nothing lost
    assert clean is True


def test_close_never_hangs_behind_a_consumer_that_stopped_reading(fixture_server: FixtureServer) -> None:
    n = _socket._MAX_QUEUE * 2
    fixture_server.ws_script = [*sends(*(ResponseText("t", "x", False) for _ in range(n))), ("wait_close",)]

    async def main() -> tuple[bool, bool, Any]:
        conn = await open_conn(fixture_server)
        await asyncio.sleep(0.5)
        full = conn._queue.full()
        await conn.close()  # run() bounds it: never waits behind the unread messages
        return full, conn.closed, await conn.recv()

    full, closed, first = run(main())
    assert full and closed
    assert first == ResponseText("t", "x", False)  # what was queued is still readable
