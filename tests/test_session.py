"""VatelSession against a scripted Vatel-shaped server (real HTTP + WebSocket on 127.0.0.1).

The scripted socket lets us produce what the simulator never does on its own: agent audio of a
turn arriving *after* its interruption, abnormal closes, REST failures. The loop runs in asyncio
debug mode, which raises if anything touches it from another thread unsafely.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time

import numpy as np
import pytest
from _fixture_server import AGENT_ID, API_KEY, TOKEN

from vatel_nb import _errors
from vatel_nb.protocol import (
    InputAudioTranscript,
    Interruption,
    ResponseAudio,
    ResponseText,
    SessionEnded,
    SessionStarted,
    serialize,
)
from vatel_nb.session import VatelSession


class ListFrontend:
    """A front-end that records what it is sent. With ``session`` given it also behaves like the
    page, from other threads: answers pings with its clock (``perf_counter`` ms + ``offset_ms``)
    and, with ``playback=True``, reports each turn's playback as started on its first chunk."""

    def __init__(self, session: VatelSession | None = None, offset_ms: float = 0.0, playback: bool = False):
        self.session = session
        self.offset_ms = offset_ms
        self.playback = playback
        self.sent: list[tuple[dict, list[bytes]]] = []
        self.states: list[dict] = []
        self._turns: set = set()

    def now(self) -> float:
        """The page's performance.now() (ms)."""
        return time.perf_counter() * 1000.0 + self.offset_ms

    def _reply(self, envelope: dict) -> None:
        def answer() -> None:
            self.session.handle_frontend(dict(envelope, t_browser=self.now()))

        threading.Thread(target=answer).start()

    def send(self, envelope: dict, buffers: list[bytes]) -> None:
        self.sent.append((json.loads(json.dumps(envelope)), [bytes(b) for b in buffers]))
        if self.session is None:
            return
        if envelope["kind"] == "ping":
            self._reply({"kind": "pong", "id": envelope["id"]})
        elif envelope["kind"] == "audio" and self.playback and envelope["turn_id"] not in self._turns:
            self._turns.add(envelope["turn_id"])
            self._reply(
                {"kind": "playback", "event": "started", "turn_id": envelope["turn_id"], "samples": 0}
            )

    def update_state(self, changes: dict) -> None:
        self.states.append(json.loads(json.dumps(changes)))

    def kinds(self) -> list[str]:
        return [e["kind"] for e, _ in self.sent]


def chunk(turn: str, n: int, value: int, final: bool = False) -> str:
    pcm = np.full(n, value, dtype="<i2").tobytes()
    return serialize(ResponseAudio.from_pcm(turn, pcm, final))


