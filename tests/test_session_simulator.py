"""VatelSession against the embedded simulator (real HTTP + WebSocket on 127.0.0.1, real-time audio).

A headless front-end in the test speaks for the page: ``ready``, ``control start``, then 20 ms mic
frames of synthetic speech paced in real time, answering pings. The simulator's ground truth
says what it really sent and heard.
"""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
from test_session import READY, ListFrontend, rows, until

from vatel_nb.session import VatelSession
from vatel_nb.simulator import Latency, Reply, Simulator, ToolRequest, Voice

FRAME = 480  # samples = 20 ms at 24 kHz
VAD = {"start_secs": 0.1, "stop_secs": 0.25}


def speech(text: str) -> np.ndarray:
    return Voice("synthetic").synthesize(text)


async def speak(
    session: VatelSession,
    pcm: np.ndarray,
    seq0: int = 0,
    silence_s: float = 0.0,
    fe: ListFrontend | None = None,
) -> int:
    """Send ``pcm`` then ``silence_s`` of silence as mic frames, paced in real time, stamped with
    the page clock of ``fe`` (capture time of each frame's first sample). Returns the next seq."""
    pcm = np.concatenate([pcm, np.zeros(int(silence_s * 24000), np.int16)]).astype("<i2")
    n = len(pcm) // FRAME
    t0 = time.perf_counter()
    for i in range(n):
        frame = pcm[i * FRAME : (i + 1) * FRAME]
        t_browser = fe.now() if fe is not None else time.perf_counter() * 1000.0
        session.handle_frontend({"kind": "mic", "seq": seq0 + i, "t_browser": t_browser}, [frame.tobytes()])
        await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.perf_counter()))
    return seq0 + n


def echo(transcript: str, history: list) -> Reply:
    return Reply(f"You said {transcript}.")


def tool_reply(transcript: str, history: list) -> Reply:
    if history and history[-1].get("role") == "tool":
        outs = [h["output"] for h in history if h.get("role") == "tool"]
        return Reply("Done: " + " | ".join(str(o) for o in outs))
    return Reply(
        tool_calls=[
            ToolRequest("double", {"x": 21}),
            ToolRequest("greet", {"name": "Ada", "unused": True}),
            ToolRequest("broken", {}),
            ToolRequest("nowhere", {"q": 1}),
        ]
    )


@pytest.fixture(scope="module", params=["vendor", "spec"])
def sim(request):
    with Simulator(
        asr="scripted", voice="synthetic", latency=Latency(), tool_timeout=5.0, profile=request.param
    ) as s:
        s.agents = {
            "call": s.add_agent(
                "Echo", first_message="Hi.", reply=echo, vad_settings=VAD, script=["hello there"]
            ),
            "tools": s.add_agent("Tools", reply=tool_reply, vad_settings=VAD, script=["what time is it"]),
            "long": s.add_agent(
                "Talker",
                first_message="This is a rather long greeting that goes on and on, so you can cut it off.",
                reply=echo,
                vad_settings=VAD,
                script=["stop"],
            ),
        }
        yield s


def session_for(sim, agent: str, **kw) -> VatelSession:
    return VatelSession(sim.agents[agent], api_key=sim.api_key, base_url=sim.base_url, **kw)


