"""A whole VatelSession call against a server that misbehaves on purpose (real TCP on 127.0.0.1).

Every case checks that nothing received before the fault is lost (rows, agent audio) and that
the call either goes on or ends with a reason that names the real cause.
"""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
from _fixture_server import AGENT_ID, API_KEY
from _misbehaving_server import MisbehavingServer
from test_session import READY, ListFrontend, chunk, rows

from vatel_nb.protocol import ResponseAudio, ResponseText, SessionEnded, SessionStarted, serialize
from vatel_nb.session import VatelSession

BEFORE = [
    ("send", serialize(SessionStarted("call-m"))),
    ("send", serialize(ResponseText("t1", "Hello there", True))),
    ("send", chunk("t1", 480, 5)),
]
ENDED_NULL = '{"type":"session_ended","data":null}'
UNKNOWN_FIELDS = json.dumps(
    {
        "type": "response_text",
        "data": {"turn_id": "t2", "text": "x", "is_final": True, "mood": "ok"},
        "seq": 7,
    }
)


@pytest.fixture(scope="module")
def server():
    with MisbehavingServer() as s:
        yield s


def run_call(server, script, *, mic: bool = False, wait: float = 30.0, **kw) -> VatelSession:
    server.script = script
    server.received = []
    server.done.clear()

    async def main() -> VatelSession:
        s = VatelSession(AGENT_ID, api_key=API_KEY, base_url=server.base_url, verbose=False, **kw)
        s.attach(ListFrontend())
        s.handle_frontend(READY)
        await s.start()
        feeder = asyncio.ensure_future(_feed_mic(s)) if mic else None
        ended = await s.wait_ended(wait)
        if feeder is not None:
            feeder.cancel()
        assert ended, f"the call did not end within {wait} s (status {s.status})"
        return s

    return asyncio.run(main())


async def _feed_mic(s: VatelSession) -> None:
    pcm = np.zeros(480, dtype="<i2").tobytes()
    seq = 0
    while True:
        s.handle_frontend(
            {"kind": "mic", "seq": seq, "t_browser": time.perf_counter() * 1000, "samples": 480}, [pcm]
        )
        seq += 1
        await asyncio.sleep(0.02)


def assert_prefix_kept(s: VatelSession) -> None:
    """What BEFORE sent is all in the log."""
    assert [r[3]["detail"]["session_id"] for r in rows(s, "server", "session_started")] == ["call-m"]
    assert [r[3]["text"] for r in rows(s, "server", "response_text")][:1] == ["Hello there"]
    first = rows(s, "server", "response_audio")[0]
    assert first[3]["turn_id"] == "t1" and first[3]["samples"] == 480
    assert s.log.agent_audio.turn_ids()[0] == "t1" and s.log.agent_audio.chunk(0)[0] == 5


def closed(s: VatelSession) -> dict:
    (row,) = rows(s, "local", "closed")
    return row[3]["detail"]


# --------------------------------------------------------------------------- the call goes on


def test_bad_frames_are_rows_and_the_call_and_turn_go_on(server) -> None:
    script = [
        *BEFORE,
        ("send", "this is not json"),
        ("send", '{"type":"brand_new_event","data":{"x":1}}'),
        ("send", '{"type":"response_audio","data":{"turn_id":"t1","audio":"@@@@","is_final":false}}'),
        ("send", serialize(ResponseAudio("t1", "AAE=AA==", False))),  # data after the padding
        ("send", serialize(ResponseAudio("t1", "AAAA", False))),  # 3 bytes: not whole samples
        ("send", chunk("t1", 240, 6, final=True)),
        ("send_bytes", serialize(ResponseText("t2", "binary frame", True)).encode()),
        ("send", '{"type":"speech_stopped","data":null}'),
        ("send", UNKNOWN_FIELDS),
        ("send", '{"type":"interruption"}'),
        ("send", ENDED_NULL),
        ("read_forever",),
    ]  # fmt: skip
    s = run_call(server, script)
    assert s.status == "ended" and s.error == ""
    assert_prefix_kept(s)
    invalid = rows(s, "server", "invalid")
    texts = [r[3]["text"] for r in invalid]
    assert len(invalid) == 5, texts
    assert "invalid JSON" in texts[0] and "unknown message type 'brand_new_event'" in texts[1]
    assert all("response_audio" in t for t in texts[2:])
    assert "not valid base64" in texts[2] and "not whole PCM16 samples" in texts[4]
    assert [r[3]["turn_id"] for r in invalid[2:]] == ["t1", "t1", "t1"]  # the broken chunks name their turn
    assert invalid[0][3]["detail"]["raw"] == "this is not json"
    # the turn went on: the good chunk after the broken ones was received and kept
    assert s.log.agent_audio.turn_ids()[:2] == ["t1", "t1"] and s.log.agent_audio.chunk(1)[0] == 6
    binary = [r for r in rows(s, "server", "response_text") if r[3]["turn_id"] == "t2"]
    assert binary[0][3]["text"] == "binary frame"
    assert binary[1][3]["detail"]["unknown"] == {"data.mood": "ok", "seq": 7}
    assert len(rows(s, "server", "speech_stopped")) == 1 and len(rows(s, "server", "interruption")) == 1
    assert len(rows(s, "server", "session_ended")) == 1
    assert closed(s)["clean"] is True


