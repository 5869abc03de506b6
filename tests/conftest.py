"""Shared pytest fixtures (keep small).

- ``fixture_server``: one :class:`_fixture_server.FixtureServer` (Vatel-shaped REST + voice socket
  on 127.0.0.1, free port) for the whole session, reset before each test that uses it.
- ``no_vatel_env``: removes VATEL_API_KEY / VATEL_BASE_URL / VATEL_AGENT_ID from the environment.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _fixture_server import FixtureServer


@pytest.fixture(scope="session")
def _fixture_server_session() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


@pytest.fixture
def fixture_server(_fixture_server_session: FixtureServer) -> FixtureServer:
    _fixture_server_session.reset()
    return _fixture_server_session


@pytest.fixture
def no_vatel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VATEL_API_KEY", "VATEL_BASE_URL", "VATEL_AGENT_ID"):
        monkeypatch.delenv(name, raising=False)
