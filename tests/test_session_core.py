"""The call core on its own: fed messages, envelopes and times; no sockets, no threads, no loop."""

from __future__ import annotations

import numpy as np
import pytest

from vatel_nb import envelope as env
from vatel_nb.protocol import (
    InputAudio,
    InputAudioTranscript,
    Interruption,
    ResponseAudio,
    ResponseText,
    SessionEnded,
    SessionStarted,
    ToolCall,
    ToolCallOutput,
)
from vatel_nb.session._core import CallCore, ClientRecord, ClockSample, MicFrame, Row, ServerRecord
from vatel_nb.session._tools import ToolResult


def audio(turn: str, n: int = 480, value: int = 1, final: bool = False) -> tuple[ResponseAudio, bytes]:
    pcm = np.full(n, value, "<i2").tobytes()
    return ResponseAudio.from_pcm(turn, pcm, final), pcm


def live_core(**kw) -> CallCore:
    core = CallCore(**kw)
    fx = core.connecting(0.0, backend="simulator", simulated=True, frontend_info={"sample_rate": 24000})
    assert [(r.source, r.type) for r in fx.rows] == [("local", "connecting"), ("browser", "status")]
    assert fx.state["status"] == "connecting" and fx.state["transcript"] == []
    assert core.connected(0.2, "ws://x").state == {"status": "live"}
    return core


def test_audio_goes_to_the_page_and_late_chunks_of_a_cut_turn_never_do():
    core = live_core()
    msg, pcm = audio("a")
    fx = core.server(msg, 1.0, pcm)
    assert fx.page == [(env.audio("a", 0, False), [pcm])] and fx.latency  # a new turn: refresh
    assert fx.rows == [ServerRecord(msg, 1.0, pcm)]
    assert not core.server(msg, 1.02, pcm).latency  # same turn
    fx = core.server(Interruption(), 1.1)
    assert fx.page == [(env.interrupt("a"), [])]
    assert core.interrupted == {"a": 1.1}
    fx = core.server(msg, 1.2, pcm)  # late chunk of the interrupted turn
    assert fx.page == []
    assert fx.rows[-1] == Row(
        "local", "dropped", 1.2, {"text": "interrupted-turn", "turn_id": "a", "samples": 480}
    )
    msg_b, pcm_b = audio("b", final=True)
    assert core.server(msg_b, 1.3, pcm_b).page == [(env.audio("b", 2, True), [pcm_b])]


def test_interrupted_reply_is_marked_in_the_transcript_with_what_was_heard():
    core = live_core()
    msg, pcm = audio("a", n=24_000)  # 1 s received
    core.server(msg, 1.0, pcm)
    core.server(ResponseText("a", "one two three four", True), 1.0)
    core.server(Interruption(), 1.5)
    fx = core.frontend(env.playback("flushed", "a", 2000.0, 12_000, dropped_samples=12_000), [], 1.6)
    (line,) = [e for e in fx.state["transcript"] if e["role"] == "agent"]
    assert line["interrupted"] is True and line["heard_s"] == 0.5 and line["heard"] == "one two"


def test_playback_reports_keep_the_playout_target_depth_in_the_row_detail():
    core = live_core()
    fx = core.frontend(
        env.playback("started", "a", 100.0, 0, output_latency_ms=12.0, target_ms=35.5), [], 1.0
    )
    assert fx.rows[0].type == "playback-started"
    assert fx.rows[0].fields["detail"] == {"output_latency_ms": 12.0, "target_ms": 35.5}
    fx = core.frontend(env.playback("underrun", "a", 200.0, 480, target_ms=60.0), [], 1.1)
    assert fx.rows[0].type == "underrun" and fx.rows[0].fields["detail"] == {"target_ms": 60.0}
    bad = core.frontend({**env.playback("stopped", "a", 300.0, 480), "target_ms": "big"}, [], 1.2)
    assert bad.rows[0].type == "error" and "target_ms" in bad.rows[0].fields["text"]


def test_transcript_partials_are_replaced_by_finals():
    core = live_core()
    core.server(InputAudioTranscript("hi th", False), 1.0)
    fx = core.server(InputAudioTranscript("hi there", True), 1.1)
    assert fx.state["transcript"] == [{"role": "user", "text": "hi there", "final": True, "turn_id": None}]


def test_mic_frames_become_sends_silence_while_muted_and_nothing_after_the_end():
    core = live_core()
    pcm = np.full(480, 7, "<i2").tobytes()
    fx = core.frontend(env.mic(0, 100.0), [pcm], 0.5)
    assert fx.send == [MicFrame(0, 100.0, pcm)]
    assert fx.rows[0].type == "mic-captured" and fx.rows[0].fields["t_browser"] == 100.0
    message = InputAudio.from_pcm(pcm)
    sent = core.mic_sent(fx.send[0], message, 0.51)
    assert isinstance(sent, ClientRecord) and sent.pcm == pcm and core.frames_sent == 1
    assert sent.msg is message, "recorded as sent: encoded once"
    assert (sent.t, sent.seq, sent.t_browser) == (0.51, 0, 100.0)
    assert core.frontend(env.control("mute"), [], 0.6).state == {"muted": True}
    assert core.frontend(env.mic(1, 120.0), [pcm], 0.7).send == [MicFrame(1, 120.0, bytes(960))]
    fx = core.closed(0.8, "bye", clean=True, code=1000, close_reason="", had_socket=True)
    assert fx.page == [(env.end("bye"), [])] and fx.state == {"status": "ended"}
    assert core.frontend(env.mic(2, 140.0), [pcm], 0.9).send == []
    assert core.closed(1.0, "again", clean=True, code=None, close_reason="", had_socket=True).page == []