def test_a_flood_of_20k_turn_ids_is_all_received(server) -> None:
    n = 20_000
    pcm = np.full(48, 3, dtype="<i2").tobytes()
    flood = [("send", serialize(ResponseAudio.from_pcm(f"flood-{i}", pcm, True))) for i in range(n)]
    s = run_call(server, [*BEFORE, *flood, ("send", serialize(SessionEnded())), ("read_forever",)], wait=120)
    assert s.status == "ended" and s.error == ""
    assert_prefix_kept(s)
    audio = rows(s, "server", "response_audio")
    assert len(audio) == n + 1 and len({r[3]["turn_id"] for r in audio}) == n + 1
    assert len(s.log.agent_audio) == n + 1
    assert len(s.transcript) == 1  # the flood carried no text


def test_silence_that_answers_pings_keeps_the_call(server) -> None:
    script = [*BEFORE, ("read", 1.5), ("send", ENDED_NULL), ("read_forever",)]
    t0 = time.monotonic()
    s = run_call(server, script, ping_interval=0.1, ping_timeout=0.4)
    assert time.monotonic() - t0 > 1.4  # several ping rounds passed in silence
    assert s.status == "ended" and s.error == "" and closed(s)["clean"] is True
    assert_prefix_kept(s)


# --------------------------------------------------------------------------- the call ends, naming the cause


def test_a_20_mib_frame_ends_the_call_with_1009_named(server) -> None:
    s = run_call(server, [*BEFORE, ("big", 20 * 2**20), ("read", 3.0)])
    assert s.status == "error"
    assert "larger than the client's 16 MiB limit" in s.error and "1009" in s.error
    assert closed(s)["code"] == 1009
    assert_prefix_kept(s)


@pytest.mark.parametrize("fault", ["reset", "fin"])
def test_a_dropped_connection_is_named(server, fault: str) -> None:
    s = run_call(server, [*BEFORE, ("read", 0.2), (fault,)])
    assert s.status == "error"
    assert "without a close frame" in s.error and "1006" in s.error
    assert_prefix_kept(s)


def test_close_1011_is_named_a_server_error(server) -> None:
    s = run_call(server, [*BEFORE, ("close", 1011, "upstream exploded")])
    assert s.status == "error"
    assert "internal error" in s.error and "upstream exploded" in s.error
    assert closed(s)["code"] == 1011
    assert_prefix_kept(s)


def test_silence_without_pongs_ends_with_a_keepalive_timeout(server) -> None:
    s = run_call(server, [*BEFORE, ("sleep", 4.0), ("fin",)], ping_interval=0.2, ping_timeout=0.5)
    assert s.status == "error"
    assert "stopped answering keepalive pings" in s.error and "ping_timeout" in s.error
    assert closed(s)["code"] == 1011
    assert_prefix_kept(s)


def test_a_server_that_never_reads(server) -> None:
    """The server streams audio but never reads: the mic keeps flowing into a bounded queue, what
    the server sent is all kept, and the call ends on the keepalive timeout, named."""
    s = run_call(
        server, [*BEFORE, ("stream_audio", 4.0), ("fin",)], mic=True, ping_interval=0.2, ping_timeout=0.6
    )
    assert s.status == "error" and "keepalive" in s.error
    assert_prefix_kept(s)
    streamed = [r for r in rows(s, "server", "response_audio") if r[3]["turn_id"] == "streamed"]
    assert len(streamed) >= 10
    assert server.received == []  # it never read a frame
    assert s.stats()["mic_sent"] > 0  # the mic flowed until the socket stopped taking it
