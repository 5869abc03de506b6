"""Which server a session talks to: the real Vatel service, or the embedded simulator.

Rules (arguments win over environment variables):

- an API key (``api_key=`` or ``$VATEL_API_KEY``) or a base URL (``base_url=`` or
  ``$VATEL_BASE_URL``) → that server; with a key the agent id is required (``agent_id=`` or
  ``$VATEL_AGENT_ID``), else :class:`~vatel_nb.ConfigurationError`;
- neither → the embedded simulator on 127.0.0.1 (one per process, started lazily in its own
  thread, stopped at interpreter exit) and its demo agent.

Only the client layer (``vatel_nb.client``) talks to the server; this module just picks where.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .._errors import ConfigurationError
from ..client._config import ENV_AGENT_ID, ENV_API_KEY, ENV_BASE_URL, resolve_base_url

__all__ = ["Backend", "ensure_backend", "resolve_backend", "shared_simulator"]


@dataclass(frozen=True)
class Backend:
    """Where to connect. ``label`` is safe to show (``"simulator"`` or the host); the key is not."""

    base_url: str
    api_key: str | None = field(repr=False)
    agent_id: str
    simulator: bool
    label: str


_lock = threading.Lock()
_shared: Any = None


def shared_simulator() -> Any:
    """The process-wide embedded simulator, started on first use in its own thread (blocking: ≈0.1–1 s)."""
    global _shared
    with _lock:
        if _shared is None:
            from ..simulator import Simulator

            sim = Simulator()
            sim.__enter__()
            atexit.register(_stop_shared)
            _shared = sim
        return _shared


def _stop_shared() -> None:
    global _shared
    with _lock:
        sim, _shared = _shared, None
    if sim is not None:
        try:
            sim.__exit__(None, None, None)
        except Exception:  # pragma: no cover - best effort at exit
            pass


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def wants_simulator(api_key: str | None, base_url: str | None) -> bool:
    """True when neither a key nor a base URL is given (arguments or environment)."""
    return (api_key or _env(ENV_API_KEY)) is None and (base_url or _env(ENV_BASE_URL)) is None


def resolve_backend(agent_id: str | None, api_key: str | None, base_url: str | None) -> Backend:
    """Pick the backend (see the module docstring). Starts the shared simulator if it is chosen,
    so call it off the event loop (it blocks while the simulator binds its port)."""
    if wants_simulator(api_key, base_url):
        from ..simulator import DEMO_AGENT_ID

        sim = shared_simulator()
        return Backend(sim.base_url, sim.api_key, agent_id or DEMO_AGENT_ID, True, "simulator")
    key = api_key if api_key is not None else _env(ENV_API_KEY)
    url = resolve_base_url(base_url)
    agent = agent_id if agent_id is not None else _env(ENV_AGENT_ID)
    if not agent:
        raise ConfigurationError(
            f"no agent id: pass VatelSession(agent_id=...) or set the {ENV_AGENT_ID} environment variable "
            "(list your agents with vatel_nb.Vatel().agents.list())"
        )
    return Backend(url, key, agent, False, urlsplit(url).hostname or url)


async def ensure_backend(
    current: Backend | None, args: tuple[str | None, str | None, str | None], *, verbose: bool
) -> Backend:
    """``current``, or the backend for ``args`` (agent_id, api_key, base_url) resolved off the
    loop (starting the shared simulator blocks); says so once when it is the simulator."""
    if current is not None:
        return current
    backend = await asyncio.get_running_loop().run_in_executor(None, resolve_backend, *args)
    if verbose and backend.simulator:
        print(
            f"vatel_nb: no VATEL_API_KEY / VATEL_BASE_URL set: using the embedded simulator "
            f"at {backend.base_url} and its demo agent"
        )
    return backend