async def until(pred, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def rows(session: VatelSession, source: str, type_: str) -> list[tuple]:
    return [r for r in session.log.rows() if r[1] == source and r[2] == type_]


def make_session(server, **kw) -> VatelSession:
    return VatelSession(AGENT_ID, api_key=API_KEY, base_url=server.base_url, **kw)


READY = {"kind": "ready", "sample_rate": 24000, "output_latency_ms": 10.0, "processing": False}


def test_whole_scripted_call_interrupt_drops_late_chunks(fixture_server, no_vatel_env):
    fixture_server.ws_script = [
        ("send", serialize(SessionStarted("call-1"))),
        ("send", chunk("a", 480, 100)),
        ("send", chunk("a", 480, 101)),
        ("send", serialize(Interruption())),
        ("send", chunk("a", 480, 102)),  # late: after the interruption of its turn
        ("send", chunk("b", 240, 103, final=True)),
        ("send", serialize(InputAudioTranscript("hi th", False))),
        ("send", serialize(InputAudioTranscript("hi there", True))),
        ("send", serialize(ResponseText("b", "Hel", False))),
        ("send", serialize(ResponseText("b", "Hello!", True))),
        ("send", '{"type": "future_event", "data": {}}'),
        ("send", serialize(SessionEnded())),
        ("wait_close",),
    ]

    async def main() -> tuple[VatelSession, ListFrontend]:
        s = make_session(fixture_server)
        fe = ListFrontend()
        s.attach(fe)
        s.handle_frontend(READY)
        await s.start()
        assert s.status == "live"
        assert await s.wait_ended(10)
        return s, fe

    s, fe = asyncio.run(main(), debug=True)
    assert s.status == "ended" and s.error == ""
    audio = [(e, b) for e, b in fe.sent if e["kind"] == "audio"]
    assert [(e["turn_id"], e["seq"], e["final"]) for e, _ in audio] == [
        ("a", 0, False),
        ("a", 1, False),
        ("b", 2, True),
    ]
    assert [np.frombuffer(b[0], "<i2")[0] for _, b in audio] == [100, 101, 103]
    assert [len(b[0]) for _, b in audio] == [960, 960, 480]
    assert [e for e, _ in fe.sent if e["kind"] == "interrupt"] == [{"kind": "interrupt", "turn_id": "a"}]
    assert fe.kinds()[-1] == "end" and fe.sent[-1][0]["reason"] == "the agent ended the call"
    # the late chunk: recorded (server row + agent track, flagged dropped), not forwarded, logged
    dropped = rows(s, "local", "dropped")
    assert [(r[3]["text"], r[3]["turn_id"], r[3]["samples"]) for r in dropped] == [
        ("interrupted-turn", "a", 480)
    ]
    assert len(rows(s, "server", "response_audio")) == 4
    assert s.log.agent_audio.dropped().tolist() == [False, False, True, False]
    assert len(rows(s, "server", "invalid")) == 1
    # transcript trait: partials replaced by finals
    assert s.transcript == [
        {"role": "user", "text": "hi there", "final": True, "turn_id": None},
        {"role": "agent", "text": "Hello!", "final": True, "turn_id": "b"},
    ]
    assert s.session_id == "call-1"
    # lifecycle rows in order, with the agent's VAD settings from REST
    local = [r[2] for r in s.log.rows() if r[1] == "local" and r[2] != "dropped"]
    assert local == ["connecting", "agent", "connected", "closed"]
    agent = rows(s, "local", "agent")[0][3]["detail"]
    assert agent == {
        "agent_id": AGENT_ID,
        "vad_settings": {"start_secs": 0.2, "stop_secs": 0.8},
        "first_message": "Hello! How can I help?",
    }
    assert rows(s, "local", "closed")[0][3]["detail"]["clean"] is True
    states = [st["status"] for st in fe.states if "status" in st]
    assert states == ["connecting", "live", "ended"]
    ev = s.events
    assert {"server", "local", "browser"} <= set(ev["source"].astype(str))


def test_nothing_is_streamed_before_ready_then_all_in_order(fixture_server, no_vatel_env):
    fixture_server.ws_script = [
        ("send", chunk("g", 480, 7)),
        ("send", chunk("g", 480, 8, final=True)),
        ("send", serialize(SessionEnded())),
        ("wait_close",),
    ]

    async def main():
        s = make_session(fixture_server)
        fe = ListFrontend()
        s.attach(fe)
        await s.start()
        assert await s.wait_ended(10)
        before = list(fe.sent)
        s.handle_frontend(READY)
        await until(lambda: len(fe.sent) >= 3, "the queued envelopes")
        return s, fe, before

    _, fe, before = asyncio.run(main(), debug=True)
    assert before == []
    assert fe.kinds() == ["audio", "audio", "end"]
    assert [np.frombuffer(b[0], "<i2")[0] for e, b in fe.sent if e["kind"] == "audio"] == [7, 8]


def test_abnormal_close_is_an_error_with_a_sentence_and_nothing_is_lost(fixture_server, no_vatel_env):
    fixture_server.ws_script = [
        ("send", serialize(SessionStarted("call-2"))),
        ("send", chunk("a", 480, 5)),
        ("sleep", 0.1),
        ("close", 1011, f"crash {TOKEN}"),
    ]

    async def main():
        s = make_session(fixture_server)
        fe = ListFrontend()
        s.attach(fe)
        s.handle_frontend(READY)
        await s.start()
        assert await s.wait_ended(10)
        return s, fe

    s, fe = asyncio.run(main(), debug=True)
    assert s.status == "error"
    assert "internal error" in s.error and "(code 1011" in s.error and "reconnect" in s.error
    assert TOKEN not in s.error and "***" in s.error  # the token in the close reason is masked
    err = rows(s, "local", "error")
    assert len(err) == 1 and err[0][3]["text"] == s.error
    closed = rows(s, "local", "closed")[0][3]["detail"]
    assert closed["clean"] is False and closed["code"] == 1011
    assert len(rows(s, "server", "response_audio")) == 1 and len(s.log.agent_audio) == 1
    assert fe.kinds() == ["ping", "audio", "end"] or fe.kinds()[-1] == "end"
    assert any(st.get("status") == "error" for st in fe.states)


def test_rest_failure_at_start_raises_and_shows_error(fixture_server, no_vatel_env):
    fixture_server.override(f"/v1/agents/{AGENT_ID}", 503, json={"error": "maintenance"})

    async def main():
        s = make_session(fixture_server)
        with pytest.raises(_errors.ServiceUnavailableError):
            await s.start()
        return s

    s = asyncio.run(main(), debug=True)
    assert s.status == "error" and "maintenance" in s.error and "retry later" in s.error
    assert [r[2] for r in s.log.rows() if r[1] == "local"] == ["connecting", "error"]


def test_configuration_errors_say_what_to_set(no_vatel_env, monkeypatch):
    with pytest.raises(_errors.ConfigurationError, match="VATEL_AGENT_ID"):
        VatelSession(api_key="k", base_url="http://127.0.0.1:9")
    with pytest.raises(_errors.ConfigurationError, match="VATEL_API_KEY"):
        VatelSession(AGENT_ID, base_url="http://127.0.0.1:9")
    with pytest.raises(_errors.ConfigurationError, match="http"):
        VatelSession(AGENT_ID, api_key="k", base_url="ftp://x")
    monkeypatch.setenv("VATEL_API_KEY", "env-key")
    monkeypatch.setenv("VATEL_AGENT_ID", AGENT_ID)
    monkeypatch.setenv("VATEL_BASE_URL", "https://voice.example.com/")
    s = VatelSession()
    assert s.backend == "voice.example.com" and s._backend.agent_id == AGENT_ID
    assert s._backend.base_url == "https://voice.example.com"


def test_clock_pings_pongs_from_another_thread_give_the_offset(fixture_server, no_vatel_env):
    offset = 123_456.0  # browser ms − kernel ms, as if the page's clock started long ago

    async def main():
        s = make_session(fixture_server, ping_interval_s=0.05)
        fe = ListFrontend(s)
        s.attach(fe)
        s.handle_frontend(READY)
        s.start_soon()  # clock pings run during a call, on that call's clock
        await until(lambda: len(s.recording) == 1, "the call")
        # the page's performance.now() = kernel ms since the call's t0 + offset
        fe.offset_ms = offset - s.log.t0 * 1000.0
        await until(lambda: len(rows(s, "browser", "clock-sync")) >= 8, "8 clock samples")
        await s.end()
        return s, fe

    s, fe = asyncio.run(main(), debug=True)
    syncs = rows(s, "browser", "clock-sync")
    assert len(s.log.clock) == len(syncs) >= 8
    for _, _, _, f in syncs:
        d = f["detail"]
        assert d["rtt_ms"] >= 0
        assert abs(d["offset_ms"] - offset) <= d["rtt_ms"] / 2 + 1e-6
    est = s.log.clock.offset_ms
    assert abs(est - offset) <= s.log.clock.rtt_ms / 2 + 1e-6
    # the page's "now" maps back onto the kernel clock
    k = s.log.now()
    assert abs(s.log.clock.to_kernel(k * 1000 + offset) - k) <= s.log.clock.rtt_ms / 2000 + 1e-6
    assert all(e["kind"] == "ping" for e, _ in fe.sent[:5])


def test_mic_frames_from_another_thread_reach_the_server_in_order(fixture_server, no_vatel_env):
    n = 60

    async def main():
        s = make_session(fixture_server)
        s.attach(ListFrontend())
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def page() -> None:  # what a comm subshell thread does: hand envelopes over and return
            s.handle_frontend(READY)
            s.handle_frontend({"kind": "control", "action": "start"})
            while s.status != "live":
                time.sleep(0.005)
            for i in range(n):
                pcm = np.full(480, i, dtype="<i2")
                s.handle_frontend({"kind": "mic", "seq": i, "t_browser": 1000.0 + 20 * i}, [memoryview(pcm)])
                time.sleep(0.002)
            s.handle_frontend({"kind": "control", "action": "mute"})
            s.handle_frontend({"kind": "mic", "seq": n, "t_browser": 9e3}, [np.full(480, 9, "<i2").tobytes()])
            loop.call_soon_threadsafe(done.set_result, None)

        threading.Thread(target=page).start()
        await done
        await until(lambda: s.stats()["mic_sent"] == n + 1, "all frames sent")
        await s.end()
        return s

    s = asyncio.run(main(), debug=True)
    got = [json.loads(m) for m in fixture_server.ws_received if isinstance(m, str)]
    audio = [
        np.frombuffer(base64.b64decode(m["data"]["audio"]), "<i2") for m in got if m["type"] == "input_audio"
    ]
    assert [int(a[0]) for a in audio] == [*range(n), 0]  # in order; the muted frame is silence
    assert s.muted is True
    assert [r[3]["seq"] for r in rows(s, "browser", "mic-captured")] == list(range(n + 1))
    assert s.log.user_audio.seqs() == list(range(n + 1))
    assert s.stats()["dropped"]["inbox"] == 0 and s.stats()["dropped"]["mic_queue"] == 0


def test_flooded_mic_frames_are_dropped_counted_and_logged_never_queued_unbounded(
    fixture_server, no_vatel_env
):
    offered = 3000

    async def main():
        s = make_session(fixture_server, mic_queue_frames=5, inbox_frames=10)
        s.attach(ListFrontend())
        s.handle_frontend(READY)
        await s.start()
        pcm = np.ones(480, "<i2").tobytes()

        def flood() -> None:
            for i in range(offered):
                s.handle_frontend({"kind": "mic", "seq": i, "t_browser": float(i)}, [pcm])

        t = threading.Thread(target=flood)
        t.start()
        for i in range(offered, offered + 200):  # and from the loop's own thread, without yielding
            s.handle_frontend({"kind": "mic", "seq": i, "t_browser": float(i)}, [pcm])
        await asyncio.get_running_loop().run_in_executor(None, t.join)

        def settled() -> bool:
            st = s.stats()
            return st["mic_sent"] + st["dropped"]["inbox"] + st["dropped"]["mic_queue"] == offered + 200

        await until(settled, "every frame sent or dropped")
        await asyncio.sleep(0.05)
        await s.end()
        return s

    s = asyncio.run(main(), debug=True)
    st = s.stats()
    assert st["dropped"]["inbox"] > 0 and st["dropped"]["mic_queue"] > 0
    assert st["inbox_high_water"] <= 10 + 5 and st["mic_queue_high_water"] <= 5
    logged = rows(s, "local", "dropped")
    inbox_rows = [r for r in logged if r[3]["text"] == "mic-inbox"]
    queue_rows = [r for r in logged if r[3]["text"] == "mic-queue"]
    assert sum(r[3]["detail"]["frames"] for r in inbox_rows) == st["dropped"]["inbox"]
    assert len(queue_rows) == st["dropped"]["mic_queue"] and all(r[3]["samples"] == 480 for r in queue_rows)
    received = [m for m in fixture_server.ws_received if isinstance(m, str) and '"input_audio"' in m]
    assert len(received) == st["mic_sent"] == len(s.log.user_audio)


def test_each_mic_frame_is_two_rows_and_one_chunk_and_bad_ones_are_errors_in_between(
    fixture_server, no_vatel_env
):
    """The contract of a mic frame in the log: ``browser/mic-captured`` at hand-off and
    ``client/input_audio`` at send, plus its audio on the user track at the send time; a malformed
    frame from the page thread is a ``local/error`` row and the frames around it are all kept."""

    async def main():
        s = make_session(fixture_server)
        s.attach(ListFrontend())
        s.handle_frontend(READY)
        await s.start()
        pcm = np.arange(480, dtype="<i2").tobytes()

        def page() -> None:
            for i in range(5):
                s.handle_frontend({"kind": "mic", "seq": i, "t_browser": 1000.0 + 20 * i}, [memoryview(pcm)])
            s.handle_frontend(["mic"])  # not an object
            s.handle_frontend({"kind": "mic", "seq": 99, "t_browser": 1.0}, [pcm[:-1]])  # odd bytes
            for i in range(5, 10):
                s.handle_frontend({"kind": "mic", "seq": i, "t_browser": 1000.0 + 20 * i}, [pcm])

        await asyncio.get_running_loop().run_in_executor(None, page)
        await until(lambda: s.stats()["mic_sent"] == 10, "ten frames sent")
        await s.end()
        return s

    s = asyncio.run(main(), debug=True)
    captured, sent = rows(s, "browser", "mic-captured"), rows(s, "client", "input_audio")
    assert [r[3] for r in captured] == [
        {"seq": i, "samples": 480, "t_browser": 1000.0 + 20 * i, "clock": None} for i in range(10)
    ]
    assert [r[3] for r in sent] == [{"samples": 480, "seq": i} for i in range(10)]
    assert all(c[0] <= x[0] for c, x in zip(captured, sent, strict=True)), "captured, then sent"
    errors = [r[3]["text"] for r in rows(s, "local", "error")]
    assert len(errors) == 2 and "must be a JSON object" in errors[0] and "odd number of bytes" in errors[1]
    track = s.log.user_audio
    assert track.seqs() == list(range(10)) and track.times().tolist() == [r[0] for r in sent]
    assert track.t_browser().tolist() == [1000.0 + 20 * i for i in range(10)]
    assert track.pcm().tolist() == list(range(480)) * 10
    ev = s.events
    mic = ev[ev["type"] == "mic-captured"]
    assert mic["seq"].tolist() == list(range(10)) and (mic["clock"] == "browser").all()
    assert mic["t_browser"].tolist() == [1000.0 + 20 * i for i in range(10)]
    out = ev[ev["type"] == "input_audio"]
    assert (out["source"] == "client").all() and (out["clock"] == "kernel").all()
    assert out["samples"].tolist() == [480] * 10 and out["t_browser"].isna().all()


def test_bad_envelopes_are_logged_not_fatal(fixture_server, no_vatel_env):
    async def main():
        s = make_session(fixture_server)
        s.attach(ListFrontend())
        s.handle_frontend({"kind": "nope"})
        s.handle_frontend({"kind": "mic", "seq": 1, "t_browser": 0.0})  # no buffer
        s.handle_frontend({"kind": "control", "action": "dance"})
        s.handle_frontend({"kind": "pong", "id": 99, "t_browser": 1.0})  # never pinged
        s.handle_frontend({"kind": "status", "state": "mic-denied", "error": "Allow the microphone."})
        pb = {"kind": "playback", "turn_id": "t", "t_browser": 5.0}
        s.handle_frontend(dict(pb, event="started", samples=0, output_latency_ms=12.5))
        s.handle_frontend(dict(pb, event="flushed", samples=480, dropped_samples=960))
        s.handle_frontend(dict(pb, event="underrun", samples=240))
        s.handle_frontend(dict(pb, event="stopped", samples=480, clock="modelled"))  # a headless caller's
        await until(lambda: len(rows(s, "browser", "playback-stopped")) == 1, "the playback rows")
        return s

    s = asyncio.run(main(), debug=True)
    errors = [r[3]["text"] for r in rows(s, "local", "error")]
    assert len(errors) == 4 and all(e.startswith("ignored a front-end envelope: ") for e in errors)
    assert "unknown envelope kind 'nope'" in errors[0] and "needs 1 binary buffer" in errors[1]
    assert "dance" in errors[2] and "unknown ping id 99" in errors[3]
    assert rows(s, "browser", "error")[0][3]["text"] == "Allow the microphone."
    assert s.error == "Allow the microphone." and s.status == "idle"
    got = [
        (r[2], r[3].get("turn_id"), r[3].get("t_browser"), r[3].get("samples"), r[3].get("detail"))
        for r in s.log.rows()
    ]
    assert [
        g for g in got if g[0] in ("playback-started", "playback-flushed", "underrun", "playback-stopped")
    ] == [
        ("playback-started", "t", 5.0, 0, {"output_latency_ms": 12.5}),
        ("playback-flushed", "t", 5.0, 480, {"dropped_samples": 960}),
        ("underrun", "t", 5.0, 240, None),
        ("playback-stopped", "t", 5.0, 480, None),
    ]
    clocks = s.log.frame().set_index("type")["clock"].astype(str)  # before any call: the idle log
    assert clocks["playback-started"] == "browser" and clocks["playback-stopped"] == "modelled"


def test_secrets_never_reach_the_frontend(fixture_server, no_vatel_env):
    fixture_server.ws_script = [
        ("send", serialize(SessionStarted("c"))),
        ("send", chunk("a", 480, 1, final=True)),
        ("close", 1011, TOKEN),
    ]

    async def main():
        s = make_session(fixture_server)
        fe = ListFrontend()
        s.attach(fe)
        s.handle_frontend(READY)
        await s.start()
        await s.wait_ended(10)
        return s, fe

    s, fe = asyncio.run(main(), debug=True)
    assert TOKEN in s._settings.secrets  # the token was used (and is scrubbed)
    blob = json.dumps([e for e, _ in fe.sent]) + json.dumps(fe.states) + json.dumps(s.ui_state)
    raw = b"".join(b for _, bufs in fe.sent for b in bufs)
    for secret in (API_KEY, TOKEN):
        assert secret not in blob and secret.encode() not in raw


ONE_REPLY_THEN_END = [
    ("send", serialize(SessionStarted("c"))),
    ("send", chunk("a", 480, 3, final=True)),
    ("send", serialize(SessionEnded())),
    ("wait_close",),
]


def test_autosave_and_save_keep_everything_recorded(fixture_server, no_vatel_env, tmp_path):
    from vatel_nb.log import load_session

    fixture_server.ws_script = ONE_REPLY_THEN_END

    async def main():
        s = make_session(fixture_server, autosave=tmp_path / "auto")
        s.attach(ListFrontend())
        s.handle_frontend(READY)
        for _ in range(2):  # two calls, one after the other, on one session
            await s.start()
            assert await s.wait_ended(10)
        return s

    s = asyncio.run(main(), debug=True)
    assert s.calls["call"].tolist() == [1, 2]
    assert s.calls["status"].tolist() == ["ended", "ended"]
    assert s.calls["end_reason"].tolist() == ["the agent ended the call"] * 2
    for path in (tmp_path / "auto", s.save(tmp_path / "saved")):
        loaded = load_session(path)  # a folder of several calls: a Recording, calls apart
        assert len(loaded) == 2
        assert loaded.calls[["call", "status", "end_reason"]].equals(
            s.calls[["call", "status", "end_reason"]]
        )
        for call in (1, 2):
            one, orig = loaded.log(call), s.recording.log(call)
            assert [r[:3] for r in one.rows()] == [r[:3] for r in orig.rows()]
            assert one.t0 == orig.t0 and one.agent_audio.pcm().tolist() == [3] * 480
            assert one.meta["agent"]["agent_id"] == AGENT_ID
        assert load_session(path / "call-2").t0 == s.recording.log(2).t0  # one call's folder alone


def test_autosave_keeps_what_is_logged_while_the_call_closes(fixture_server, no_vatel_env, tmp_path):
    """Events logged while the runner ends (its tasks winding down, the front-end's last events)
    are on disk when the call is over, and what the front-end reports after the end is on disk
    once the session is closed. (Once lost, `vatel-nb report` disagreed with the call's summary.)"""
    from vatel_nb.log import load_session

    fixture_server.ws_script = ONE_REPLY_THEN_END

    async def main():
        s = make_session(fixture_server, autosave=tmp_path / "auto")
        s.attach(ListFrontend())
        s.handle_frontend(READY)
        await s.start()
        runner, late = s._calls.runner, 0
        while not runner._ended.is_set():  # until the runner says the call is over
            if s.status == "ended":
                s.log.append("local", "late_note", n=late)
                late += 1
            await asyncio.sleep(0)
        assert [r[:3] for r in load_session(tmp_path / "auto").log(1).rows()] == [
            r[:3] for r in s.log.rows()
        ]  # on disk when the call is over
        s.log.append("browser", "playback-stopped", turn_id="a")  # the page's last report, late
        return s, late

    s, late = asyncio.run(main(), debug=True)
    assert late > 0  # the call's end took several loop turns (the autosave thread's flush)
    s.close()  # the session is done: the late report is on disk too
    loaded = load_session(tmp_path / "auto").log(1)
    assert [r[:3] for r in loaded.rows()] == [r[:3] for r in s.recording.log(1).rows()]
    assert loaded.rows()[-1][2] == "playback-stopped"


def test_close_ends_the_call_and_closes_the_widget(fixture_server, no_vatel_env, monkeypatch):
    import comm
    from test_widget import RecordingComm

    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))

    async def main():
        s = make_session(fixture_server)
        w = s.widget()
        await s.start()
        task = s.close()
        await task
        return s, w

    s, w = asyncio.run(main(), debug=True)
    assert s.status == "ended" and rows(s, "local", "closed")
    assert w.comm is None


