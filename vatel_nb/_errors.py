"""Every error vatel_nb raises on purpose: one root, :class:`VatelError`.

```
VatelError
├── ConfigurationError           no API key / bad base URL
├── APIConnectionError           could not reach the server (DNS, refused, TLS, reset)
│   └── APITimeoutError
├── APIStatusError               HTTP status ≥ 400 (.status_code, .error, .url, .method)
│   ├── BadRequestError 400, AuthenticationError 401, PermissionDeniedError 403, NotFoundError 404,
│   │   MethodNotAllowedError 405, ConflictError 409, UnprocessableEntityError 422,
│   │   InternalServerError 5xx (ServiceUnavailableError 503)
└── ConnectionClosedError        the voice socket ended abnormally (.code, .reason)
```

``str(err)`` always says what went wrong *and* what to do next. REST calls and the WebSocket
upgrade share :func:`error_from_response`, so a refused upgrade raises the same classes as REST.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

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
    "ServiceUnavailableError",
    "UnprocessableEntityError",
    "VatelError",
    "error_from_response",
]

_CONNECTION_HINT = "is VATEL_BASE_URL (or the base_url argument) right, and is the server running?"


class VatelError(Exception):
    """Root of every error vatel_nb raises on purpose."""


class ConfigurationError(VatelError):
    """A required setting is missing or malformed; the message names the argument / env var to set."""


class APIConnectionError(VatelError):
    """The server could not be reached (DNS, connection refused, TLS, reset, protocol error)."""

    def __init__(self, message: str, *, url: str | None = None, method: str | None = None) -> None:
        self.url = url
        self.method = method
        where = f"{method} {url}: " if method and url else (f"{url}: " if url else "")
        super().__init__(f"could not reach the Vatel server ({where}{message}); {_CONNECTION_HINT}")


class APITimeoutError(APIConnectionError):
    """The server did not answer in time (connect, read or WebSocket open timeout)."""

    def __init__(self, message: str = "timed out", *, url: str | None = None, method: str | None = None):
        self.url = url
        self.method = method
        where = f"{method} {url}" if method and url else (url or "the request")
        VatelError.__init__(
            self,
            f"{where} timed out ({message}); the server may be slow or unreachable: "
            f"{_CONNECTION_HINT} If it is just slow, raise the timeout argument.",
        )


class APIStatusError(VatelError):
    """The server answered with an HTTP status ≥ 400.

    ``error`` is the server's ``error`` text from the JSON body, or the body text if it was not
    JSON; ``body`` is the raw body text; ``url`` and ``method`` name the request (a session
    token in a URL is masked).
    """

    status_code: int

    def __init__(self, status_code: int, error: str, *, url: str, method: str, body: str = "") -> None:
        self.status_code = status_code
        self.error = error
        self.url = url
        self.method = method
        self.body = body
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


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class ServiceUnavailableError(InternalServerError):
    """503: the server (or a feature it needs) is not available right now."""


class ConnectionClosedError(VatelError):
    """The voice socket ended abnormally. ``code`` / ``reason`` are the WebSocket close code and text.

    A clean close (1000 / 1001, or any close after ``session_ended``) is not an error.
    """

    def __init__(self, code: int | None, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        what = f"code {code}" if code is not None else "no close code"
        if reason:
            what += f", reason {reason!r}"
        if code == 1006 or code is None:
            todo = "the network dropped or the server went away; check the server and reconnect"
        elif code in (1008, 4001, 4003):
            todo = "the server rejected the session; get a fresh session token and reconnect"
        else:
            todo = "see the reason; reconnect with a new session token if you want to continue"
        super().__init__(f"the voice connection closed abnormally ({what}): {todo}")


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    422: UnprocessableEntityError,
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


def error_from_response(
    status: int, body: bytes | str | None, url: str, method: str = "GET"
) -> APIStatusError:
    """The typed :class:`APIStatusError` for an HTTP error answer (REST call or refused upgrade).

    ``body`` is the raw response body; its JSON ``error`` field becomes ``.error`` (else the text).
    """
    error, text = _error_text(body)
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    err = cls(status, error, url=url, method=method.upper(), body=text)
    return err
