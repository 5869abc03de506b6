"""A whole call against the simulator by a spec-following black-box client (raw httpx + websockets):
greeting → user speech → VAD events → transcripts → tool call round trip → text → audio →
barge-in → goodbye → session_ended; then the call record, transcript and recording over REST.
Every server message and REST body is validated against Vatel's openapi.json."""

from __future__ import annotations

import asyncio
import io
import wave

import numpy as np
import pytest
from _spec import validate
from test_simulator_helpers import SR, Caller, silence, tone

from vatel_nb.simulator import Latency, Simulator, Tool, Voice, demo_reply

SCRIPT = ["what time is it", "please tell me a rather long story now", "wait stop", "goodbye"]


async def _whole_call(profile: str) -> None:
    sim = await Simulator(asr="scripted", voice="auto", profile=profile).start()
    try:
        agent_id = sim.add_agent(
            "Call test",
            first_message="Hi there.",
            vad_settings={"start_secs": 0.1, "stop_secs": 0.3},
            reply=demo_reply,
            tools=[Tool("get_time", "time now", {"timezone": "IANA zone"})],
            script=SCRIPT,
            latency=Latency(audio_burst=0.2),
        )
        c = Caller(sim.base_url, sim.api_key, sim.profile)
        await c.connect(await c.token(agent_id))

        # greeting: session_started, text, audio (last chunk is_final)
        _, started = await c.wait_for("session_started")
        call_id = started["data"]["id"]
        _, last_greeting = await c.wait_for("response_audio", is_final=True)
        greeting_turn = last_greeting["data"]["turn_id"]
        assert c.of("response_text")[-1][1]["data"] == {
            "turn_id": greeting_turn,
            "text": "Hi there.",
            "is_final": True,
        }
        await c.played(greeting_turn)  # let the greeting finish playing (agent clock)

        # turn 1: "what time is it" → tool call → output → "It is noon UTC."
        mark = len(c.messages)
        await c.stream(np.concatenate([silence(0.1), tone(0.6), silence(0.4)]))
        await c.wait_for("speech_started", mark)
        await c.wait_for("speech_stopped", mark)
        partials = [m for _, m in c.of("input_audio_transcript", mark) if not m["data"]["is_final"]]
        assert partials and all(SCRIPT[0].startswith(m["data"]["transcript"]) for m in partials)
        _, final = await c.wait_for("input_audio_transcript", mark, is_final=True)
        turn1 = final["data"]["turn_id"]
        assert final["data"]["transcript"] == SCRIPT[0]
        _, call = await c.wait_for("tool_call", mark)
        assert call["data"]["toolName"] == "get_time"
        assert (
            call["data"]["arguments"][0]["name"] == "timezone"
            and call["data"]["arguments"][0]["value"] == "UTC"
        )
        await c.tool_output(call["data"]["toolCallId"], "noon UTC")
        _, text = await c.wait_for("response_text", mark, is_final=True, turn_id=turn1)
        assert text["data"]["text"] == "It is noon UTC."
        await c.wait_for("response_audio", mark, is_final=True, turn_id=turn1)
        order = [m["type"] for _, m in c.messages[mark:] if m["type"] != "response_audio"]
        assert order.index("speech_started") < order.index("speech_stopped") < order.index("tool_call")
        await c.played(turn1)  # "It is noon UTC." plays out

        # turn 2: a long answer, paced in real time; the user barges in during it
        mark = len(c.messages)
        await c.stream(np.concatenate([tone(0.5), silence(0.4)]))
        _, final = await c.wait_for("input_audio_transcript", mark, is_final=True)
        turn2 = final["data"]["turn_id"]
        await c.wait_for("response_audio", mark, turn_id=turn2)
        await asyncio.sleep(0.3)
        barge = len(c.messages)
        await c.stream(np.concatenate([tone(0.3), silence(0.4)]))
        t_int, _ = await c.wait_for("interruption", barge)
        t_start, _ = await c.wait_for("speech_started", barge)
        assert t_start <= t_int
        await c.wait_for("input_audio_transcript", barge, is_final=True, transcript="wait stop")
        late = [t for t, m in c.of("response_audio", barge) if m["data"]["turn_id"] == turn2 and t > t_int]
        assert late == []  # no audio of the interrupted turn after the interruption
        assert not any(
            m["data"]["is_final"] for _, m in c.of("response_audio", mark) if m["data"]["turn_id"] == turn2
        )
        _, echo = await c.wait_for("response_audio", barge, is_final=True)  # "You said: wait stop"
        await c.played(echo["data"]["turn_id"])

        # turn 3: goodbye → the agent ends the call after speaking
        mark = len(c.messages)
        await c.stream(np.concatenate([tone(0.4), silence(0.4)]))
        await c.wait_for("response_text", mark, text="Goodbye!", is_final=True)
        await c.wait_for("session_ended", mark, timeout=10)
        await c.close()
        assert c.close_code == 1000

        # ground truth agrees with what the client saw
        truth = sim.ground_truth(call_id)
        kinds = [(t.kind, t.outcome) for t in truth.turns]
        assert kinds[0] == ("greeting", "responded") and kinds[1][1] == "responded"
        t2 = truth.turn(turn2)
        assert t2.interrupted and t2.outcome == "interrupted" and 0 < t2.samples_sent < t2.samples_meant
        assert t2.samples_played is not None and t2.samples_played <= t2.samples_sent
        received = sum(
            len(m["data"]["audio"]) * 3 // 8
            for _, m in c.of("response_audio")
            if m["data"]["turn_id"] == turn2
        )
        assert received == t2.samples_sent
        assert [s.transcript for s in truth.segments] == SCRIPT
        assert truth.end_reason == "ended_by_agent"
        tool = truth.turn(turn1).tools[0]
        assert tool.output == "noon UTC" and not tool.timed_out and tool.t_output is not None
        sent_types = [m.type for m in truth.messages]
        assert sent_types == [m["type"] for _, m in c.messages]  # nothing lost, same order
        assert truth.frame()["type"].tolist() == sent_types

        # call record + recording over REST
        async with c.rest() as rest:
            r = await rest.get(f"/v1/calls/{call_id}")
            assert r.status_code == 200
            record = r.json()
            validate("Call", record)
            assert (
                record["status"] == "ended" and record["source"] == "api" and record["agent_id"] == agent_id
            )
            assert record["termination_reason"] == "ended_by_agent"
            entries = record["transcript"]["entries"]
            types = [(e["type"], e.get("role")) for e in entries]
            assert (
                ("tool_call", "") in types
                and ("tool_call_output", "") in types
                and ("interruption", "") in types
            )
            users = [e["message"] for e in entries if e.get("role") == "user"]
            assert users == SCRIPT
            out = next(e for e in entries if e["type"] == "tool_call_output")
            assert out["toolCallOutput"] == "noon UTC" and out["toolCall"]["toolName"] == "get_time"
            assert all(e["turnId"] for e in entries if e["type"] != "message" or e["role"] == "user")
            listed = (await rest.get("/v1/calls", params={"agent_ids": agent_id})).json()
            validate("PaginatedCallsResponse", listed)
            assert [x["id"] for x in listed["calls"]] == [call_id]
            wav = await rest.get(f"/v1/calls/{call_id}/recording")
            assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
            assert wav.headers["content-disposition"] == f'attachment; filename="{call_id}.wav"'
            assert int(wav.headers["content-length"]) == len(wav.content)
            with wave.open(io.BytesIO(wav.content)) as w:
                assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, SR)
                stereo = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
            user, agent = stereo[:, 0].astype(np.int64), stereo[:, 1].astype(np.int64)
            assert np.count_nonzero(user) > 0.5 * SR and np.count_nonzero(agent) > SR
            # the user's first tone sits where the ground truth says it was heard (server clock)
            onset = int((truth.segments[0].start_t - truth.t0) * SR)
            first_loud = int(np.flatnonzero(np.abs(user) > 3000)[0])
            assert abs(first_loud - onset) < 0.05 * SR
            r = await rest.get(f"/_sim/sessions/{call_id}/ground-truth")
            assert r.status_code == 200 and r.json()["turns"][2]["turn_id"] == turn2
    finally:
        await sim.stop()


