"""No exception text holds a secret; the websockets logger masks the token; 429 and timeouts.

Canary secrets (an API key, a session token, a base URL password) are echoed back by a real
server on loopback; every exception we raise must show ``***`` instead, in ``str``, ``repr``,
``args`` and its text attributes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import traceback

import pytest
from _fixture_server import AGENT_ID, API_KEY, TOKEN

from vatel_nb import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    Vatel,
    VatelError,
    VatelSession,
)
from vatel_nb.client import AsyncVatel, connect

CANARY_KEY = "canary-key-5e1f0a9c77d2"
CANARY_TOKEN = "canary.token-0b4e9d21f3a8"
CANARY_PW = "canary-pw-83c6d1e0"


def assert_clean(err: BaseException, *secrets: str) -> None:
    texts = [str(err), repr(err), *map(str, err.args)]
    texts += [str(getattr(err, name, "")) for name in ("error", "body", "url", "reason")]
    texts.append("".join(traceback.format_exception(err)))  # chained causes included
    for secret in secrets:
        for text in texts:
            assert secret not in text, (secret, text)
    assert "***" in str(err)


def test_api_key_echoed_in_a_401_body_is_masked(fixture_server) -> None:
    fixture_server.override("/v1/agents", 401, json={"error": f"key {CANARY_KEY} is not valid"})
    with Vatel(api_key=CANARY_KEY, base_url=fixture_server.base_url) as client:
        with pytest.raises(AuthenticationError) as info:
            client.agents.list()
    assert_clean(info.value, CANARY_KEY)
    assert "key *** is not valid" in info.value.error


def test_token_echoed_by_a_refused_upgrade_is_masked(fixture_server) -> None:
    fixture_server.ws_deny = (
        401,
        f'{{"error": "token {CANARY_TOKEN} expired"}}'.encode(),
        "application/json",
    )

    async def main() -> None:
        await connect(CANARY_TOKEN, base_url=fixture_server.base_url)

    with pytest.raises(AuthenticationError) as info:
        asyncio.run(main())
    assert_clean(info.value, CANARY_TOKEN)
    assert "token=***" in info.value.url


def test_base_url_password_is_masked_in_status_and_connection_errors(fixture_server) -> None:
    host = fixture_server.base_url.removeprefix("http://")
    url = f"http://user:{CANARY_PW}@{host}"
    fixture_server.override("/v1/agents", 404, text=f"nothing at http://user:{CANARY_PW}@{host}/v1/agents")
    with Vatel(api_key=API_KEY, base_url=url) as client:
        assert CANARY_PW not in repr(client)
        with pytest.raises(NotFoundError) as info:
            client.agents.list()
    assert_clean(info.value, CANARY_PW)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with Vatel(api_key=API_KEY, base_url=f"http://user:{CANARY_PW}@127.0.0.1:{closed}") as client:
        with pytest.raises(APIConnectionError) as info2:
            client.agents.list()
    assert_clean(info2.value, CANARY_PW)


def test_session_error_state_and_exception_hold_no_secret(fixture_server, no_vatel_env) -> None:
    fixture_server.override("/v1/agents/" + AGENT_ID, 401, json={"error": f"bad {CANARY_KEY}"})

    async def main() -> VatelSession:
        s = VatelSession(AGENT_ID, api_key=CANARY_KEY, base_url=fixture_server.base_url, verbose=False)
        with pytest.raises(VatelError) as info:
            await s.start()
        assert_clean(info.value, CANARY_KEY)
        return s

    s = asyncio.run(main())
    assert CANARY_KEY not in s.error and CANARY_KEY not in str(s.log.frame()["text"].tolist())


def test_websockets_debug_log_masks_the_token(fixture_server, caplog) -> None:
    fixture_server.ws_script = [("close", 1000, "")]
    caplog.set_level(logging.DEBUG, logger="websockets")

    async def main() -> None:
        async with connect(TOKEN, base_url=fixture_server.base_url) as conn:
            async for _ in conn:
                pass

    asyncio.run(main())
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("websockets"))
    assert "GET /v1/connection?token=***" in logged  # the request line is logged, masked
    quoted = TOKEN.replace("/", "%2F").replace(" ", "%20")
    assert TOKEN not in logged and quoted not in logged and "token=tok" not in logged


# --------------------------------------------------------------------------- 429 and timeouts


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0.5", 0.5), (None, None), ("soon", None)])
def test_rate_limit_error_carries_retry_after_seconds(fixture_server, header, expected) -> None:
    from starlette.responses import JSONResponse

    def limited(request):
        headers = {"Retry-After": header} if header is not None else {}
        return JSONResponse({"error": "slow down"}, 429, headers=headers)

    fixture_server.responders["/v1/agents"] = limited
    with Vatel(api_key=API_KEY, base_url=fixture_server.base_url) as client:
        with pytest.raises(RateLimitError) as info:
            client.agents.list()
    assert info.value.status_code == 429 and info.value.retry_after == expected
    assert "retry" in str(info.value).lower()


def test_retry_after_as_an_http_date() -> None:
    from email.utils import formatdate

    from vatel_nb._errors import parse_retry_after

    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_session_timeout_is_settable_and_the_hint_names_it(fixture_server, no_vatel_env) -> None:
    fixture_server.override("/v1/agents/" + AGENT_ID, 200, json={}, delay=1.0)

    async def main() -> APITimeoutError:
        s = VatelSession(
            AGENT_ID, api_key=API_KEY, base_url=fixture_server.base_url, verbose=False, timeout=0.2
        )
        with pytest.raises(APITimeoutError) as info:
            await s.start()
        return info.value

    err = asyncio.run(main())
    assert "timeout=" in str(err) and "VatelSession(timeout=" in str(err)


def test_socket_open_timeout_hint_names_open_timeout(fixture_server) -> None:
    fixture_server.ws_accept_delay = 1.0

    async def main() -> None:
        async with AsyncVatel(api_key=API_KEY, base_url=fixture_server.base_url) as client:
            await client.connect(AGENT_ID, open_timeout=0.2)

    with pytest.raises(APITimeoutError) as info:
        asyncio.run(main())
    assert "open_timeout=" in str(info.value) and info.value.argument == "open_timeout"
