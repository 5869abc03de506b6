"""vatel_nb: talk to a Vatel voice agent from a Jupyter notebook, and measure how it went.

The data path, one subpackage each: the browser (``js/``) → :mod:`vatel_nb.widget` →
:mod:`vatel_nb.session` → :mod:`vatel_nb.client` (REST + voice socket, speaking
:mod:`vatel_nb.protocol`) → :mod:`vatel_nb.log` (one event log on one clock) →
:mod:`vatel_nb.analysis`. :mod:`vatel_nb.simulator` is the embedded Vatel-compatible server;
:mod:`vatel_nb.caller` drives a session from a script with no browser.

Names are imported lazily (PEP 562), so ``import vatel_nb`` stays cheap — the Jupyter server
extension and the CLI import submodules without pulling in pandas or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS: dict[str, str] = {
    # client + errors
    **dict.fromkeys(
        [
            "Vatel",
            "AsyncVatel",
            "VatelConnection",
            "connect",
            "VatelError",
            "ConfigurationError",
            "APIConnectionError",
            "APITimeoutError",
            "APIStatusError",
            "BadRequestError",
            "AuthenticationError",
            "PermissionDeniedError",
            "NotFoundError",
            "MethodNotAllowedError",
            "ConflictError",
            "UnprocessableEntityError",
            "RateLimitError",
            "InternalServerError",
            "ServiceUnavailableError",
            "ConnectionClosedError",
        ],
        "vatel_nb.client",
    ),
    **dict.fromkeys(["VatelSession"], "vatel_nb.session"),
    **dict.fromkeys(["VatelWidget"], "vatel_nb.widget"),
    **dict.fromkeys(["CallView"], "vatel_nb.view"),
    **dict.fromkeys(
        [
            "Simulator",
            "DEMO_AGENT_ID",
            "Latency",
            "Uniform",
            "Normal",
            "Constant",
            "Reply",
            "ToolRequest",
            "Tool",
        ],
        "vatel_nb.simulator",
    ),
    **dict.fromkeys(
        ["EventLog", "load_session", "save_session", "Autosaver", "stereo_recording"], "vatel_nb.log"
    ),
    **dict.fromkeys(
        [
            "turns",
            "summary",
            "compare_sessions",
            "join_call_record",
            "plot_chronogram",
            "plot_waterfall",
            "plot_v2v_ecdf",
            "plot_fto_hist",
        ],
        "vatel_nb.analysis",
    ),
    # headless caller
    **dict.fromkeys(["ScriptedCaller", "Utterance"], "vatel_nb.caller"),
}

__all__ = [
    "DEMO_AGENT_ID",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncVatel",
    "AuthenticationError",
    "Autosaver",
    "BadRequestError",
    "CallView",
    "ConfigurationError",
    "ConflictError",
    "ConnectionClosedError",
    "Constant",
    "EventLog",
    "InternalServerError",
    "Latency",
    "MethodNotAllowedError",
    "Normal",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Reply",
    "ScriptedCaller",
    "ServiceUnavailableError",
    "Simulator",
    "Tool",
    "ToolRequest",
    "Uniform",
    "UnprocessableEntityError",
    "Utterance",
    "Vatel",
    "VatelConnection",
    "VatelError",
    "VatelSession",
    "VatelWidget",
    "__version__",
    "compare_sessions",
    "connect",
    "join_call_record",
    "load_session",
    "plot_chronogram",
    "plot_fto_hist",
    "plot_v2v_ecdf",
    "plot_waterfall",
    "save_session",
    "stereo_recording",
    "summary",
    "turns",
]


#: Subpackages reachable as attributes without an import (``vatel_nb.suite.run(...)``).
_SUBMODULES = ("suite", "dataset")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"vatel_nb.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vatel_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .analysis import (
        compare_sessions,
        join_call_record,
        plot_chronogram,
        plot_fto_hist,
        plot_v2v_ecdf,
        plot_waterfall,
        summary,
        turns,
    )
    from .caller import ScriptedCaller, Utterance
    from .client import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AsyncVatel,
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
        Vatel,
        VatelConnection,
        VatelError,
        connect,
    )
    from .log import Autosaver, EventLog, load_session, save_session, stereo_recording
    from .session import VatelSession
    from .simulator import (
        DEMO_AGENT_ID,
        Constant,
        Latency,
        Normal,
        Reply,
        Simulator,
        Tool,
        ToolRequest,
        Uniform,
    )
    from .view import CallView
    from .widget import VatelWidget
