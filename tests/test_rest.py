"""REST client against the real fixture server: each call, each error status, sync == async."""

from __future__ import annotations

import asyncio
import inspect
import socket
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _fixture_server import AGENT2_ID, AGENT_ID, AGENTS, API_KEY, CALLS, ORG, RECORDING, FixtureServer
from _spec import validate, validate_request_body, validate_response

from vatel_nb._version import __version__
from vatel_nb.client import (
    DEFAULT_BASE_URL,
    Agent,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncVatel,
    AuthenticationError,
    BadRequestError,
    Call,
    CallPage,
    ConfigurationError,
    ConflictError,
    ConnectionClosedError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    Organization,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    SessionToken,
    UnprocessableEntityError,
    Vatel,
    VatelError,
    error_from_response,
    resolve_agent_id,
    resolve_api_key,
    resolve_base_url,
    ws_url,
)
from vatel_nb.client._config import redact_token


class Api:
    """Runs ``fn(client)`` with a sync :class:`Vatel` or an :class:`AsyncVatel`, same result either way."""

    def __init__(self, mode: str, base_url: str) -> None:
        self.mode, self.base_url = mode, base_url

    def __call__(self, fn: Callable[[Any], Any], **client_kw: Any) -> Any:
        client_kw = {"base_url": self.base_url, **client_kw}
        if self.mode == "sync":
            with Vatel(API_KEY, **client_kw) as client:
                return fn(client)

        async def main() -> Any:
            async with AsyncVatel(API_KEY, **client_kw) as client:
                result = fn(client)
                if inspect.isasyncgen(result):
                    return [item async for item in result]
                return await result

        return asyncio.run(main())

    def collect(self, fn: Callable[[Any], Any], **client_kw: Any) -> list[Any]:
        return self(lambda c: list(fn(c)) if self.mode == "sync" else fn(c), **client_kw)


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, fixture_server: FixtureServer) -> Api:
    return Api(request.param, fixture_server.base_url)


# --------------------------------------------------------------------------- canned data is spec-shaped


def test_fixture_data_matches_the_spec() -> None:
    validate_response("GET", "/v1/organization", 200, ORG)
    validate_response("GET", "/v1/agents", 200, AGENTS)
    for call in CALLS:
        validate("Call", call)


# --------------------------------------------------------------------------- each endpoint


def test_organization_sends_auth_and_user_agent(api: Api, fixture_server: FixtureServer) -> None:
    org = api(lambda c: c.organization())
    assert org == Organization.from_json(ORG)
    assert (org.id, org.name, org.raw) == (ORG["id"], "Acme", ORG)
    req = fixture_server.requests[-1]
    assert (req.method, req.path) == ("GET", "/v1/organization")
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert req.headers["user-agent"] == f"vatel-nb/{__version__}"


def test_agents_list_and_get(api: Api) -> None:
    agents = api(lambda c: c.agents.list())
    assert [a.id for a in agents] == [AGENT_ID, AGENT2_ID]
    first = agents[0]
    assert isinstance(first, Agent)
    assert first.vad_settings is not None
    assert (first.vad_settings.start_secs, first.vad_settings.stop_secs) == (0.2, 0.8)
    assert first.first_message == AGENTS[0]["first_message"]
    assert first.raw["some_future_field"] == {"x": 1}  # unknown fields are kept in raw
    assert agents[1].vad_settings is None and agents[1].first_message is None
    assert api(lambda c: c.agents.get(AGENT_ID)) == first


def test_agent_not_found_says_what_to_do(api: Api) -> None:
    with pytest.raises(NotFoundError) as info:
        api(lambda c: c.agents.get("00000000-0000-0000-0000-000000000000"))
    err = info.value
    assert (err.status_code, err.error, err.method) == (404, "agent not found", "GET")
    assert err.url.endswith("/v1/agents/00000000-0000-0000-0000-000000000000")
    assert "client.agents.list()" in str(err) and "agent not found" in str(err)


