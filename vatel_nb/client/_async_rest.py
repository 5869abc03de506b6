"""The async REST client :class:`AsyncVatel` (twin of :class:`~._rest.Vatel`) and its socket opener."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

from . import _endpoints as ep
from ._call_models import Call, CallPage
from ._config import resolve_agent_id, ws_url
from ._models import Agent, Organization, SessionToken
from ._rest import Date, _Base, shared_ssl_context
from ._socket import Connecting, VatelConnection, open_connection

__all__ = ["AsyncVatel"]

T = TypeVar("T")


class AsyncAgents:
    """``client.agents`` of :class:`AsyncVatel`."""

    def __init__(self, client: AsyncVatel) -> None:
        self._run = client._run

    async def list(self) -> list[Agent]:
        """All agents of the organization."""
        return await self._run(ep.list_agents())

    async def get(self, agent_id: str) -> Agent:
        """One agent by id (NotFoundError if there is none)."""
        return await self._run(ep.get_agent(agent_id))


class AsyncCalls:
    """``client.calls`` of :class:`AsyncVatel`."""

    def __init__(self, client: AsyncVatel) -> None:
        self._run = client._run

    async def list(
        self,
        page: int = 1,
        page_size: int = 20,
        *,
        agent_ids: str | Sequence[str] | None = None,
        status: str | None = None,
        source: str | None = None,
        date_from: Date | None = None,
        date_to: Date | None = None,
        outbound: bool | None = None,
        search: str | None = None,
        tag: str | None = None,
        outcome: str | None = None,
        organization_id: str | None = None,
    ) -> CallPage:
        """One page of calls, filtered (see :meth:`Calls.list`)."""
        kw = {k: v for k, v in locals().items() if k != "self"}
        return await self._run(ep.list_calls(**kw))

    async def iter(self, page: int = 1, page_size: int = 20, **filters: Any) -> AsyncIterator[Call]:
        """Every call from ``page`` on, fetching further pages as needed."""
        next_page: int | None = page
        while next_page is not None:
            result = await self.list(next_page, page_size, **filters)
            for call in result.calls:
                yield call
            next_page = ep.next_page(result)

    async def get(self, call_id: str) -> Call:
        """One call with its transcript."""
        return await self._run(ep.get_call(call_id))

    async def recording(self, call_id: str) -> bytes:
        """The call's recording: WAV file bytes."""
        return await self._run(ep.call_recording(call_id))

    async def save_recording(self, call_id: str, path: str | Path) -> Path:
        """Download the recording to ``path`` (a .wav file); returns the path."""
        out = Path(path)
        out.write_bytes(await self.recording(call_id))
        return out


class AsyncVatel(_Base):
    """Asynchronous twin of :class:`Vatel` (same arguments, same results, awaitable), plus
    :meth:`connect` for the voice socket. ``async with AsyncVatel() as client:`` or :meth:`aclose`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
    ) -> None:
        super().__init__(api_key, base_url, timeout)
        self._http = httpx.AsyncClient(
            headers=self._headers, timeout=timeout, follow_redirects=True, verify=shared_ssl_context()
        )
        self.agents = AsyncAgents(self)
        self.calls = AsyncCalls(self)

    async def _run(self, req: ep.Request[T]) -> T:
        try:
            resp = await self._http.request(**self._kwargs(req))
        except httpx.TransportError as e:
            raise self._transport_error(req, e) from None  # its text is in ours, scrubbed
        return ep.finish(req, resp.status_code, resp.content, str(resp.url), resp.headers)

    async def organization(self) -> Organization:
        """The organization the API key belongs to."""
        return await self._run(ep.organization())

    async def session_token(
        self,
        agent_id: str,
        *,
        version_id: str | None = None,
        chat_id: str | None = None,
        transport: str | None = None,
        first_message: str | None = None,
        prompt: str | None = None,
        chat: bool | None = None,
    ) -> SessionToken:
        """A short-lived token for the voice socket; only the arguments given are sent."""
        kw = {k: v for k, v in locals().items() if k != "self"}
        return await self._run(ep.session_token(**kw))

    def connect(
        self,
        agent_id: str | None = None,
        token: str | None = None,
        *,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        open_timeout: float | None = 10.0,
        **session_token_kwargs: Any,
    ) -> Connecting:
        """Open the voice socket on this client's server: with ``token`` if given, else a fresh
        token for ``agent_id`` (default ``$VATEL_AGENT_ID``; ``session_token_kwargs`` go to
        :meth:`session_token`). ``await`` it or use ``async with client.connect(...) as conn``.
        """
        if token is None:
            agent = resolve_agent_id(agent_id)

        async def opener() -> VatelConnection:
            tok = (
                token
                if token is not None
                else (await self.session_token(agent, **session_token_kwargs)).token
            )
            return await open_connection(
                ws_url(self.base_url, tok),
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
                open_timeout=open_timeout,
            )

        return Connecting(opener)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncVatel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
