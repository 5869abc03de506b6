"""Every error vatel_nb raises on purpose: one root, :class:`VatelError`.

```
VatelError
├── ConfigurationError           no API key / bad base URL
├── APIConnectionError           could not reach the server (DNS, refused, TLS, reset)
│   └── APITimeoutError
├── APIStatusError               HTTP status ≥ 400 (.status_code, .error, .url, .method)
│   ├── BadRequestError 400, AuthenticationError 401, PermissionDeniedError 403, NotFoundError 404,
│   │   MethodNotAllowedError 405, ConflictError 409, UnprocessableEntityError 422,
│   │   RateLimitError 429 (.retry_after s), InternalServerError 5xx (ServiceUnavailableError 503)
└── ConnectionClosedError        the voice socket ended abnormally (.code, .reason, .local)
```

``str(err)`` always says what went wrong *and* what to do next. REST calls and the WebSocket
upgrade share :func:`error_from_response`, so a refused upgrade raises the same classes as REST.

Secrets never reach an exception's text: the clients register the API key, each session token
and a base URL's password with :func:`register_secret`, and every :class:`VatelError` replaces
them with ``***`` in its message, ``args``, ``repr`` and text attributes (``error``, ``body``,
``url``, ``reason``), even when a server echoes them back in an error body.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConnectionClosedError",
    "InternalServerError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "VatelError",
    "error_from_response",
    "redact_url",
    "register_secret",
    "scrub",
]

_CONNECTION_HINT = "is VATEL_BASE_URL (or the base_url argument) right, and is the server running?"

#: Known secrets (insertion-ordered, bounded: the oldest tokens are forgotten first).
_SECRETS: dict[str, None] = {}
_MAX_SECRETS = 512
_MASK = "***"


def register_secret(value: str | None) -> None:
    """Remember ``value`` (an API key, a session token, a password) so no exception shows it.

    Its URL-encoded and URL-decoded forms are remembered too. Values under 6 characters are
    ignored (masking them would garble ordinary text).
    """
    if not isinstance(value, str) or len(value) < 6:
        return
    for form in (value, quote(value, safe=""), unquote(value)):
        if len(form) >= 6:
            _SECRETS.pop(form, None)
            _SECRETS[form] = None
    while len(_SECRETS) > _MAX_SECRETS:
        del _SECRETS[next(iter(_SECRETS))]


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``***`` (longest first)."""
    if not _SECRETS or not text:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, _MASK)
    return text


