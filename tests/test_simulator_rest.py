"""The simulator's REST surface and the voice socket's refusals, black-box (httpx + websockets):
documented statuses with a JSON ``error`` text, bodies valid against Vatel's openapi.json."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import websockets
from _spec import validate

from vatel_nb.simulator import DEMO_AGENT_ID, Simulator

KEY = "test-key-123"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=KEY, token_ttl=0.5, asr="placeholder", voice="synthetic") as s:
        yield s


@pytest.fixture
def http(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        yield c


def _err(r: httpx.Response, status: int, *words: str) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json")
    validate("ErrorResponse", r.json())
    text = r.json()["error"]
    assert all(w in text for w in words), text
    return text


def test_threaded_simulator_basics(sim: Simulator, http: httpx.Client) -> None:
    assert (
        sim.api_key == KEY
        and sim.base_url.startswith("http://127.0.0.1:")
        and not sim.base_url.endswith(":0")
    )
    org = http.get("/v1/organization")
    assert org.status_code == 200
    validate("Organization", org.json())
    agents = http.get("/v1/agents").json()
    for a in agents:
        validate("Agent", a)
    demo = next(a for a in agents if a["id"] == DEMO_AGENT_ID)
    assert demo["first_message"] and demo["vad_settings"]["start_secs"] == 0.2
    one = http.get(f"/v1/agents/{DEMO_AGENT_ID}")
    assert one.json() == demo
    new = sim.add_agent("Mine", first_message="Yo.", vad_settings={"stop_secs": 0.25})
    mine = http.get(f"/v1/agents/{new}").json()
    validate("Agent", mine)
    assert mine["name"] == "Mine" and mine["vad_settings"] == {"start_secs": 0.2, "stop_secs": 0.25}


def test_api_key_is_required(sim: Simulator) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": KEY}):
        for method, path in (("GET", "/v1/agents"), ("POST", "/v1/session-token"), ("GET", "/v1/calls")):
            r = httpx.request(method, sim.base_url + path, headers=headers, json={"agent_id": DEMO_AGENT_ID})
            _err(r, 401, "API key")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"agent_id": DEMO_AGENT_ID, "colour": "red"}, ["colour"]),
        ({"agent_id": "not-a-uuid"}, ["agent_id", "UUID"]),
        ({"agent_id": DEMO_AGENT_ID, "version_id": "v1"}, ["version_id"]),
        ({"agent_id": DEMO_AGENT_ID, "chat_id": 12}, ["chat_id"]),
        ({"agent_id": DEMO_AGENT_ID, "transport": "carrier-pigeon"}, ["transport"]),
        ({}, ["agent_id"]),
        ([DEMO_AGENT_ID], ["object"]),
    ],
)
def test_bad_token_requests_are_400(http: httpx.Client, body: object, words: list[str]) -> None:
    _err(http.post("/v1/session-token", json=body), 400, *words)


def test_token_request_statuses(http: httpx.Client) -> None:
    _err(
        http.post("/v1/session-token", content=b"{not json", headers={"content-type": "application/json"}),
        400,
    )
    _err(http.post("/v1/session-token", json={"agent_id": str(uuid.uuid4())}), 404, "not found")
    _err(
        http.post("/v1/session-token", json={"agent_id": DEMO_AGENT_ID, "transport": "webrtc"}), 503, "WebRTC"
    )
    ok = http.post(
        "/v1/session-token", json={"agent_id": DEMO_AGENT_ID, "transport": "websocket", "chat": True}
    )
    assert ok.status_code == 200
    validate("SessionTokenResponse", ok.json())


def _ws(sim: Simulator, query: str) -> int | tuple[int, dict]:
    async def go() -> int | tuple[int, dict]:
        try:
            async with websockets.connect(sim.base_url.replace("http", "ws") + "/v1/connection" + query):
                return 101
        except websockets.InvalidStatus as e:
            import json

            return e.response.status_code, json.loads(e.response.body)

    return asyncio.run(go())


def test_connection_refusals_before_upgrade(sim: Simulator, http: httpx.Client) -> None:
    status, body = _ws(sim, "")  # type: ignore[misc]
    assert status == 400 and "token" in body["error"]
    status, body = _ws(sim, "?token=garbage")  # type: ignore[misc]
    assert status == 400 and "malformed" in body["error"]
    token = http.post("/v1/session-token", json={"agent_id": DEMO_AGENT_ID}).json()["token"]
    head, payload, sig = token.split(".")
    status, body = _ws(sim, f"?token={head}.{payload}.{sig[:-2]}xx")  # type: ignore[misc]
    assert status == 401 and "signature" in body["error"]
    time.sleep(0.6)  # token_ttl is 0.5 s here
    status, body = _ws(sim, f"?token={token}")  # type: ignore[misc]
    assert status == 401 and "expired" in body["error"]
    gone = sim.add_agent("Soon gone")
    token = http.post("/v1/session-token", json={"agent_id": gone}).json()["token"]
    sim.remove_agent(gone)
    status, body = _ws(sim, f"?token={token}")  # type: ignore[misc]
    assert status == 404 and gone in body["error"]
    for b in (body,):
        validate("ErrorResponse", b)
    _err(http.get("/v1/connection"), 400, "WebSocket")


def test_calls_listing_filters_and_errors(sim: Simulator, http: httpx.Client) -> None:
    r = http.get("/v1/calls", params={"page_size": 100})
    assert r.status_code == 200
    validate("PaginatedCallsResponse", r.json())
    _err(http.get("/v1/calls", params={"page_size": 101}), 400, "page_size")
    _err(http.get("/v1/calls", params={"page_size": 0}), 400, "page_size")
    _err(http.get("/v1/calls", params={"page": 0}), 400, "page")
    _err(http.get("/v1/calls", params={"page": "x"}), 400)
    _err(http.get("/v1/calls", params={"status": "done"}), 400, "status")
    _err(http.get("/v1/calls", params={"source": "fax"}), 400, "source")
    _err(http.get("/v1/calls", params={"outcome": "exploded"}), 400, "outcome")
    _err(http.get("/v1/calls", params={"agent_ids": f"{DEMO_AGENT_ID},nope"}), 400, "nope")
    _err(http.get("/v1/calls", params={"organization_id": "x"}), 400, "organization_id")
    _err(http.get("/v1/calls", params={"date_from": "yesterday"}), 400, "date_from")
    _err(http.get("/v1/calls", params={"outbound": "maybe"}), 400, "outbound")
    _err(http.get("/v1/calls/not-a-uuid"), 400, "UUID")
    _err(http.get(f"/v1/calls/{uuid.uuid4()}"), 404, "not found")
    _err(http.get(f"/v1/calls/{uuid.uuid4()}/recording"), 404, "not found")
    _err(http.get("/v1/agents/xyz"), 400, "UUID")
    _err(http.get(f"/v1/agents/{uuid.uuid4()}"), 404, "not found")


def test_unimplemented_unknown_and_wrong_method(http: httpx.Client) -> None:
    _err(http.get("/v1/voices"), 501, "not implemented")
    _err(http.post("/v1/agents", json={}), 501, "not implemented")
    _err(http.delete(f"/v1/agents/{DEMO_AGENT_ID}"), 501, "not implemented")
    _err(http.get("/v1/sip-trunks"), 501)
    _err(http.get("/v1/nothing-here"), 404, "/v1/nothing-here")
    _err(http.delete("/v1/calls"), 405, "DELETE")
    _err(http.get(f"/_sim/sessions/{uuid.uuid4()}/ground-truth"), 404)
    assert httpx.get(http.base_url.join("/_sim/sessions/x/ground-truth")).status_code == 401


async def _calls_after_sessions(sim: Simulator) -> None:
    from test_simulator_helpers import Caller

    agent = sim.add_agent("Lister", first_message="")
    ids = []
    for _ in range(3):
        c = Caller(sim.base_url, KEY, sim.profile)
        await c.connect(await c.token(agent))
        _, started = await c.wait_for("session_started")
        ids.append(started["data"]["id"])
        await c.close()
    await asyncio.sleep(0.1)
    async with c.rest() as rest:
        page = (await rest.get("/v1/calls", params={"agent_ids": agent, "page_size": 2})).json()
        validate("PaginatedCallsResponse", page)
        assert [x["id"] for x in page["calls"]] == ids[::-1][:2]  # newest first
        assert page["pagination"] == {"page": 1, "page_size": 2, "total": 3, "total_pages": 2,
                                      "has_next": True, "has_prev": False}  # fmt: skip
        page2 = (await rest.get("/v1/calls", params={"agent_ids": agent, "page_size": 2, "page": 2})).json()
        assert [x["id"] for x in page2["calls"]] == [ids[0]] and page2["pagination"]["has_prev"]
        one = (await rest.get(f"/v1/calls/{ids[0]}")).json()
        validate("Call", one)
        assert one["status"] == "ended" and one["termination_reason"] == "ended_by_user"
        for params, n in (
            ({"status": "ended"}, 3), ({"status": "in_progress"}, 0), ({"source": "api"}, 3),
            ({"source": "sip"}, 0), ({"outcome": "ended_by_user"}, 3), ({"outcome": "ended_by_agent"}, 0),
            ({"date_from": one["created_at"]}, 3), ({"date_to": "2000-01-01T00:00:00Z"}, 0),
            ({"outbound": "true"}, 0), ({"search": "+1555"}, 0),
        ):  # fmt: skip
            got = (await rest.get("/v1/calls", params={"agent_ids": agent, **params})).json()
            assert got["pagination"]["total"] == n, params


def test_calls_are_listed_newest_first_with_filters(sim: Simulator) -> None:
    asyncio.run(_calls_after_sessions(sim))
