"""The analysis measures what really happened: per-stage delays injected in the simulator are
recovered by ``turns()`` from the session's event log (real HTTP + WebSocket, real time).

Each agent gets known constant delays per stage; a headless scripted caller talks to it through a
real :class:`VatelSession`, and the measured components are compared with (a) the injected values
and (b) the simulator's ground truth of when it sent each message.

Tolerance (``TOL_MS``): both ends of each stage are message *arrivals* on the kernel clock, so
what separates measured from injected is the simulator's send scheduling plus the client's
receive scheduling on a loaded 2-core machine (each a few ms, tens under load). Stages anchored
on audio (end-of-utterance, server e2e) add one 20 ms input chunk and one 10 ms VAD frame.
"""

from __future__ import annotations

import asyncio

import pytest

from vatel_nb.analysis import turns
from vatel_nb.caller import ScriptedCaller, Utterance
from vatel_nb.session import VatelSession
from vatel_nb.simulator import Latency, Simulator

VAD = {"start_secs": 0.2, "stop_secs": 0.3}
SCRIPT = ["hello there", "how are you today"]
TOL_MS = 60.0
AUDIO_TOL_MS = TOL_MS + 30.0

DELAYS = {
    "none": Latency(),
    "staged": Latency(endpointing=0.15, transcription=0.2, text=0.3, audio_first_byte=0.25),
}


def echo(transcript: str, history: list) -> str:
    return f"You said {transcript}."


@pytest.fixture(scope="module", params=sorted(DELAYS))
def measured(request):
    latency = DELAYS[request.param]
    with Simulator(asr="scripted", voice="synthetic") as sim:
        agent = sim.add_agent("Echo", reply=echo, vad_settings=VAD, script=SCRIPT, latency=latency)

        async def main():
            s = VatelSession(agent, api_key=sim.api_key, base_url=sim.base_url, verbose=False)
            script = [Utterance.say(t, think=0.3) for t in SCRIPT]
            await ScriptedCaller(s, script, wait_greeting=False, reply_timeout=5, tail=0.3).run()
            return s

        s = asyncio.run(main())
        truth = sim.ground_truth(s.session_id)
    t = turns(s.log)
    user = t[t["outcome"] != "agent-initiated"].reset_index(drop=True)
    return latency, s, truth, user


def _ms(x: float) -> float:
    return x * 1000.0


def test_every_user_turn_is_found_and_answered(measured):
    _, _, truth, user = measured
    assert len(user) == len(SCRIPT)
    assert list(user["outcome"]) == ["responded"] * len(SCRIPT)
    assert list(user["transcript"]) == SCRIPT
    assert len(truth.segments) == len(SCRIPT)


def test_stage_delays_are_recovered(measured):
    latency, _, _, user = measured
    for _, row in user.iterrows():
        assert row["transcription_ms"] == pytest.approx(_ms(latency.transcription), abs=TOL_MS)
        assert row["text_ms"] == pytest.approx(_ms(latency.text), abs=TOL_MS)
        assert row["voice_ms"] == pytest.approx(_ms(latency.audio_first_byte), abs=TOL_MS)
        # speech_stopped comes stop_secs (VAD hangover) + endpointing after the real end
        eou = _ms(VAD["stop_secs"] + latency.endpointing)
        assert row["eou_ms"] == pytest.approx(eou, abs=AUDIO_TOL_MS)
        # server e2e runs from (speech_stopped − hangover), the client's best estimate of the
        # real end, to the first audio: the hangover and every stage after speech_stopped. The
        # extra endpointing wait is invisible to a client (it shifts speech_stopped itself).
        e2e = _ms(VAD["stop_secs"] + latency.transcription + latency.text + latency.audio_first_byte)
        assert row["server_e2e_ms"] == pytest.approx(e2e, abs=AUDIO_TOL_MS)


def test_measures_match_the_simulators_ground_truth(measured):
    _, s, truth, user = measured
    t0 = s.log.t0
    for seg, (_, row) in zip(truth.segments, user.iterrows(), strict=True):
        (turn,) = [t for t in truth.turns if t.kind == "reply" and t.user_segment == seg.index]
        # the server's own send times, on the same perf_counter clock as the log
        sent_transcript = seg.transcript_t - t0
        assert row["t_transcript"] == pytest.approx(sent_transcript, abs=TOL_MS / 1000)
        first_audio = turn.t_first_audio - t0
        assert row["t_first_audio"] == pytest.approx(first_audio, abs=TOL_MS / 1000)
        # the client VAD's end of speech vs the voiced end the simulator heard (chunk + frame)
        assert row["vad_end"] == pytest.approx(seg.end_t - t0, abs=AUDIO_TOL_MS / 1000)


def test_heard_voice_to_voice_is_the_sum_it_should_be(measured):
    _, _, _, user = measured
    for _, row in user.iterrows():
        # heard V2V ≥ every server-side stage + hangover; the rest is the modelled playout
        # cushion (60 ms) and the agent audio's leading silence
        floor = row["eou_ms"] + row["transcription_ms"] + row["text_ms"] + row["voice_ms"]
        assert row["v2v_ms"] >= floor - AUDIO_TOL_MS
        assert row["v2v_ms"] <= floor + 60.0 + row["leading_silence_ms"] + AUDIO_TOL_MS