def redact_url(url: str) -> str:
    """``url`` fit to show: the ``token`` query value and a ``user:password@`` password masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_pw, _ = userinfo.partition(":")
        netloc = f"{user}:{_MASK}@{host}" if has_pw else netloc
    query = parts.query
    if query:
        query = "&".join(
            f"{k}={_MASK}" if k == "token" else f"{k}={v}" if sep else k
            for k, sep, v in (item.partition("=") for item in query.split("&"))
        )
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


class VatelError(Exception):
    """Root of every error vatel_nb raises on purpose. Its text never holds a registered secret."""

    _TEXT_ATTRS: tuple[str, ...] = ()

    def __init__(self, *args: Any) -> None:
        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))
        for name in self._TEXT_ATTRS:
            value = getattr(self, name, None)
            if isinstance(value, str):
                setattr(self, name, scrub(value))


class ConfigurationError(VatelError):
    """A required setting is missing or malformed; the message names the argument / env var to set."""


class APIConnectionError(VatelError):
    """The server could not be reached (DNS, connection refused, TLS, reset, protocol error)."""

    _TEXT_ATTRS = ("url",)

    def __init__(self, message: str, *, url: str | None = None, method: str | None = None) -> None:
        self.url = redact_url(url) if url else url
        self.method = method
        where = f"{method} {self.url}: " if method and url else (f"{self.url}: " if url else "")
        super().__init__(f"could not reach the Vatel server ({where}{message}); {_CONNECTION_HINT}")


class APITimeoutError(APIConnectionError):
    """The server did not answer in time (connect, read or WebSocket open timeout).

    ``argument`` names the setting to raise: ``"timeout"`` for REST calls (``Vatel(timeout=…)``,
    ``AsyncVatel(timeout=…)``, ``VatelSession(timeout=…)``), ``"open_timeout"`` for the voice
    socket's opening handshake (``connect(open_timeout=…)``, ``VatelSession(open_timeout=…)``).
    """

    def __init__(
        self,
        message: str = "timed out",
        *,
        url: str | None = None,
        method: str | None = None,
        argument: str = "timeout",
    ) -> None:
        self.url = redact_url(url) if url else url
        self.method = method
        self.argument = argument
        where = f"{method} {self.url}" if method and url else (self.url or "the request")
        VatelError.__init__(
            self,
            f"{where} timed out ({message}); the server may be slow or unreachable: "
            f"{_CONNECTION_HINT} If it is just slow, raise {argument}= "
            f"(VatelSession({argument}=…) or the client's {argument}= argument, in seconds).",
        )


class APIStatusError(VatelError):
    """The server answered with an HTTP status ≥ 400.

    ``error`` is the server's ``error`` text from the JSON body, or the body text if it was not
    JSON; ``body`` is the raw body text; ``url`` and ``method`` name the request (a session
    token in a URL is masked).
    """

    status_code: int
    _TEXT_ATTRS = ("error", "url", "body")

    def __init__(self, status_code: int, error: str, *, url: str, method: str, body: str = "") -> None:
        self.status_code = status_code
        self.error = scrub(error)
        self.url = url = redact_url(url)
        self.method = method
        self.body = body
        error = self.error
        shown = error if len(error) <= 500 else error[:500] + "…"
        text = f"{method} {url} failed with HTTP {status_code}"
        text += f": {shown}" if shown else " (empty body)"
        hint = _hint(status_code, url)
        super().__init__(f"{text}. {hint}" if hint else text)


class BadRequestError(APIStatusError):
    """400: the request was malformed (bad id, bad filter value, bad body)."""


class AuthenticationError(APIStatusError):
    """401: missing or wrong API key (or an invalid / expired session token on the socket)."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but not allowed to use this resource (e.g. another organization's agent)."""


class NotFoundError(APIStatusError):
    """404: no such agent / call / recording (or the base URL points at the wrong server)."""


class MethodNotAllowedError(APIStatusError):
    """405: the endpoint does not accept this HTTP method."""