def test_frames_captured_while_connecting_are_sent_once_connected(fixture_server, no_vatel_env):
    fixture_server.ws_accept_delay = 0.3

    class SendOnly:  # the smallest front-end: no update_state
        def send(self, envelope: dict, buffers: list[bytes]) -> None:
            pass

    async def main():
        s = make_session(fixture_server)
        s.attach(SendOnly())
        s.handle_frontend(READY)
        s.handle_frontend({"kind": "control", "action": "start"})
        await until(lambda: s.status == "connecting", "connecting")
        for i in range(10):
            s.handle_frontend(
                {"kind": "mic", "seq": i, "t_browser": 20.0 * i}, [np.full(480, i, "<i2").tobytes()]
            )
        await until(lambda: s.status == "live", "live")
        await until(lambda: s.stats()["mic_sent"] == 10, "the early frames sent")
        await s.end()
        return s

    s = asyncio.run(main(), debug=True)
    got = [json.loads(m) for m in fixture_server.ws_received if isinstance(m, str)]
    firsts = [int(np.frombuffer(base64.b64decode(m["data"]["audio"]), "<i2")[0]) for m in got]
    assert firsts == list(range(10))
    t_connected = rows(s, "local", "connected")[0][0]
    assert all(t < t_connected for t, *_ in rows(s, "browser", "mic-captured"))
    assert all(t > t_connected for t, *_ in rows(s, "client", "input_audio"))
