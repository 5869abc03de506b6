"""A voice call with a Vatel agent from a notebook: :class:`VatelSession` (tasks on the kernel's loop)."""

from ._backend import Backend, resolve_backend, shared_simulator
from ._bridge import Frontend, Inbox, Outbox
from ._session import STATUSES, VatelSession
from ._sync import run_sync
from ._tools import ToolRegistry, ToolResult

__all__ = [
    "STATUSES",
    "Backend",
    "Frontend",
    "Inbox",
    "Outbox",
    "ToolRegistry",
    "ToolResult",
    "VatelSession",
    "resolve_backend",
    "run_sync",
    "shared_simulator",
]
