"""Turn grouping on the hard cases, built as synthetic event logs with chosen times."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from vatel_nb.analysis import LATENCY_COLUMNS, TURN_COLUMNS, SyntheticCall, turns
from vatel_nb.log import load_session, save_session


def _call(**kw) -> SyntheticCall:
    c = SyntheticCall(**kw)
    c.session_started(0.1)
    c.pings(40)
    return c


def _user_rows(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["outcome"].astype(str) != "agent-initiated"].reset_index(drop=True)


def test_one_user_turn_in_several_speech_segments():
    c = _call()
    c.user_speech(1.0, 2.0)
    c.user_speech(2.4, 3.0)  # a pause: the server VAD stopped and started again, no reply between
    c.user_speech(3.3, 4.0)
    c.transcript(4.1, "part one")
    c.transcript(4.6, "part two")
    c.agent_reply("a1", 4.8, 5.0, 1.0, text="ok")
    c.mic(7.0)
    df = turns(c.log)
    assert list(df.columns) == list(TURN_COLUMNS)
    assert len(df) == 1
    row = df.iloc[0]
    assert row["n_segments"] == 3 and row["outcome"] == "responded"
    assert row["user_start"] == pytest.approx(1.0 + 0.2 + 0.03)
    assert row["user_end"] == pytest.approx(4.0 + 0.5 + 0.03)
    assert row["transcript"] == "part one part two"
    assert row["vad_start"] == pytest.approx(1.0, abs=0.011) and row["vad_end"] == pytest.approx(
        4.0, abs=0.011
    )
    # heard V2V: real end of speech (4.0) → playback start (5.0 + 0.08), browser clock only
    assert row["v2v_ms"] == pytest.approx(1080.0, abs=11.0)
    assert row["server_e2e_ms"] == pytest.approx((5.0 - (4.53 - 0.5)) * 1000.0)


def test_segments_with_a_reply_between_are_two_turns():
    c = _call()
    c.user_speech(1.0, 2.0)
    c.agent_reply("a1", 2.8, 3.0, 0.5)
    c.user_speech(3.8, 4.5)
    c.agent_reply("a2", 5.3, 5.5, 0.5)
    df = turns(c.log)
    assert df["n_segments"].tolist() == [1, 1]
    assert df["turn_id"].tolist() == ["a1", "a2"]


def test_tool_call_splitting_a_response_stays_one_turn():
    c = _call()
    c.user_speech(1.0, 2.0)
    c.transcript(2.6, "weather?")
    c.agent_reply("a1", 2.8, 3.0, 0.5, text="Let me check.")
    c.tool(3.4, 3.9)
    c.agent_reply("a2", 6.0, 6.2, 1.0, text="Sunny.")  # long after the first part ended
    df = turns(c.log)
    assert len(df) == 1
    row = df.iloc[0]
    assert row["agent_turn_ids"] == ["a1", "a2"] and row["agent_text"] == "Let me check. Sunny."
    assert row["n_tool_calls"] == 1 and row["tool_names"] == "lookup"
    assert row["tool_exec_ms"] == pytest.approx(500.0)
    assert row["tool_ms"] == pytest.approx((6.2 - 3.4) * 1000.0)  # call → first audio after our output
    assert row["agent_samples"] == 36000


def test_agent_speaking_again_without_a_tool_is_agent_initiated():
    c = _call()
    c.user_speech(1.0, 2.0)
    c.agent_reply("a1", 2.8, 3.0, 0.5)
    c.agent_reply("a2", 9.0, 9.2, 0.5, text="Are you still there?")
    df = turns(c.log)
    assert df["outcome"].astype(str).tolist() == ["responded", "agent-initiated"]
    assert math.isnan(df.loc[1, "greeting_ms"])  # not a greeting: a user turn came before


def test_interruption_with_late_audio_chunks():
    c = _call()
    c.user_speech(1.0, 2.0)
    c.agent_reply("a1", 2.8, 3.0, 4.0, burst=2.0, cut_at=3.5)  # chunks keep arriving until 5.0
    c.user_speech(3.3, 4.0)  # the barge-in
    c.transcript(4.6, "wait")
    c.agent_reply("a2", 4.8, 5.2, 0.5, text="Yes?")
    c.mic(7.0)
    df = turns(c.log)
    assert df["outcome"].astype(str).tolist() == ["interrupted", "responded"]
    first, second = df.iloc[0], df.iloc[1]
    kept = sum(1 for k in range(200) if 3.0 + k * 0.01 <= 3.5) * 480
    assert first["agent_samples"] == kept and first["dropped_samples"] == 96000 - kept
    assert first["t_last_audio"] <= 3.5 and first["t_interruption"] == pytest.approx(3.5)
    assert first["agent_end"] == pytest.approx(3.55)  # the browser flush
    # what was heard of the cut reply: played from 3.08 to the flush at 3.55
    assert first["heard_ms"] == pytest.approx(470.0, abs=1.0) and isinstance(first["heard_text"], str)
    assert pd.isna(second["heard_ms"]) and pd.isna(second["heard_text"])
    assert bool(second["barge_in"]) and second["turn_id"] == "a2"
    # time-to-yield: user onset (3.3, client VAD) → agent audio stopped (flush at 3.55)
    assert second["time_to_yield_ms"] == pytest.approx(250.0, abs=11.0)
    # the late chunks of a1 (arriving up to 5.0) did not become a response of the barge-in turn
    assert second["t_first_audio"] == pytest.approx(5.2)


def test_turn_with_no_reply_is_silent():
    c = _call()
    c.user_speech(1.0, 2.0)
    c.transcript(2.6, "hello?")
    c.user_speech(6.0, 7.0)  # speaks again 3.5 s after the stop, still no reply: unanswered
    c.transcript(7.6, "are you there?")
    c.agent_reply("a1", 7.8, 8.0, 0.5)
    df = turns(c.log)
    assert df["outcome"].astype(str).tolist() == ["silent", "responded"]
    assert df["transcript"].tolist() == ["hello?", "are you there?"]
    first = df.iloc[0]
    assert first["agent_samples"] == 0 and math.isnan(first["server_e2e_ms"])
    assert first["transcription_ms"] == pytest.approx((2.6 - 2.53) * 1000.0)
    # a short pause (< merge_gap_s) with no reply is one turn in two segments instead
    assert turns(c.log, merge_gap_s=5.0)["n_segments"].tolist() == [2]


def test_agent_initiated_greeting():
    c = _call()
    c.agent_reply("g", 0.5, 0.7, 1.5, text="Hi, how can I help?", lead_silence_s=0.12)
    c.user_speech(3.0, 4.0)
    c.agent_reply("a1", 4.8, 5.0, 0.5)
    df = turns(c.log)
    assert df["outcome"].astype(str).tolist() == ["agent-initiated", "responded"]
    g = df.iloc[0]
    assert g["turn_id"] == "g" and math.isnan(g["user_start"])
    assert g["greeting_ms"] == pytest.approx((0.7 + 0.08 - 0.1) * 1000.0)  # session_started → played
    assert g["leading_silence_ms"] == pytest.approx(120.0, abs=10.0)


def test_emulated_speech_started_is_ignored():
    c = _call()
    c.user_speech(1.0, 2.0, emulated_before=True)  # an emulated start at 1.0, the real one at 1.23
    c.agent_reply("a1", 2.8, 3.0, 0.5)
    c.log.append("server", "speech_started", 5.0, detail={"emulated": True})  # alone: no turn
    df = turns(c.log)
    assert len(df) == 1
    assert df.loc[0, "user_start"] == pytest.approx(1.23)


def test_works_from_a_loaded_dataframe_plus_audio(tmp_path):
    c = _call()
    c.user_speech(1.0, 2.0)
    c.agent_reply("a1", 2.8, 3.0, 0.5, lead_silence_s=0.04)
    c.mic(4.0)
    live = turns(c.log)
    back = load_session(save_session(c.log, tmp_path / "s"))
    from_frame = turns(back.frame(), user_audio=back.user_audio, agent_audio=back.agent_audio)
    pd.testing.assert_frame_equal(from_frame, live)
    no_audio = turns(back.frame())  # no PCM: browser-only V2V impossible, server metrics remain
    assert math.isnan(no_audio.loc[0, "v2v_ms"]) and not math.isnan(no_audio.loc[0, "server_e2e_ms"])


def test_empty_log_gives_empty_typed_frame():
    from vatel_nb.log import EventLog

    df = turns(EventLog())
    assert len(df) == 0 and list(df.columns) == list(TURN_COLUMNS)


def test_latencies_match_the_injected_truth_with_a_noisy_mic_and_jittery_clock():
    import numpy as np

    from vatel_nb.log import EventLog

    log = EventLog()
    c = SyntheticCall(log=log, browser_offset_ms=-52_345.6)
    c.session_started(0.1)
    rng = np.random.default_rng(7)
    for k in np.arange(0.0, 30.0, 0.5):  # pings with asymmetric jitter (up ≫ down)
        up, down = 0.002 + rng.exponential(0.02), 0.002 + rng.exponential(0.005)
        log.clock.add_sample(k, c.browser_ms(k + up), k + up + down)
    truth = []
    for i, t in enumerate((2.0, 9.0, 16.0)):
        speech = 1.2 + 0.3 * i
        c.user_speech(t, t + speech)
        gap = 0.7 + 0.2 * i  # real end of speech → first agent audio received
        c.agent_reply(
            f"a{i}",
            t + speech + gap - 0.2,
            t + speech + gap,
            1.0,
            lead_silence_s=0.06,
            playout_s=0.09,
            target_ms=None if i == 0 else 20.0 * i,
        )
        truth.append((gap + 0.09 + 0.06) * 1000.0)  # heard V2V: + playout + leading silence
    c.mic(25.0, noise=40.0)
    df = turns(log)
    frame_ms = 10.0
    clock_err_ms = float(log.clock.anchors()[2].max()) / 2  # worst anchor: ± rtt/2
    np.testing.assert_allclose(df["v2v_ms"], truth, atol=frame_ms + 1e-6)  # browser clock only
    np.testing.assert_allclose(df["playout_ms"], 90.0, atol=clock_err_ms + 1e-6)  # needs the offset
    # the page's playout target at each response's start (NaN: not reported)
    np.testing.assert_array_equal(df["playout_target_ms"], [np.nan, 20.0, 40.0])
    np.testing.assert_allclose(df["eou_ms"], 530.0, atol=clock_err_ms + frame_ms + 1e-6)
    np.testing.assert_allclose(df["leading_silence_ms"], 60.0, atol=frame_ms)


def test_analysis_runs_while_the_call_is_still_appending():
    import threading
    import time

    import numpy as np

    c = _call()
    c.user_speech(1.0, 2.0)
    c.agent_reply("a1", 2.8, 3.0, 0.5)
    c.mic(4.0)
    log, stop = c.log, threading.Event()

    def writer() -> None:  # the session's loop: mic chunks and rows keep coming
        t = 4.0
        while not stop.is_set():
            log.user_audio.append(t, np.zeros(480, np.int16), t_browser=c.browser_ms(t), seq=int(t * 50))
            log.append("client", "input_audio", t, samples=480)
            log.agent_audio.append(t, np.zeros(480, np.int16), "late")
            t += 0.02
            time.sleep(0.0005)

    th = threading.Thread(target=writer)
    th.start()
    try:
        for _ in range(5):
            df = turns(log)
            assert df.loc[df["turn_id"] == "a1", "outcome"].tolist() == ["responded"]
    finally:
        stop.set()
        th.join()


def test_a_reply_that_starts_over_the_users_next_words_is_talked_over_with_positive_latency():
    # the user says A (1.0–2.0), pauses, goes on with B (2.8–5.0); the reply to A arrives at 3.5
    # (a slow recognizer): it answers A, over B. Merged, it used to give v2v ≈ −1.5 s.
    c = _call()
    c.user_speech(1.0, 2.0)
    c.user_speech(2.8, 5.0)
    c.transcript(3.4, "hello there", turn_id="u1")
    c.agent_reply("u1", 3.45, 3.5, 1.0, text="You said hello there")
    c.transcript(6.0, "tell me more", turn_id="u2")
    c.agent_reply("u2", 6.1, 6.3, 1.0, text="Sure")
    c.mic(8.0)
    df = turns(c.log)
    assert df["outcome"].astype(str).tolist() == ["talked-over", "responded"]
    assert df["transcript"].tolist() == ["hello there", "tell me more"]
    over = df.iloc[0]
    lat = df[list(LATENCY_COLUMNS)].to_numpy(dtype=float)
    assert not (lat < 0).any()
    # from the real end of A (2.0) to the first audio received (3.5) and heard (+ playout 0.08)
    assert over["server_e2e_ms"] == pytest.approx(1500.0 - 30.0, abs=5)  # the stop arrives net_s late
    assert over["v2v_ms"] == pytest.approx(1580.0, abs=15)
    # heard from 3.58 to 4.58 (1 s of audio), all of it while the user spoke (until 5.0)
    assert over["overlap_ms"] == pytest.approx(1000.0, abs=15)


def test_an_utterance_cut_off_by_the_end_of_the_call_is_its_own_outcome_and_is_drawn():
    from vatel_nb.analysis import speech_intervals

    c = _call()
    c.user_speech(1.0, 2.0)
    c.agent_reply("a1", 2.8, 3.0, 0.5)
    c.voiced.append((5.0, 6.0))  # still speaking when the call ended: no speech_stopped
    c.log.append("server", "speech_started", 5.25, detail={"emulated": False})
    c.mic(6.0)
    c.log.append("local", "closed", 6.0, detail={"clean": True, "code": 1000, "reason": ""})
    df = turns(c.log)
    assert df["outcome"].astype(str).tolist() == ["responded", "cut-off-by-end"]
    iv = speech_intervals(df)
    user = iv[iv["speaker"] == "user"]
    assert len(user) == 2 and user.iloc[1]["start"] == pytest.approx(5.0, abs=0.05)
    assert user.iloc[1]["end"] == pytest.approx(6.0, abs=0.05)  # drawn to its client-VAD end
