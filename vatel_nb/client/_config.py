"""Where the API key and the server come from: argument, else environment, else a clear error."""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit, urlunsplit

from .._errors import ConfigurationError, redact_url, register_secret

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_AGENT_ID",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "redact_token",
    "resolve_agent_id",
    "resolve_api_key",
    "resolve_base_url",
    "ws_url",
]

DEFAULT_BASE_URL = "https://api.vatel.ai"
ENV_API_KEY = "VATEL_API_KEY"
ENV_BASE_URL = "VATEL_BASE_URL"
ENV_AGENT_ID = "VATEL_AGENT_ID"

CONNECTION_PATH = "/v1/connection"


def resolve_api_key(api_key: str | None = None) -> str:
    """The organization API key: ``api_key`` if given, else ``$VATEL_API_KEY``.

    Raises :class:`ConfigurationError` (saying what to set) when neither is a non-empty string.
    """
    if api_key is None:
        api_key = os.environ.get(ENV_API_KEY, "")
        if not api_key.strip():
            raise ConfigurationError(
                f"no Vatel API key: pass api_key=... or set the {ENV_API_KEY} environment variable "
                "(an organization API key from the Vatel dashboard)"
            )
    if not isinstance(api_key, str) or not api_key.strip():
        raise ConfigurationError(
            f"api_key must be a non-empty string (got a {type(api_key).__name__}); pass your "
            f"organization API key or set {ENV_API_KEY}"
        )
    register_secret(api_key.strip())  # never shown in an exception, even if a server echoes it
    return api_key.strip()


def resolve_base_url(base_url: str | None = None) -> str:
    """The server root: ``base_url`` if given, else ``$VATEL_BASE_URL``, else ``https://api.vatel.ai``.

    Must be an ``http://`` or ``https://`` URL with a host (an optional path prefix is kept);
    the trailing slash is stripped. Raises :class:`ConfigurationError` otherwise. A
    ``user:password@`` password is registered as a secret (masked in every exception).
    """
    source = "base_url"
    if base_url is None:
        env = os.environ.get(ENV_BASE_URL, "").strip()
        base_url, source = (env, ENV_BASE_URL) if env else (DEFAULT_BASE_URL, "the default")
    if not isinstance(base_url, str):
        raise ConfigurationError(f"base_url must be a string like 'https://api.vatel.ai', got {base_url!r}")
    url = base_url.strip()
    try:
        parts = urlsplit(url)
        register_secret(parts.password)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise ConfigurationError(
            f"{source} {redact_url(url)!r} is not a valid URL ({e}); use e.g. https://api.vatel.ai"
        ) from None
    base_url = redact_url(url)  # only shown from here on
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{source} {base_url!r} must be an http:// or https:// URL with a host, e.g. "
            f"https://api.vatel.ai or http://127.0.0.1:8000; fix the base_url argument or {ENV_BASE_URL}"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"{source} {base_url!r} must not have a query or fragment; use just scheme://host[:port][/prefix]"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def resolve_agent_id(agent_id: str | None = None) -> str:
    """The agent to call: ``agent_id`` if given, else ``$VATEL_AGENT_ID``, else ConfigurationError."""
    if agent_id is None:
        agent_id = os.environ.get(ENV_AGENT_ID, "").strip()
    if not isinstance(agent_id, str) or not agent_id:
        raise ConfigurationError(
            f"no agent id: pass agent_id=... or set {ENV_AGENT_ID} (list agents with client.agents.list())"
        )
    return agent_id


def ws_url(base_url: str, token: str) -> str:
    """The voice WebSocket URL for ``base_url``: https→wss, http→ws, ``/v1/connection?token=…``.

    The token is the only query parameter and is fully URL-encoded.
    """
    root = resolve_base_url(base_url)
    if not isinstance(token, str) or not token:
        raise ConfigurationError(
            "token must be a non-empty session token string; get one with client.session_token(agent_id)"
        )
    register_secret(token)
    scheme, rest = root.split("://", 1)
    ws_scheme = "wss" if scheme == "https" else "ws"
    return f"{ws_scheme}://{rest}{CONNECTION_PATH}?token={quote(token, safe='')}"


def redact_token(url: str) -> str:
    """``url`` with the ``token`` query value (and a ``user:password@`` password) masked."""
    return redact_url(url)