def test_session_token_sends_only_given_fields(api: Api, fixture_server: FixtureServer) -> None:
    tok = api(lambda c: c.session_token(AGENT_ID))
    assert isinstance(tok, SessionToken) and tok.token == fixture_server.token
    assert fixture_server.token not in repr(tok)
    assert fixture_server.requests[-1].json == {"agent_id": AGENT_ID}

    full = {
        "version_id": "11111111-2222-4333-8444-555555555555",
        "chat_id": "66666666-7777-4888-9999-000000000000",
        "transport": "websocket",
        "first_message": "Hi!",
        "prompt": "Be brief.",
        "chat": True,
    }
    api(lambda c: c.session_token(AGENT_ID, **full))
    sent = fixture_server.requests[-1].json
    assert sent == {"agent_id": AGENT_ID, **full}
    validate_request_body("POST", "/v1/session-token", sent)


def test_session_token_unknown_agent_is_not_found(api: Api) -> None:
    with pytest.raises(NotFoundError, match=r"client\.agents\.list\(\)"):
        api(lambda c: c.session_token(AGENT2_ID[:-1] + "9"))


def test_calls_list_filters_are_encoded(api: Api, fixture_server: FixtureServer) -> None:
    start = datetime(2026, 2, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    page = api(
        lambda c: c.calls.list(
            2,
            2,
            agent_ids=[AGENT_ID, AGENT2_ID],
            status="ended",
            source="api",
            date_from=start,
            date_to=date(2026, 3, 1),
            outbound=False,
            search="hello",
            tag="demo",
            outcome="ended_by_user",
            organization_id=ORG["id"],
        )
    )
    assert fixture_server.requests[-1].params == {
        "page": "2",
        "page_size": "2",
        "agent_ids": f"{AGENT_ID},{AGENT2_ID}",
        "status": "ended",
        "source": "api",
        "date_from": "2026-02-01T10:30:00Z",
        "date_to": "2026-03-01T00:00:00Z",
        "outbound": "false",
        "search": "hello",
        "tag": "demo",
        "outcome": "ended_by_user",
        "organization_id": ORG["id"],
    }
    assert isinstance(page, CallPage)
    assert [c.id for c in page.calls] == [c["id"] for c in CALLS[2:4]]
    p = page.pagination
    assert (p.page, p.page_size, p.total, p.total_pages, p.has_next, p.has_prev) == (2, 2, 5, 3, True, True)


def test_calls_list_sends_only_given_filters(api: Api, fixture_server: FixtureServer) -> None:
    api(lambda c: c.calls.list(outbound=True, date_from="2026-01-01T00:00:00Z"))
    params = fixture_server.requests[-1].params
    assert params == {"page": "1", "page_size": "20", "outbound": "true", "date_from": "2026-01-01T00:00:00Z"}


def test_calls_iter_walks_every_page(api: Api, fixture_server: FixtureServer) -> None:
    calls = api.collect(lambda c: c.calls.iter(page_size=2))
    assert [c.id for c in calls] == [c["id"] for c in CALLS]
    assert [r.params["page"] for r in fixture_server.requests] == ["1", "2", "3"]


def test_call_get_has_typed_transcript(api: Api) -> None:
    call = api(lambda c: c.calls.get(CALLS[1]["id"]))
    assert isinstance(call, Call) and call == Call.from_json(CALLS[1])
    assert (call.duration_seconds, call.cost, call.tags, call.outbound) == (31, 0.25, ("demo",), False)
    first, tool = call.transcript
    assert (first.role, first.message, first.turn_id) == ("assistant", "Hello!", "t1")
    assert tool.tool_call is not None and tool.tool_call.tool_name == "lookup"
    assert (tool.tool_call.arguments, tool.duration_ms) == ('{"q": "x"}', 120)


def test_recording_bytes_and_save(api: Api, tmp_path: Path) -> None:
    assert api(lambda c: c.calls.recording(CALLS[0]["id"])) == RECORDING
    out = api(lambda c: c.calls.save_recording(CALLS[0]["id"], tmp_path / "call.wav"))
    assert out.read_bytes() == RECORDING
    with pytest.raises(NotFoundError, match=r"client\.calls\.list\(\)"):
        api(lambda c: c.calls.recording("00000000-0000-0000-0000-000000000000"))


def test_sync_and_async_give_identical_results(fixture_server: FixtureServer) -> None:
    def everything(c: Any) -> list[Any]:
        return [
            c.organization(),
            c.agents.list(),
            c.agents.get(AGENT_ID),
            c.session_token(AGENT_ID, prompt="p"),
            c.calls.list(page_size=3),
            c.calls.get(CALLS[0]["id"]),
            c.calls.recording(CALLS[0]["id"]),
        ]

    sync = Api("sync", fixture_server.base_url)(everything)

    async def run_async(c: Any) -> list[Any]:
        return [await x for x in everything(c)]

    asynced = Api("async", fixture_server.base_url)(run_async)
    assert sync == asynced
    assert [type(x) for x in sync] == [Organization, list, Agent, SessionToken, CallPage, Call, bytes]


# --------------------------------------------------------------------------- errors


STATUS_CLASSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (405, MethodNotAllowedError),
    (409, ConflictError),
    (422, UnprocessableEntityError),
    (500, InternalServerError),
    (502, InternalServerError),
    (503, ServiceUnavailableError),
    (429, RateLimitError),
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
@pytest.mark.parametrize("body", ["json", "text"])
def test_each_status_maps_to_its_class(
    api: Api, fixture_server: FixtureServer, status: int, cls: type[APIStatusError], body: str
) -> None:
    if body == "json":
        fixture_server.override("/v1/organization", status, json={"error": f"server says {status}"})
    else:
        fixture_server.override("/v1/organization", status, text=f"<html>plain {status}</html>")
    with pytest.raises(cls) as info:
        api(lambda c: c.organization())
    err = info.value
    assert type(err) is cls and isinstance(err, APIStatusError)
    assert err.status_code == status and err.method == "GET"
    assert err.url == f"{fixture_server.base_url}/v1/organization"
    expected = f"server says {status}" if body == "json" else f"<html>plain {status}</html>"
    assert err.error == expected and expected in str(err) and str(status) in str(err)


def test_401_message_names_the_api_key_setting(api: Api, fixture_server: FixtureServer) -> None:
    fixture_server.api_key = "another-key"
    try:
        with pytest.raises(AuthenticationError) as info:
            api(lambda c: c.agents.list())
    finally:
        fixture_server.api_key = API_KEY
    assert info.value.error == "invalid API key"
    assert "VATEL_API_KEY" in str(info.value) and "api_key" in str(info.value)


def test_5xx_family() -> None:
    assert issubclass(ServiceUnavailableError, InternalServerError)


def test_timeout_is_api_timeout_error(api: Api, fixture_server: FixtureServer) -> None:
    fixture_server.override("/v1/agents", 200, json=[], delay=1.0)
    with pytest.raises(APITimeoutError) as info:
        api(lambda c: c.agents.list(), timeout=0.2)
    assert isinstance(info.value, APIConnectionError)
    assert "timeout" in str(info.value) and "VATEL_BASE_URL" in str(info.value)


def test_unreachable_server_is_connection_error(api: Api) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api.base_url = f"http://127.0.0.1:{port}"
    with pytest.raises(APIConnectionError) as info:
        api(lambda c: c.organization())
    assert not isinstance(info.value, APITimeoutError)
    assert "VATEL_BASE_URL" in str(info.value) and "server running" in str(info.value)


def test_non_json_success_is_a_clear_error(api: Api, fixture_server: FixtureServer) -> None:
    fixture_server.override("/v1/agents", 200, text="<html>login page</html>")
    with pytest.raises(VatelError, match=r"not JSON.*VATEL_BASE_URL"):
        api(lambda c: c.agents.list())
    fixture_server.override("/v1/agents", 200, json={"not": "a list"})
    with pytest.raises(VatelError, match="expected a JSON list"):
        api(lambda c: c.agents.list())


def test_tolerant_models_ignore_wrong_types(api: Api, fixture_server: FixtureServer) -> None:
    odd = {"id": AGENT_ID, "name": 5, "vad_settings": {"start_secs": "fast", "stop_secs": 1}, "keyterms": "x"}
    fixture_server.override(f"/v1/agents/{AGENT_ID}", 200, json=odd)
    agent = api(lambda c: c.agents.get(AGENT_ID))
    assert (agent.id, agent.name, agent.keyterms, agent.raw) == (AGENT_ID, None, (), odd)
    assert agent.vad_settings is not None
    assert (agent.vad_settings.start_secs, agent.vad_settings.stop_secs) == (None, 1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.calls.list(page_size=0), "page_size must be an integer between 1 and 100"),
        (lambda c: c.calls.list(page=0), "page must be an integer"),
        (lambda c: c.agents.get(""), "agent_id must be a non-empty string"),
        (lambda c: c.session_token(AGENT_ID, transport="carrier-pigeon"), "transport must be one of"),
        (lambda c: c.calls.list(date_from=3), "date_from must be an RFC3339 string"),
    ],
)
def test_bad_arguments_fail_before_sending(
    api: Api, fixture_server: FixtureServer, call: Callable[[Any], Any], message: str
) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        api(call)
    assert fixture_server.requests == []


