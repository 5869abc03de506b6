"""EventLog rows → frame, record_* mapping of protocol messages, audio tracks."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from vatel_nb.log import COLUMNS, EventLog, record_client_message, record_server_message
from vatel_nb.protocol import (
    InputAudio,
    Interruption,
    ResponseAudio,
    SessionStarted,
    SpeechStarted,
    SpeechStopped,
    ToolCall,
    ToolCallOutput,
    parse_server_message,
)


def test_frame_columns_dtypes_and_values():
    log = EventLog()
    log.append("server", "response_text", 1.5, turn_id="t1", text="hi", is_final=True)
    log.append("browser", "mic-captured", 0.5, seq=3, samples=480, t_browser=1000.0)
    log.append("local", "dropped", 2.0, text="mic", samples=960, reason="queue full")
    log.append("browser", "playback-started", 1.7, turn_id="t1", t_browser=2300.0, clock="modelled")
    df = log.frame()
    assert list(df.columns) == list(COLUMNS)
    for name, dtype in COLUMNS.items():
        assert str(df[name].dtype) == str(dtype), name
    assert df["t"].tolist() == [0.5, 1.5, 1.7, 2.0]  # sorted by t
    assert df["type"].astype(str).tolist() == ["mic-captured", "response_text", "playback-started", "dropped"]
    assert df.loc[1, "text"] == "hi" and bool(df.loc[1, "is_final"]) is True
    assert pd.isna(df.loc[0, "turn_id"]) and pd.isna(df.loc[0, "is_final"])
    assert df.loc[0, "seq"] == 3 and pd.isna(df.loc[1, "seq"])
    assert df["clock"].astype(str).tolist() == ["browser", "kernel", "modelled", "kernel"]
    assert df.loc[3, "detail"] == {"reason": "queue full"}  # unknown keyword → detail
    assert df["wall"].iloc[0] == pd.Timestamp(log.wall0) + pd.Timedelta(seconds=0.5)
    assert df["t_mapped"].isna().all()  # no clock sample yet
    log.clock.add_sample(0.0, 500.0, 0.0)  # browser = kernel ms + 500
    df = log.frame()
    assert df.loc[0, "t_mapped"] == pytest.approx(0.5)
    assert df.loc[2, "t_mapped"] == pytest.approx(1.8)


def test_empty_frame_has_typed_columns():
    df = EventLog().frame()
    assert len(df) == 0 and list(df.columns) == list(COLUMNS)
    assert str(df["turn_id"].dtype) == "string" and str(df["seq"].dtype) == "Int64"


def test_bad_input_is_refused_and_loses_nothing():
    log = EventLog()
    log.append("server", "speech_stopped", 1.0)
    with pytest.raises(ValueError, match="source must be one of"):
        log.append("serverr", "speech_stopped", 2.0)
    with pytest.raises(TypeError, match="kernel seconds"):
        log.append("server", "speech_stopped", "soon")
    log.append("server", "speech_stopped", np.float64(1.5))  # numpy numbers are fine
    log.append("local", "x", 3.0, clock="atomic")
    with pytest.raises(ValueError, match="clock must be one of"):
        log.frame()
    assert len(log) == 3
    with pytest.raises(ValueError, match="odd number of bytes"):
        log.user_audio.append(0.0, b"\x00\x01\x02")
    assert len(log.user_audio) == 0


def test_default_t_is_kernel_now():
    log = EventLog()
    before = log.now()
    log.append("local", "connecting")
    after = log.now()
    t = log.rows()[0][0]
    assert before <= t <= after
    assert abs((log.t0 + t) - time.perf_counter()) < 5.0


def test_appends_from_threads_are_all_kept():
    log = EventLog()

    def work(k: int) -> None:
        for i in range(5000):
            log.append("browser", "mic-captured", seq=i, detail={"thread": k})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    df = log.frame()
    assert len(df) == 20000
    assert df["t"].is_monotonic_increasing
    assert sorted(df["detail"].map(lambda d: d["thread"]).value_counts().tolist()) == [5000] * 4


def test_record_server_and_client_messages():
    log = EventLog()
    pcm = (np.arange(480, dtype=np.int16) * 10).tobytes()
    record_server_message(log, SessionStarted("sess-1"), 0.1)
    record_server_message(log, SpeechStarted(emulated=True), 0.2)
    record_server_message(log, SpeechStopped(), 0.3)
    record_server_message(log, ResponseAudio.from_pcm("t1", pcm), 0.4)
    record_server_message(log, Interruption(), 0.5)
    record_server_message(log, ResponseAudio.from_pcm("t1", pcm, is_final=True), 0.6)
    record_server_message(
        log,
        parse_server_message('{"type":"tool_call","data":{"toolCallId":"c1","toolName":"w","arguments":[]}}'),
        0.7,
    )
    record_server_message(log, parse_server_message("not json"), 0.8)
    record_client_message(log, InputAudio.from_pcm(pcm), 0.9, seq=7, t_browser=1234.5)
    record_client_message(log, ToolCallOutput("c1", "sunny"), 1.0)
    df = log.frame()
    assert df["type"].astype(str).tolist() == [
        "session_started",
        "speech_started",
        "speech_stopped",
        "response_audio",
        "interruption",
        "response_audio",
        "tool_call",
        "invalid",
        "input_audio",
        "tool_call_output",
    ]
    assert log.meta["session_id"] == "sess-1"
    assert df.loc[1, "detail"] == {"emulated": True}
    assert df.loc[3, "samples"] == 480 and df.loc[3, "turn_id"] == "t1"
    assert df.loc[4, "detail"] == {"interrupted_turn_id": "t1"}
    assert df.loc[6, "tool_call_id"] == "c1" and df.loc[6, "tool_name"] == "w"
    assert df.loc[7, "detail"]["raw"] == "not json" and "invalid JSON" in df.loc[7, "text"]
    assert df.loc[8, "seq"] == 7 and df.loc[8, "source"] == "client"
    assert df.loc[9, "text"] == "sunny"
    # audio went to the tracks, once; the chunk after the interruption is flagged dropped
    assert len(log.agent_audio) == 2 and log.agent_audio.dropped().tolist() == [False, True]
    assert log.user_audio.pcm().tobytes() == pcm and log.user_audio.t_browser().tolist() == [1234.5]
    with pytest.raises(TypeError, match="parse the frame"):
        record_server_message(log, {"type": "speech_stopped"})
    with pytest.raises(TypeError):
        record_client_message(log, SpeechStopped())
    _ = ToolCall  # imported for the protocol surface


def test_audio_tracks_index_and_turns():
    log = EventLog()
    a = log.agent_audio
    a.append(1.0, np.full(240, 5, np.int16), "t1")
    a.append(1.01, np.full(480, 6, np.int16), "t1")
    a.interrupt(1.02)
    a.append(1.03, np.full(240, 7, np.int16), "t1")
    a.append(1.5, np.full(100, 8, np.int16), "t2")
    idx = a.index()
    assert idx["start"].tolist() == [0, 240, 720, 960]
    assert idx["dropped"].tolist() == [False, False, True, False]
    assert a.turn_pcm("t1").tolist() == [5] * 240 + [6] * 480
    assert a.n_samples == 1060 and a.duration_s == pytest.approx(1060 / 24000)
    with pytest.raises(TypeError, match="int16"):
        a.append(2.0, np.zeros(10, np.float32), "t3")
