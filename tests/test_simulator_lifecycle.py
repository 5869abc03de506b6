"""Simulator robustness and lifecycle: bad client frames, oversize frames, concurrent sessions,
stop (1001), idle timeout, tool timeout, reply-function forms, token overrides, the CLI."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import threading

import httpx
import numpy as np
import pytest
from test_simulator_helpers import Caller, silence, tone

from vatel_nb.simulator import Latency, Reply, Simulator

FAST = Latency(audio_burst=float("inf"))
VAD = {"start_secs": 0.1, "stop_secs": 0.2}


async def _started(sim: Simulator, agent: str, **token: object) -> tuple[Caller, str]:
    c = Caller(sim.base_url, sim.api_key, sim.profile)
    await c.connect(await c.token(agent, **token))
    _, m = await c.wait_for("session_started")
    return c, m["data"]["id"]


async def _bad_frames() -> None:
    sim = await Simulator(asr="scripted", voice="synthetic", max_message_bytes=64 * 1024).start()
    try:
        agent = sim.add_agent("Robust", vad_settings=VAD, script=["still here"], latency=FAST)
        c, sid = await _started(sim, agent)
        bad = [
            "not json",
            "[]",
            '{"type": "dance", "data": {}}',
            '{"type": "input_audio"}',
            '{"type": "input_audio", "data": {"audio": "@@@not base64"}}',
            '{"type": "input_audio", "data": {"audio": "'
            + base64.b64encode(b"\x01\x02\x03").decode()
            + '"}}',
            '{"type": "tool_call_output", "data": {"toolCallId": "call_nope", "output": "x"}}',
        ]
        for frame in bad:
            await c.send_json(frame)
        await c.ws.send(b"\x00\x01binary")
        await c.stream(np.concatenate([tone(0.3), silence(0.3)]))
        _, final = await c.wait_for("input_audio_transcript", is_final=True)
        assert final["data"]["transcript"] == "still here"  # the session survived all of it
        errors = sim.ground_truth(sid).client_errors
        assert len(errors) == len(bad) + 1
        joined = " | ".join(e["error"] for e in errors)
        words = [
            "invalid JSON",
            "expected a JSON object",
            "unknown message type 'dance'",
            "base64",
            "3 bytes",
        ]
        for word in [*words, "call_nope"]:
            assert word in joined, joined
        # a frame over max_message_bytes closes the socket with 1009 (message too big)
        await c.send_json({"type": "input_audio", "data": {"audio": "A" * (100 * 1024)}})
        await asyncio.wait_for(c._rx, 5)  # type: ignore[arg-type]
        assert c.close_code == 1009
        await asyncio.sleep(0.1)
        truth = sim.ground_truth(sid)
        assert truth.end_reason == "ended_by_user" and "1009" in truth.client_errors[-1]["error"]
        assert sim.call_record(sid)["status"] == "ended"
        c.validate()
    finally:
        await sim.stop()


def test_bad_client_frames_are_logged_and_survived() -> None:
    asyncio.run(_bad_frames())


async def _concurrent() -> None:
    sim = await Simulator(asr="scripted", voice="synthetic").start()
    try:
        agents = [
            sim.add_agent(
                f"A{i}",
                first_message=f"Agent {i}.",
                vad_settings=VAD,
                script=[f"I am caller {i}"],
                latency=FAST,
            )
            for i in range(3)
        ]

        async def one(i: int) -> tuple[Caller, str, int]:
            c, sid = await _started(sim, agents[i % 3])
            await c.wait_for("response_audio", is_final=True)
            await c.played(c.of("response_audio")[0][1]["data"]["turn_id"])
            first = c.samples_sent
            await c.stream(np.concatenate([tone(0.3 + 0.1 * i), silence(0.3)]))
            await c.wait_for("response_text", is_final=True, text=f"You said: I am caller {i % 3}")
            return c, sid, first

        results = await asyncio.gather(*(one(i) for i in range(6)))
        for i, (c, sid, first) in enumerate(results):
            truth = sim.ground_truth(sid)
            assert truth.agent_id == agents[i % 3]
            assert [s.transcript for s in truth.segments] == [f"I am caller {i % 3}"]
            seg = truth.segments[0]
            assert seg.start_sample == first and seg.end_sample == first + int((0.3 + 0.1 * i) * 24000)
            assert c.of("response_text")[0][1]["data"]["text"] in (f"Agent {i % 3}.", "Agent")
            assert {m["data"]["turn_id"] for _, m in c.of("response_audio")} == {
                t.turn_id for t in truth.turns
            }
            await c.close()
        assert len({sid for _, sid, _ in results}) == 6
    finally:
        await sim.stop()


def test_concurrent_sessions_keep_their_own_state() -> None:
    asyncio.run(_concurrent())


async def _stop_with_live_sessions() -> None:
    sim = await Simulator(asr="placeholder", voice="synthetic").start()
    agent = sim.add_agent("Live", first_message="", vad_settings=VAD)
    callers = [await _started(sim, agent) for _ in range(2)]
    base = sim.base_url
    await sim.stop()
    for c, sid in callers:
        await asyncio.wait_for(c._rx, 5)  # type: ignore[arg-type]
        assert c.messages[-1][1]["type"] == "session_ended"
        assert (c.close_code, c.close_reason) == (1001, "simulator stopping")
        assert sim.call_record(sid)["termination_reason"] == "simulator_stopped"
        c.validate()
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/v1/organization")


def test_stop_ends_live_sessions_with_1001() -> None:
    asyncio.run(_stop_with_live_sessions())


def test_threaded_simulator_stops_while_a_client_is_connected() -> None:
    got: dict[str, object] = {}
    connected = threading.Event()

    async def client(sim: Simulator) -> None:
        c, _ = await _started(sim, sim.add_agent("T", vad_settings=VAD))
        connected.set()
        await asyncio.wait_for(c._rx, 10)  # type: ignore[arg-type]
        got.update(code=c.close_code, last=c.messages[-1][1]["type"])
        c.validate()

    with Simulator(asr="placeholder", voice="synthetic") as sim:
        th = threading.Thread(target=asyncio.run, args=(client(sim),))
        th.start()
        assert connected.wait(10)
    th.join(10)
    assert got == {"code": 1001, "last": "session_ended"}


async def _timeouts() -> None:
    sim = await Simulator(asr="scripted", voice="synthetic", idle_timeout=0.5, tool_timeout=0.3).start()
    try:
        idle = sim.add_agent("Idle", vad_settings=VAD)
        c, sid = await _started(sim, idle)
        await c.wait_for("session_ended", timeout=5)
        await asyncio.wait_for(c._rx, 5)  # type: ignore[arg-type]
        assert c.close_code == 1000 and "no user speech" in (c.close_reason or "")
        assert sim.call_record(sid)["termination_reason"] == "idle_timeout"
        c.validate()

        tools = sim.add_agent(
            "Tools", vad_settings=VAD, script=["what time is it"], latency=FAST, idle_timeout=30
        )
        c, sid = await _started(sim, tools)
        await c.stream(np.concatenate([tone(0.3), silence(0.3)]))
        await c.wait_for("tool_call")  # never answered
        _, text = await c.wait_for("response_text", is_final=True)
        assert text["data"]["text"] == "Sorry, I could not get the time: the tool timed out."
        tool = sim.ground_truth(sid).turns[0].tools[0]
        assert tool.timed_out and tool.output is None
        row = next(
            e for e in sim.call_record(sid)["transcript"]["entries"] if e["type"] == "tool_call_output"
        )
        assert "timed out" in row["toolCallOutput"]
        await c.close()
    finally:
        await sim.stop()


def test_idle_and_tool_timeouts() -> None:
    asyncio.run(_timeouts())


async def _reply_forms() -> None:
    sim = await Simulator(asr="scripted", voice="synthetic").start()
    try:
        histories: list[list] = []

        async def async_reply(transcript: str, history: list) -> Reply:
            histories.append(history)
            return Reply(f"async {transcript}")

        def broken(transcript: str, history: list) -> str:
            raise RuntimeError("boom")

        cases = [(async_reply, "async hi"), (lambda t, h: f"plain {t}", "plain hi"), (broken, None)]
        for reply, expected in cases:
            agent = sim.add_agent(
                "R", first_message="Hello.", vad_settings=VAD, reply=reply, script=["hi"], latency=FAST
            )
            c, sid = await _started(sim, agent, first_message="")  # token overrides: no greeting
            await c.stream(np.concatenate([tone(0.3), silence(0.3)]))
            await c.wait_for("input_audio_transcript", is_final=True)
            if expected is None:
                await asyncio.sleep(0.3)
                assert not c.of("response_text") and sim.ground_truth(sid).turns[0].outcome == "silent"
            else:
                _, text = await c.wait_for("response_text", is_final=True)
                assert text["data"]["text"] == expected
            await c.close()
        assert histories[0][-1] == {"role": "user", "text": "hi", "turn_id": histories[0][-1]["turn_id"]}
        c, _ = await _started(sim, agent, first_message="Custom hello.")
        _, text = await c.wait_for("response_text", is_final=True)
        assert text["data"]["text"] == "Custom hello."
        await c.close()
    finally:
        await sim.stop()


def test_reply_function_forms_and_token_first_message() -> None:
    asyncio.run(_reply_forms())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_url_first_and_stops_on_signal(sig: int) -> None:
    code = "from vatel_nb.cli import main; raise SystemExit(main())"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "simulator", "--api-key", "cli-key"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        r = httpx.get(url + "/v1/organization", headers={"Authorization": "Bearer cli-key"})
        assert r.status_code == 200 and r.json()["name"]
        proc.send_signal(sig)
        assert proc.wait(20) == 0
        assert "simulator stopped" in proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