class ConflictError(APIStatusError):
    """409: the resource is in a conflicting state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but its content was rejected."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after``: seconds to wait (from ``Retry-After``), or None."""

    def __init__(
        self,
        status_code: int,
        error: str,
        *,
        url: str,
        method: str,
        body: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(status_code, error, url=url, method=method, body=body)


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class ServiceUnavailableError(InternalServerError):
    """503: the server (or a feature it needs) is not available right now."""


class ConnectionClosedError(VatelError):
    """The voice socket ended abnormally. ``code`` / ``reason`` are the WebSocket close code and text.

    ``local`` is True when this side failed the connection (then ``code`` is the one it sent:
    1009 for a server frame over ``limit`` bytes, 1011 for a keepalive timeout). A clean close
    (1000 / 1001, or any close after ``session_ended``) is not an error.
    """

    _TEXT_ATTRS = ("reason",)

    def __init__(
        self, code: int | None, reason: str = "", *, local: bool = False, limit: int | None = None
    ) -> None:
        self.code = code
        self.reason = reason
        self.local = local
        what = f"code {code}" if code is not None else "no close code"
        if reason:
            what += f", reason {reason!r}"
        if local and code == 1009:
            size = f"{limit / 2**20:g} MiB" if limit else "its"
            text = (
                f"the server sent a frame larger than the client's {size} limit, so the client "
                f"closed the voice connection ({what}); no Vatel message is that big: check that "
                "the base URL points at the Vatel API, and report it to Vatel if it does"
            )
        elif local and code == 1011 and "keepalive" in reason:
            text = (
                f"the server stopped answering keepalive pings, so the client closed the voice "
                f"connection ({what}): the network or the server is down or stalled; check it and "
                "reconnect (raise ping_timeout= if the link is just slow)"
            )
        elif local:
            text = f"the client closed the voice connection after a protocol error ({what}); reconnect"
        elif code == 1006 or code is None:
            text = (
                f"the voice connection closed abnormally ({what}): the network dropped or the "
                "server went away without a close frame; check the server and reconnect"
            )
        elif code == 1009:
            text = (
                f"the server closed the voice connection because a frame from this client was too "
                f"big ({what}); send audio in small chunks (20 ms = 960 bytes)"
            )
        elif code == 1011:
            text = (
                f"the server hit an internal error and closed the voice connection ({what}); "
                "reconnect with a new session token, and report it to Vatel if it persists"
            )
        elif code in (1008, 4001, 4003):
            text = (
                f"the voice connection closed abnormally ({what}): the server rejected the "
                "session; get a fresh session token and reconnect"
            )
        else:
            text = (
                f"the voice connection closed abnormally ({what}): see the reason; reconnect "
                "with a new session token if you want to continue"
            )
        super().__init__(text)


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def _hint(status: int, url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    socket = path.endswith("/v1/connection")
    if status == 401:
        if socket:
            return "The session token is invalid or expired: get a new one (client.session_token(agent_id))."
        return "Check VATEL_API_KEY / the api_key argument (your organization API key)."
    if socket and status == 400:
        return "The token query parameter is missing or invalid: get a new session token and reconnect."
    if status == 403:
        return "The API key's organization may not use this resource: check the agent id and the API key."
    if status == 404:
        if "/v1/agents" in path or path.endswith("/v1/session-token") or socket:
            return "Check the agent id; list agents with client.agents.list()."
        if "/v1/calls" in path:
            return "Check the call id; list calls with client.calls.list()."
        return "Check VATEL_BASE_URL / the base_url argument: it may point at the wrong server."
    if status == 400:
        return "Check the arguments (ids must be UUIDs; filters must use the documented values)."
    if status == 405:
        return "This endpoint does not accept that method; check VATEL_BASE_URL points at the Vatel API."
    if status == 409:
        return "The resource is in a conflicting state; re-read it and retry."
    if status == 422:
        return "The server rejected the request content; check the arguments."
    if status == 429:
        return "Too many requests: wait (see .retry_after, in seconds) and retry."
    if status == 503:
        return "The service (or a feature it needs) is unavailable; retry later."
    if status >= 500:
        return "The server failed; retry later, and report it to Vatel if it persists."
    return ""


def _error_text(body: bytes | str | None) -> tuple[str, str]:
    if body is None:
        return "", ""
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body)
    try:
        obj = json.loads(text)
    except ValueError:
        return text.strip(), text
    if isinstance(obj, dict) and isinstance(obj.get("error"), str):
        return obj["error"], text
    return text.strip(), text


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date (``now`` = ``time.time()``)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def error_from_response(
    status: int,
    body: bytes | str | None,
    url: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
) -> APIStatusError:
    """The typed :class:`APIStatusError` for an HTTP error answer (REST call or refused upgrade).

    ``body`` is the raw response body; its JSON ``error`` field becomes ``.error`` (else the text).
    ``headers`` (any case-insensitive mapping) supply ``Retry-After`` for a 429.
    """
    error, text = _error_text(body)
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    if cls is RateLimitError:
        retry = parse_retry_after(headers.get("retry-after") if headers is not None else None)
        return RateLimitError(status, error, url=url, method=method.upper(), body=text, retry_after=retry)
    return cls(status, error, url=url, method=method.upper(), body=text)
