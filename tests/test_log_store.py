"""save/load round trip, autosave while a call runs, partial folders, stereo export."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from vatel_nb.analysis import SyntheticCall
from vatel_nb.log import (
    Autosaver,
    EventLog,
    load_session,
    read_wav,
    save_session,
    stereo_recording,
    write_wav,
)


def _call() -> EventLog:
    c = SyntheticCall()
    c.session_started(0.1)
    c.pings(12)
    c.agent_reply("g", 0.5, 0.6, 1.0, text="Hello")
    c.user_speech(3.0, 4.0)
    c.transcript(4.7, "hi")
    c.agent_reply("a1", 4.9, 5.1, 1.5, text="Sure", cut_at=5.5)
    c.tool(6.0, 6.2)
    c.log.append("local", "closed", 9.0, detail={"clean": True, "code": 1000, "reason": ""})
    c.mic(8.0)
    c.log.meta["agent"] = {"id": "a-1", "vad_settings": {"stop_secs": 0.5}}
    return c.log


def test_round_trip_keeps_events_audio_and_clock(tmp_path):
    log = _call()
    path = save_session(log, tmp_path / "call")
    back = load_session(path)
    assert back.t0 == log.t0 and back.wall0 == log.wall0
    pd.testing.assert_frame_equal(back.frame(), log.frame())  # values and dtypes
    assert back.user_audio.pcm().tobytes() == log.user_audio.pcm().tobytes()
    assert back.agent_audio.pcm().tobytes() == log.agent_audio.pcm().tobytes()
    pd.testing.assert_frame_equal(back.user_audio.index(), log.user_audio.index())
    pd.testing.assert_frame_equal(back.agent_audio.index(), log.agent_audio.index())
    assert back.clock.samples() == log.clock.samples()
    assert back.agent_audio.interrupted == log.agent_audio.interrupted
    assert back.meta["agent"] == log.meta["agent"] and "load_warnings" not in back.meta
    pcm, channels, rate = read_wav(path / "user.wav")
    assert (channels, rate) == (1, 24000) and pcm == log.user_audio.pcm().tobytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_session(log, path)
    save_session(log, path, overwrite=True)


def test_load_refuses_what_is_not_a_session(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"meta\.json"):
        load_session(tmp_path)


def test_autosave_leaves_a_loadable_folder_mid_call(tmp_path):
    log = EventLog()
    saver = Autosaver(log, tmp_path / "live", interval=0.05).start()
    try:
        for i in range(50):
            log.append("server", "response_audio", turn_id="t1", samples=480, seq=i)
            log.agent_audio.append(log.now(), np.full(480, i, np.int16), "t1")
        deadline = time.monotonic() + 10
        while saver.flushes < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        mid = load_session(tmp_path / "live")  # while the thread keeps writing
        assert 0 < len(mid) <= 50 and len(mid.agent_audio) <= 50
        for i in range(50, 80):
            log.append("server", "response_audio", turn_id="t1", samples=480, seq=i)
            log.agent_audio.append(log.now(), np.full(480, i, np.int16), "t1")
    finally:
        saver.stop()
    assert saver.error is None
    done = load_session(tmp_path / "live")
    pd.testing.assert_frame_equal(done.frame(), log.frame())
    assert done.agent_audio.pcm().tolist() == log.agent_audio.pcm().tolist()


def test_partial_folder_after_a_crash_loads_what_is_complete(tmp_path):
    log = _call()
    path = save_session(log, tmp_path / "crashed")
    n_rows = len(log)
    with open(path / "events.jsonl", "a", encoding="utf-8") as f:
        f.write('{"t": 99.0, "source": "serv')  # a line cut by the crash
    idx = (path / "agent_index.jsonl").read_text().splitlines()
    extra = json.loads(idx[-1])
    extra["start"] += extra["samples"]
    with open(path / "agent_index.jsonl", "a") as f:  # index written, samples never reached the WAV
        f.write(json.dumps(extra) + "\n")
    back = load_session(path)
    assert len(back) == n_rows
    assert len(back.agent_audio) == len(log.agent_audio)
    warnings = " ".join(back.meta["load_warnings"])
    assert "truncated last line" in warnings and "incomplete" in warnings


def test_stereo_aligns_a_click_in_both_channels(tmp_path):
    log = EventLog()
    sr = 24000
    # user: 20 ms chunks from t=1.0 s (kernel send times), a click 0.5 s in
    user = np.zeros(sr, np.int16)
    user[sr // 2] = 30000
    for i in range(50):
        log.user_audio.append(1.0 + i * 0.02, user[i * 480 : (i + 1) * 480])
    # agent: received in a burst at t=2.0; the browser says it started playing at t=2.25
    agent = np.zeros(sr // 2, np.int16)
    agent[sr // 4] = -30000
    for i in range(25):
        log.agent_audio.append(2.0 + i * 0.001, agent[i * 480 : (i + 1) * 480], "t1")
    log.clock.add_sample(0.0, 10_000.0, 0.0)  # browser ms = kernel ms + 10 000
    log.append("browser", "playback-started", 2.3, turn_id="t1", t_browser=10_000.0 + 2250.0)
    st = stereo_recording(log)
    assert st.dtype == np.int16 and st.shape[1] == 2
    assert np.flatnonzero(st[:, 0]).tolist() == [int(1.5 * sr)]  # user click at t = 1.5 s
    assert np.flatnonzero(st[:, 1]).tolist() == [int(2.5 * sr)]  # agent click at 2.25 + 0.25 s
    received = stereo_recording(log, agent="received", t_start=1.0)
    assert np.flatnonzero(received[:, 1]).tolist() == [int(1.0 * sr) + sr // 4]
    p = write_wav(tmp_path / "call.wav", st)
    data, channels, rate = read_wav(p)
    assert channels == 2 and rate == sr and np.frombuffer(data, "<i2").reshape(-1, 2).tolist() == st.tolist()


def test_stereo_leaves_out_dropped_and_flushed_agent_audio():
    c = SyntheticCall()
    c.pings(5)
    c.agent_reply("t1", 0.9, 1.0, 2.0, cut_at=1.5, playout_s=0.1)
    st = stereo_recording(c.log)
    voiced = np.flatnonzero(st[:, 1])
    # playback from 1.1 s until the flush at 1.55 s
    assert voiced[0] / 24000 == pytest.approx(1.1, abs=0.001)
    assert voiced[-1] / 24000 == pytest.approx(1.55, abs=0.001)


def test_audio_player_plays_the_stereo_wav_unnormalised():
    from vatel_nb.log import audio_player

    log = EventLog()
    log.user_audio.append(0.0, np.full(480, 1000, np.int16))
    player = audio_player(log)
    data = player.data
    assert (
        data[:4] == b"RIFF" and np.frombuffer(data[44:], "<i2").reshape(-1, 2)[:, 0].tolist() == [1000] * 480
    )
