"""The sync REST client :class:`Vatel` and the base shared with its async twin (``_async_rest``).

All request building and response parsing lives in :mod:`._endpoints`; a client only sends
the :class:`~._endpoints.Request` (``_run``) and maps transport failures to the error tree.
The resource methods are one-line forwards so both twins show full signatures.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .._errors import APIConnectionError, APITimeoutError, redact_url
from . import _endpoints as ep
from ._call_models import Call, CallPage
from ._config import resolve_api_key, resolve_base_url
from ._models import Agent, Organization, SessionToken
from ._socket import USER_AGENT

__all__ = ["Vatel"]

T = TypeVar("T")
Date = str | datetime | date


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """One default TLS context for every client (building one costs ~30 ms)."""
    return httpx.create_ssl_context()


class _Base:
    """Settings and the transport-independent halves of every call."""

    def __init__(
        self, api_key: str | None, base_url: str | None, timeout: float | httpx.Timeout | None
    ) -> None:
        #: The resolved server root, e.g. ``https://api.vatel.ai`` (no trailing slash).
        self.base_url = resolve_base_url(base_url)
        self._api_key = resolve_api_key(api_key)
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {self._api_key}", "User-Agent": USER_AGENT}

    def _kwargs(self, req: ep.Request[Any]) -> dict[str, Any]:
        return {"method": req.method, "url": self.base_url + req.path, "params": req.params, "json": req.json}

    def _transport_error(self, req: ep.Request[Any], exc: httpx.TransportError) -> APIConnectionError:
        url = self.base_url + req.path
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"{type(exc).__name__}, timeout={self.timeout!r} s", url=url, method=req.method
            )
        return APIConnectionError(f"{type(exc).__name__}: {exc}", url=url, method=req.method)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={redact_url(self.base_url)!r})"


# --------------------------------------------------------------------------- sync


class Agents:
    """``client.agents``: the organization's voice agents."""

    def __init__(self, client: Vatel) -> None:
        self._run = client._run

    def list(self) -> list[Agent]:
        """All agents of the organization."""
        return self._run(ep.list_agents())

    def get(self, agent_id: str) -> Agent:
        """One agent by id (NotFoundError if there is none)."""
        return self._run(ep.get_agent(agent_id))


class Calls:
    """``client.calls``: call records, transcripts and recordings."""

    def __init__(self, client: Vatel) -> None:
        self._run = client._run

    def list(
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
        """One page of calls (newest first as the server orders them), filtered; see :func:`ep.list_calls`."""
        kw = {k: v for k, v in locals().items() if k != "self"}
        return self._run(ep.list_calls(**kw))

    def iter(self, page: int = 1, page_size: int = 20, **filters: Any) -> Iterator[Call]:
        """Every call from ``page`` on, fetching further pages as needed (same filters as :meth:`list`)."""
        next_page: int | None = page
        while next_page is not None:
            result = self.list(next_page, page_size, **filters)
            yield from result.calls
            next_page = ep.next_page(result)

    def get(self, call_id: str) -> Call:
        """One call with its transcript."""
        return self._run(ep.get_call(call_id))

    def recording(self, call_id: str) -> bytes:
        """The call's recording: WAV file bytes."""
        return self._run(ep.call_recording(call_id))

    def save_recording(self, call_id: str, path: str | Path) -> Path:
        """Download the recording to ``path`` (a .wav file); returns the path."""
        out = Path(path)
        out.write_bytes(self.recording(call_id))
        return out


class Vatel(_Base):
    """Synchronous Vatel REST client.

    ``api_key`` defaults to ``$VATEL_API_KEY``, ``base_url`` to ``$VATEL_BASE_URL`` then
    ``https://api.vatel.ai``; ``timeout`` in seconds (or an ``httpx.Timeout``). Use as
    ``with Vatel() as client:`` or call :meth:`close`.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
    ) -> None:
        super().__init__(api_key, base_url, timeout)
        self._http = httpx.Client(
            headers=self._headers, timeout=timeout, follow_redirects=True, verify=shared_ssl_context()
        )
        self.agents = Agents(self)
        self.calls = Calls(self)

    def _run(self, req: ep.Request[T]) -> T:
        try:
            resp = self._http.request(**self._kwargs(req))
        except httpx.TransportError as e:
            raise self._transport_error(req, e) from None  # its text is in ours, scrubbed
        return ep.finish(req, resp.status_code, resp.content, str(resp.url), resp.headers)

    def organization(self) -> Organization:
        """The organization the API key belongs to (a cheap way to check the key)."""
        return self._run(ep.organization())

    def session_token(
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
        return self._run(ep.session_token(**kw))

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> Vatel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
