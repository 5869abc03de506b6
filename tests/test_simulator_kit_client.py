"""A whole call against the simulator with the kit's own clients (vatel_nb.client): REST,
voice socket, typed messages, error tree — the path the session layer uses."""

from __future__ import annotations

import asyncio
import time
import uuid

import numpy as np
import pytest
from _spec import validate_server_message
from test_simulator_helpers import silence, tone

from vatel_nb.client import AsyncVatel, AuthenticationError, NotFoundError
from vatel_nb.protocol import InputAudioTranscript, ResponseAudio, SessionEnded, ToolCall, to_wire
from vatel_nb.simulator import Latency, Simulator, Tool


async def _stream(conn, pcm: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    for k, off in enumerate(range(0, pcm.size, 480)):
        await asyncio.sleep(max(0.0, t0 + (k + 1) * 0.02 - time.perf_counter()))
        await conn.send_input_audio(pcm[off : off + 480].astype("<i2").tobytes())


async def _call() -> None:
    with Simulator(asr="scripted", voice="synthetic", token_ttl=0.3) as sim:
        agent = sim.add_agent(
            "Kit",
            first_message="Hello.",
            vad_settings={"start_secs": 0.1, "stop_secs": 0.2},
            tools=[Tool("get_time")],
            script=["what time is it in Europe/Paris", "bye now"],
            latency=Latency(audio_burst=float("inf")),
        )
        async with AsyncVatel(sim.api_key, base_url=sim.base_url) as client:
            assert agent in [a.id for a in await client.agents.list()]
            with pytest.raises(NotFoundError):
                await client.session_token(str(uuid.uuid4()))
            stale = (await client.session_token(agent)).token
            await asyncio.sleep(0.4)
            with pytest.raises(AuthenticationError, match="expired"):
                await client.connect(token=stale)

            conn = await client.connect(agent_id=agent)
            seen: list = []
            turn_ends: asyncio.Queue[float] = asyncio.Queue()  # when each agent turn has played out

            async def user() -> None:  # speaks once each agent turn has played out
                for _ in range(2):
                    played_out = await turn_ends.get()
                    await asyncio.sleep(max(0.0, played_out + 0.1 - time.perf_counter()))
                    await _stream(conn, np.concatenate([tone(0.4), silence(0.3)]))

            speaker = asyncio.get_running_loop().create_task(user())
            play_end = 0.0
            async for t, msg in conn.timed():
                validate_server_message(to_wire(msg))
                seen.append(msg)
                if isinstance(msg, ResponseAudio):
                    play_end = max(play_end, t) + len(msg.pcm()) / 2 / 24000
                    if msg.is_final:
                        turn_ends.put_nowait(play_end)
                elif isinstance(msg, ToolCall):
                    assert msg.kwargs == {"timezone": "Europe/Paris"}
                    await conn.send_tool_call_output(msg.tool_call_id, "13:00")
                elif isinstance(msg, SessionEnded):
                    break
            await speaker
            await conn.close()
            finals = [m.transcript for m in seen if isinstance(m, InputAudioTranscript) and m.is_final]
            assert finals == ["what time is it in Europe/Paris", "bye now"]
            texts = [m.text for m in seen if m.type == "response_text" and m.is_final]
            assert texts == ["Hello.", "It is 13:00.", "Goodbye!"]

            call = await client.calls.get(conn.session_id)
            assert call.id == conn.session_id and call.status == "ended"
            wav = await client.calls.recording(conn.session_id)
            assert wav[:4] == b"RIFF" and len(wav) > 44 + 4 * 24000


def test_whole_call_with_the_kits_clients() -> None:
    asyncio.run(_call())
