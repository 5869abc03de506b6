"""The simulator behaves like the real service (``vendor``) or like openapi.json (``spec``), and is hard
to break. These encode, without the vendor SDK, what running vatel-py-sdk v0.4.1's quick-start
against the simulator showed (docs/compatibility.md):

- its token request carries every optional field as JSON ``null``;
- it needs ``data: null`` to be accepted on the field-less types (v0.4.1 reads them);
- list agents, token with and without options, connect, messages, tool output, call record,
  recording all work.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from _spec import EMPTY_TYPES, validate_response, validate_server_message
from test_simulator_helpers import Caller, silence

from vatel_nb.simulator import Simulator, Voice, demo_reply

KEY = "compat-key"
SDK_TOKEN_BODY = {  # what vatel-py-sdk sends for generate_token(agent_id=…): every field, as null
    "version_id": None,
    "chat_id": None,
    "transport": None,
    "first_message": None,
    "prompt": None,
    "chat": None,
}


@pytest.fixture(scope="module", params=["vendor", "spec"])
def sim(request):
    with Simulator(
        api_key=KEY, asr="scripted", voice="synthetic", profile=request.param, max_calls=3, max_recordings=2
    ) as s:
        yield s


def rest(sim: Simulator) -> httpx.Client:
    return httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)


def test_token_request_with_explicit_nulls(sim) -> None:
    agent = sim.add_agent("Nulls", first_message="")
    with rest(sim) as c:
        r = c.post("/v1/session-token", json={"agent_id": agent, **SDK_TOKEN_BODY})
        if sim.profile == "vendor":
            assert r.status_code == 200 and r.json()["token"]
            with_opts = {
                **SDK_TOKEN_BODY,
                "first_message": "Hi",
                "prompt": "Be brief.",
                "transport": "websocket",
            }
            assert c.post("/v1/session-token", json={"agent_id": agent, **with_opts}).status_code == 200
            bad = c.post("/v1/session-token", json={"agent_id": agent, "chat": "yes"})
            assert bad.status_code == 400 and "chat must be a bool" in bad.json()["error"]
        else:  # openapi.json: optional fields are strings / booleans, never null
            assert r.status_code == 400 and "version_id must be a string" in r.json()["error"]
        if r.status_code == 200:
            validate_response("POST", "/v1/session-token", 200, r.json())


async def _empty_types(sim: Simulator) -> list[dict]:
    agent = sim.add_agent(
        "Empty types", first_message="Hello there, this is long enough to barge in on.", reply=demo_reply,
        vad_settings={"start_secs": 0.1, "stop_secs": 0.2}, script=["stop"],
    )  # fmt: skip
    c = Caller(sim.base_url, KEY, sim.profile)
    await c.connect(await c.token(agent))
    await c.wait_for("response_audio")
    speech = Voice("synthetic").synthesize("stop")
    await c.stream(silence(0.1))
    await c.stream(speech)  # barge in: interruption
    await c.stream(silence(0.5))  # speech_stopped
    await c.wait_for("interruption")
    await c.wait_for("speech_stopped")
    await c.close()
    return [m for _, m in c.messages]


def test_field_less_messages_follow_the_profile(sim) -> None:
    messages = asyncio.run(_empty_types(sim))
    empty = [m for m in messages if m["type"] in EMPTY_TYPES]
    assert {m["type"] for m in empty} >= {"interruption", "speech_stopped"}
    expected = None if sim.profile == "vendor" else {}
    assert all(m["data"] == expected and set(m) == {"type", "data"} for m in empty), empty
    for m in messages:
        validate_server_message(m, sim.profile)  # nothing else departs from the spec


async def _one_call(sim: Simulator, agent: str) -> str:
    c = Caller(sim.base_url, KEY, sim.profile)
    await c.connect(await c.token(agent))
    _, started = await c.wait_for("session_started")
    await c.wait_for("response_audio", is_final=True)
    await c.close()
    return started["data"]["id"]


def test_finished_calls_and_recordings_are_bounded(sim) -> None:
    agent = sim.add_agent("Bounded", first_message="Hi.")
    ids = [asyncio.run(_one_call(sim, agent)) for _ in range(5)]
    with rest(sim) as c:
        kept = {call["id"] for call in c.get("/v1/calls", params={"page_size": 100}).json()["calls"]}
        assert set(ids[-3:]) <= kept and not set(ids[:2]) & kept  # max_calls=3
        assert c.get(f"/v1/calls/{ids[0]}").status_code == 404
        assert c.get(f"/v1/calls/{ids[-1]}/recording").content[:4] == b"RIFF"  # max_recordings=2
        gone = c.get(f"/v1/calls/{ids[-3]}/recording")
        assert gone.status_code == 404 and "no longer kept" in gone.json()["error"]
        assert c.get(f"/v1/calls/{ids[-3]}").status_code == 200  # the record outlives its audio
    assert len(sim.session_ids()) <= 3 + 1


async def _two_connections(sim: Simulator, agent: str) -> tuple[int | None, str]:
    c1 = Caller(sim.base_url, KEY, sim.profile)
    token = await c1.token(agent)
    await c1.connect(token)
    await c1.wait_for("session_started")
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    url = sim.base_url.replace("http://", "ws://") + "/v1/connection?token=" + token
    try:
        async with connect(url):
            status, body = None, ""
    except InvalidStatus as e:
        status, body = e.response.status_code, e.response.body.decode()
    await c1.close()
    return status, body


def test_one_live_connection_per_token(sim) -> None:
    agent = sim.add_agent("Once", first_message="")
    status, body = asyncio.run(_two_connections(sim, agent))
    assert status == 409 and "already has a live call" in json.loads(body)["error"]


@pytest.mark.parametrize("depth", [10_000, 40])
def test_deep_json_body_is_a_400_not_a_500(sim, depth: int) -> None:
    body = "[" * depth + "]" * depth
    with rest(sim) as c:
        r = c.post("/v1/session-token", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "nested too deeply" in r.json()["error"]


def test_big_body_is_a_413_and_big_inputs_are_never_echoed(sim) -> None:
    huge = "a" * 10_000_000
    with rest(sim) as c:
        r = c.post("/v1/session-token", json={"agent_id": huge})
        assert r.status_code == 413 and len(r.content) < 500
        small_enough = "b" * 60_000  # under the body limit: a 400 that quotes at most 80 characters
        r = c.post("/v1/session-token", json={"agent_id": small_enough})
        assert r.status_code == 400 and len(r.content) < 500 and "60000 characters" in r.json()["error"]
        r = c.get("/v1/agents/" + "c" * 60_000)
        assert r.status_code in (400, 404) and len(r.content) < 500
        r = c.post("/v1/session-token", json={"agent_id": "x", "z" * 50_000: 1})
        assert r.status_code == 400 and len(r.content) < 1000