def test_pings_pongs_give_clock_samples_and_bad_envelopes_are_rows_not_exceptions():
    core = live_core()
    fx = core.ping(1.0)
    assert fx.page == [(env.ping(1), [])]
    fx = core.frontend(env.pong(1, 5000.0), [], 1.01)
    assert fx.rows[0] == ClockSample(1.0, 5000.0, 1.01)
    assert fx.rows[1].fields["detail"]["rtt_ms"] == pytest.approx(10.0)
    for bad in ({"kind": "nope"}, env.pong(99, 1.0), {"kind": "mic", "seq": 1, "t_browser": 0.0}):
        fx = core.frontend(bad, [], 2.0)
        assert fx.rows[0].type == "error" and "ignored a front-end envelope" in fx.rows[0].fields["text"]
    assert core.bad_envelopes == 3


def test_tools_end_and_page_end():
    core = live_core()
    call = ToolCall("c1", "get_time", ())
    assert core.server(call, 1.0).tools == [call]
    assert core.tool_started(call, 1.0).rows[0].type == "tool-started"
    fx = core.tool_finished(call, ToolResult("12:00", False, 3.0), 1.1)
    assert fx.send == [ToolCallOutput("c1", "12:00")] and fx.rows[0].fields["text"] == "12:00"
    assert core.frontend(env.control("end"), [], 1.2).end == "the call was ended from the page"
    core.server(SessionStarted("s1"), 0.1)
    assert core.session_id == "s1"
    assert core.server(SessionEnded(), 2.0).end == "the agent ended the call" and core.server_ended


def test_a_mic_frame_is_the_same_row_and_send_on_the_fast_path_and_the_validated_one(monkeypatch):
    pcm = np.arange(480, dtype="<i2").tobytes()
    frames = [
        (env.mic(0, 100.0), [pcm]),
        (env.mic(1, 120.0, clock="modelled"), [memoryview(pcm)]),
        ({"kind": "mic", "seq": 2, "t_browser": 140}, [bytearray(pcm)]),  # no samples, an int time
        env.pack(env.mic(3, 160.0, clock="device"), [pcm], "base64"),  # only the validated path
    ]

    def run(core: CallCore) -> list:
        out = []
        for i, (envelope, buffers) in enumerate(frames):
            fx = core.frontend(envelope, buffers, 0.5 + i)
            out.append((fx.rows, fx.send, fx.page, fx.state, fx.end))
        return out

    fast = run(live_core())
    monkeypatch.setattr(env, "mic_frame", lambda envelope, buffers: None)
    assert run(live_core()) == fast
    assert [rows[0] for rows, *_ in fast] == [
        Row("browser", "mic-captured", 0.5, {"seq": 0, "samples": 480, "t_browser": 100.0, "clock": None}),
        Row(
            "browser",
            "mic-captured",
            1.5,
            {"seq": 1, "samples": 480, "t_browser": 120.0, "clock": "modelled"},
        ),
        Row("browser", "mic-captured", 2.5, {"seq": 2, "samples": 480, "t_browser": 140.0, "clock": None}),
        Row(
            "browser", "mic-captured", 3.5, {"seq": 3, "samples": 480, "t_browser": 160.0, "clock": "device"}
        ),
    ]
    assert [send for _, send, *_ in fast] == [[MicFrame(i, 100.0 + 20 * i, pcm)] for i in range(4)]
    assert all(type(send[0].pcm) is bytes for _, send, *_ in fast)


@pytest.mark.parametrize(
    ("envelope", "buffers", "why"),
    [
        (env.mic(5, 1.0), [b"\0\0\0"], "mic frame 5 has an odd number of bytes (3)"),
        ({"kind": "mic", "seq": 5}, [bytes(960)], "missing field 't_browser'"),
        ({"kind": "mic", "seq": "5", "t_browser": 1.0}, [bytes(960)], "'seq' has the wrong type (str)"),
        (env.mic(5, 1.0), [bytes(960), bytes(960)], "needs 1 binary buffer(s), got 2"),
        (env.mic(5, 1.0), ["not bytes"], "a binary buffer must be bytes-like"),
        (dict(env.mic(5, 1.0), clock=["x"]), [bytes(960)], "clock ['x'] is not one of"),
        (dict(env.mic(5, 1.0), buffers_b64=["***"]), [], "buffers_b64 is not valid base64"),
        ([env.mic(5, 1.0)], [bytes(960)], "must be a JSON object, got list"),
    ],
)
def test_a_malformed_mic_envelope_is_an_error_row_and_loses_nothing_recorded(envelope, buffers, why):
    core = live_core()
    pcm = np.ones(480, "<i2").tobytes()
    before = core.frontend(env.mic(4, 80.0), [pcm], 0.4)
    bad = core.frontend(envelope, buffers, 0.45)
    after = core.frontend(env.mic(6, 120.0), [pcm], 0.5)
    assert [r.fields["seq"] for r in before.rows + after.rows] == [4, 6]
    assert [f.seq for f in before.send + after.send] == [4, 6]
    assert bad.send == [] and core.bad_envelopes == 1
    (row,) = bad.rows
    assert (row.source, row.type, row.t) == ("local", "error", 0.45)
    assert row.fields["text"].startswith("ignored a front-end envelope: ") and why in row.fields["text"]