# --------------------------------------------------------------------------- configuration


def test_api_key_from_argument_then_env(no_vatel_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="VATEL_API_KEY") as info:
        Vatel()
    assert "api_key" in str(info.value)
    monkeypatch.setenv("VATEL_API_KEY", "from-env")
    assert resolve_api_key() == "from-env"
    assert resolve_api_key("explicit") == "explicit"
    with pytest.raises(ConfigurationError, match="non-empty"):
        resolve_api_key("  ")


def test_base_url_from_argument_then_env_then_default(
    no_vatel_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_base_url() == DEFAULT_BASE_URL == "https://api.vatel.ai"
    monkeypatch.setenv("VATEL_BASE_URL", "http://127.0.0.1:9999/")
    assert resolve_base_url() == "http://127.0.0.1:9999"
    assert resolve_base_url("https://example.com/prefix/") == "https://example.com/prefix"
    with Vatel("k") as client:
        assert client.base_url == "http://127.0.0.1:9999"


@pytest.mark.parametrize(
    "bad", ["api.vatel.ai", "ftp://x.org", "ws://127.0.0.1:1", "http://", "http://h:99999", "http://h/?q=1"]
)
def test_bad_base_url_is_a_configuration_error(
    bad: str, no_vatel_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        resolve_base_url(bad)
    monkeypatch.setenv("VATEL_BASE_URL", bad)
    with pytest.raises(ConfigurationError, match="VATEL_BASE_URL"):
        Vatel("k")


def test_ws_url_maps_scheme_and_encodes_token() -> None:
    assert ws_url("https://api.vatel.ai/", "abc") == "wss://api.vatel.ai/v1/connection?token=abc"
    assert ws_url("http://127.0.0.1:8000/p", "a b+c/d&e=f?") == (
        "ws://127.0.0.1:8000/p/v1/connection?token=a%20b%2Bc%2Fd%26e%3Df%3F"
    )
    assert redact_token("ws://h/v1/connection?token=secret") == "ws://h/v1/connection?token=***"
    with pytest.raises(ConfigurationError, match="session token"):
        ws_url("http://h", "")


def test_agent_id_from_argument_then_env(no_vatel_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="VATEL_AGENT_ID"):
        resolve_agent_id()
    monkeypatch.setenv("VATEL_AGENT_ID", AGENT_ID)
    assert resolve_agent_id() == AGENT_ID and resolve_agent_id("x") == "x"


# --------------------------------------------------------------------------- error_from_response


def test_error_from_response_reads_json_error_or_text() -> None:
    err = error_from_response(404, b'{"error": "call not found"}', "https://h/v1/calls/x", "get")
    assert isinstance(err, NotFoundError) and err.error == "call not found" and err.method == "GET"
    assert "client.calls.list()" in str(err)
    err = error_from_response(500, "upstream exploded", "https://h/v1/agents", "GET")
    assert type(err) is InternalServerError and err.error == "upstream exploded"
    err = error_from_response(400, b'{"message": "no error key"}', "https://h/v1/calls", "GET")
    assert err.error == '{"message": "no error key"}' and err.body == err.error
    err = error_from_response(418, None, "https://h/x", "POST")
    assert type(err) is APIStatusError and "empty body" in str(err)
    assert isinstance(err, VatelError)


def test_socket_errors_give_socket_advice() -> None:
    url = "wss://h/v1/connection?token=***"
    assert "session token" in str(error_from_response(401, b"{}", url))
    assert "client.agents.list()" in str(error_from_response(404, b"{}", url))
    closed = ConnectionClosedError(1011, "internal error")
    assert (closed.code, closed.reason) == (1011, "internal error")
    assert "1011" in str(closed) and "reconnect" in str(closed)
