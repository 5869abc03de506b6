"""Run a coroutine to completion from plain (non-async) notebook code.

In a Jupyter cell the kernel's event loop is already running, so ``asyncio.run`` and
``loop.run_until_complete`` refuse. :func:`run_sync` applies ``nest_asyncio`` to that loop, and
only then — never at import, never when no loop is running — so comms and the session's
tasks keep flowing while the cell waits. Prefer ``await`` in cells; this is a convenience.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")

_patched: set[int] = set()


def run_sync(awaitable: Awaitable[T], *, loop: asyncio.AbstractEventLoop | None = None) -> T:
    """Wait for ``awaitable`` and return its result (its exception propagates).

    ``loop``: the loop to run it on (default: the one running in this thread, else a fresh one
    via ``asyncio.run``). Applies ``nest_asyncio`` to a loop that is already running.
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    target = loop or running
    if target is None:
        return asyncio.run(_wrap(awaitable))
    if running is not None and target is not running:
        raise RuntimeError(
            "run_sync was called on a thread whose running loop is not the session's loop; "
            "call it from the notebook cell (main thread) or use `await` instead"
        )
    if target.is_running():
        _nest(target)
    return target.run_until_complete(_wrap(awaitable))


async def _wrap(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _nest(loop: Any) -> None:
    if id(loop) in _patched:
        return
    import nest_asyncio

    nest_asyncio.apply(loop)
    _patched.add(id(loop))