@pytest.mark.parametrize("profile", ["vendor", "spec"])
def test_whole_call_black_box(profile: str) -> None:
    asyncio.run(_whole_call(profile))


async def _pocketsphinx_call() -> None:
    sim = await Simulator(asr="pocketsphinx", voice="espeak").start()
    try:
        agent = sim.add_agent(
            "ASR", vad_settings={"start_secs": 0.1, "stop_secs": 0.3}, reply=lambda t, h: None
        )
        c = Caller(sim.base_url, sim.api_key, sim.profile)
        await c.connect(await c.token(agent))
        _, started = await c.wait_for("session_started")
        speech = Voice("espeak").synthesize("what time is it")
        await c.stream(np.concatenate([silence(0.2), speech, silence(0.5)]))
        _, final = await c.wait_for("input_audio_transcript", is_final=True, timeout=30)
        text = final["data"]["transcript"]
        truth = sim.ground_truth(started["data"]["id"])
        assert truth.asr_source == "pocketsphinx" and truth.segments[0].transcript == text
        # real recognition ran (in a worker thread): words, not the duration placeholder
        assert text.strip() and not text.startswith("[speech")
        await c.close()
    finally:
        await sim.stop()


def test_pocketsphinx_transcribes_real_speech() -> None:
    asyncio.run(_pocketsphinx_call())