def test_whole_call_transcript_audio_back_turn_recorded(sim, no_vatel_env):
    async def main():
        s = session_for(sim, "call", ping_interval_s=0.5)
        fe = ListFrontend(s, offset_ms=5000.0, playback=True)
        s.attach(fe)
        s.handle_frontend(READY)
        s.handle_frontend({"kind": "control", "action": "start"})
        await until(lambda: s.status == "live", "live")
        await until(
            lambda: any(e["final"] for e, _ in fe.sent if e["kind"] == "audio"), "the greeting's audio"
        )
        # the vendor profile sends audio faster than real time: wait until the greeting has played
        greeting_s = sum(len(b[0]) // 2 for e, b in fe.sent if e["kind"] == "audio") / 24_000
        await asyncio.sleep(greeting_s)
        await speak(s, speech("hello there"), silence_s=0.4, fe=fe)
        await until(
            lambda: any(t["role"] == "agent" and t["final"] and "hello" in t["text"] for t in s.transcript),
            "the agent's answer",
        )
        await until(
            lambda: sum(e["final"] for e, _ in fe.sent if e["kind"] == "audio") == 2, "all answer audio"
        )
        await until(lambda: len(rows(s, "browser", "playback-started")) == 2, "playback reports")
        await until(lambda: s.ui_state["last_latency_kind"] == "heard voice-to-voice", "the V2V latency")
        s.handle_frontend({"kind": "control", "action": "end"})
        assert await s.wait_ended(5)
        return s, fe

    s, fe = asyncio.run(main(), debug=True)
    assert s.status == "ended"
    truth = sim.ground_truth(s.session_id)
    assert [t.kind for t in truth.turns] == ["greeting", "reply"]
    assert all(t.outcome == "responded" for t in truth.turns)
    # transcript trait: the user's final words and both agent turns
    finals = [(t["role"], t["text"]) for t in s.transcript if t["final"]]
    assert ("user", "hello there") in finals
    assert ("agent", "Hi.") in finals and ("agent", "You said hello there.") in finals
    # every sample the simulator sent reached the front-end as binary buffers, per turn
    for turn in truth.turns:
        bufs = [b[0] for e, b in fe.sent if e["kind"] == "audio" and e["turn_id"] == turn.turn_id]
        assert sum(len(b) for b in bufs) // 2 == turn.samples_sent > 0
    # the turn is in the log: server events, user audio as sent, clock samples
    types = [r[2] for r in s.log.rows() if r[1] == "server"]
    for t in (
        "session_started",
        "speech_started",
        "speech_stopped",
        "input_audio_transcript",
        "response_text",
    ):
        assert t in types
    assert len(s.log.user_audio) == s.stats()["mic_sent"] == len(rows(s, "client", "input_audio"))
    assert sum(c for _, _, c in truth.input_chunks) == s.log.user_audio.n_samples
    assert len(rows(s, "browser", "clock-sync")) >= 5
    assert rows(s, "local", "closed")[0][3]["detail"]["clean"] is True
    # the live latency: the page heard the answer after the user's speech ended (browser clock)
    assert s.ui_state["last_latency_ms"] > 0
    turns = s.turns()
    assert list(turns["outcome"].astype(str)) == ["agent-initiated", "responded"]
    summary = s.summary()
    assert summary.loc["responded", "value"] == 1


def test_barge_in_interrupts_playback_and_no_audio_of_that_turn_follows(sim, no_vatel_env):
    async def main():
        s = session_for(sim, "long")
        fe = ListFrontend()
        s.attach(fe)
        s.handle_frontend(READY)
        await s.start()
        await until(lambda: sum(e["kind"] == "audio" for e, _ in fe.sent) >= 20, "0.4 s of greeting audio")
        await speak(s, speech("stop"), silence_s=0.4)
        await until(lambda: any(e["kind"] == "interrupt" for e, _ in fe.sent), "the interrupt envelope")
        await asyncio.sleep(0.2)
        await s.end()
        return s, fe

    s, fe = asyncio.run(main(), debug=True)
    truth = sim.ground_truth(s.session_id)
    greeting = truth.turns[0]
    assert greeting.interrupted and greeting.samples_sent < greeting.samples_meant
    kinds = fe.kinds()
    i = kinds.index("interrupt")
    assert fe.sent[i][0] == {"kind": "interrupt", "turn_id": greeting.turn_id}
    assert not [e for e, _ in fe.sent[i:] if e["kind"] == "audio" and e["turn_id"] == greeting.turn_id]
    late = int(s.log.agent_audio.dropped().sum())
    assert len([r for r in rows(s, "local", "dropped") if r[3]["text"] == "interrupted-turn"]) == late
    sent = [b[0] for e, b in fe.sent if e["kind"] == "audio" and e["turn_id"] == greeting.turn_id]
    assert sum(len(b) for b in sent) // 2 == greeting.samples_sent - sum(
        len(s.log.agent_audio.chunk_bytes(k)) // 2 for k in np.flatnonzero(s.log.agent_audio.dropped())
    )
    assert rows(s, "server", "interruption")


def test_tools_sync_async_raising_unknown(sim, no_vatel_env):
    async def main():
        s = session_for(sim, "tools", tools={"double": lambda x: x * 2})

        @s.tool("greet")
        async def greet(name: str) -> dict:
            await asyncio.sleep(0.01)
            return {"hello": name}

        @s.tool
        def broken() -> str:
            raise RuntimeError("the tool broke")

        fe = ListFrontend()
        s.attach(fe)
        s.handle_frontend(READY)
        await s.start()
        await speak(s, speech("what time is it"), silence_s=0.4)
        await until(
            lambda: any(t["text"].startswith("Done:") for t in s.transcript), "the answer after tools"
        )
        await s.end()
        return s

    s = asyncio.run(main(), debug=True)
    truth = sim.ground_truth(s.session_id)
    tools = {t.name: t for turn in truth.turns for t in turn.tools}
    assert tools["double"].output == "42"
    assert json.loads(tools["greet"].output) == {"hello": "Ada"}
    assert tools["broken"].output == "error: RuntimeError: the tool broke"
    assert tools["nowhere"].output == "unknown tool 'nowhere'; registered tools: broken, double, greet"
    finished = {r[3]["tool_name"]: r[3] for r in rows(s, "local", "tool-finished")}
    assert {n: f["detail"]["error"] for n, f in finished.items()} == {
        "double": False,
        "greet": False,
        "broken": True,
        "nowhere": True,
    }
    assert finished["greet"]["detail"]["ignored_arguments"] == ["unused"]
    assert finished["nowhere"]["detail"]["unknown_tool"] is True
    assert {r[3]["tool_call_id"] for r in rows(s, "local", "tool-started")} == {
        t.tool_call_id for t in tools.values()
    }
    outputs = {r[3]["tool_call_id"]: r[3]["text"] for r in rows(s, "client", "tool_call_output")}
    assert outputs == {t.tool_call_id: t.output for t in tools.values()}


def test_default_backend_is_the_shared_embedded_simulator(no_vatel_env, capsys):
    async def main():
        s = VatelSession()
        assert s.backend == "simulator" and s.status == "idle"
        fe = ListFrontend()
        s.attach(fe)
        s.handle_frontend(READY)
        await s.start()
        await until(lambda: any(e["kind"] == "audio" for e, _ in fe.sent), "the demo agent's greeting")
        await s.end()
        s2 = VatelSession()
        await s2.start()
        await s2.end()
        return s, s2

    s, s2 = asyncio.run(main())
    out = capsys.readouterr().out
    assert out.count("using the embedded simulator") == 2 and "127.0.0.1" in out
    assert s._backend.base_url == s2._backend.base_url  # one simulator per process
    connecting = rows(s, "local", "connecting")[0][3]
    assert connecting["detail"] == {"backend": "simulator"} and "embedded simulator" in connecting["text"]
    agent = rows(s, "local", "agent")[0][3]["detail"]
    assert agent["agent_id"] == "00000000-0000-4000-8000-00000000d3e0"
    assert s.ui_state["agent_name"] == "Simulator demo agent"
