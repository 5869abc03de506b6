"""Talk to Vatel: REST (:class:`Vatel`, :class:`AsyncVatel`) and the voice WebSocket (:func:`connect`).

Typed results are frozen dataclasses (:class:`Agent`, :class:`Call`, …) keeping the JSON in
``.raw``; every failure is a :class:`vatel_nb.VatelError` subclass whose message says what to do.
"""

from .._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectionClosedError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    VatelError,
    error_from_response,
)
from ._async_rest import AsyncVatel
from ._call_models import Call, CallPage, Pagination, TranscriptEntry, TranscriptToolCall
from ._config import DEFAULT_BASE_URL, resolve_agent_id, resolve_api_key, resolve_base_url, ws_url
from ._models import Agent, Organization, SessionToken, VadSettings
from ._rest import Vatel
from ._socket import USER_AGENT, Connecting, VatelConnection, connect

__all__ = [
    "DEFAULT_BASE_URL",
    "USER_AGENT",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AsyncVatel",
    "AuthenticationError",
    "BadRequestError",
    "Call",
    "CallPage",
    "ConfigurationError",
    "ConflictError",
    "Connecting",
    "ConnectionClosedError",
    "InternalServerError",
    "MethodNotAllowedError",
    "NotFoundError",
    "Organization",
    "Pagination",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "SessionToken",
    "TranscriptEntry",
    "TranscriptToolCall",
    "UnprocessableEntityError",
    "VadSettings",
    "Vatel",
    "VatelConnection",
    "VatelError",
    "connect",
    "error_from_response",
    "resolve_agent_id",
    "resolve_api_key",
    "resolve_base_url",
    "ws_url",
]
