"""Client-side tools: Python functions the agent can call by name during a voice session.

A ``tool_call`` from the server names a tool and carries arguments (``ToolCall.kwargs``,
name → JSON value). :class:`ToolRegistry` finds the function, binds the arguments to its
signature, runs it (async functions on the loop; plain ones in a worker thread so the loop never
blocks) and turns the outcome into the ``tool_call_output`` string:

- a ``str`` return value is sent as it is; anything else is JSON text (``default=str``);
- an exception becomes ``"error: <Type>: <message>"``;
- an unknown name becomes ``"unknown tool 'x'; registered tools: a, b"``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ToolRegistry", "ToolResult"]


@dataclass(frozen=True)
class ToolResult:
    """What running one tool call gave: the ``output`` string sent to the server.

    ``error`` is True for an exception, an unknown tool or arguments that could not be bound;
    ``ignored`` lists argument names the function does not accept (dropped, not an error);
    ``duration_ms`` is kernel-clock wall time of the run.
    """

    output: str
    error: bool
    duration_ms: float
    ignored: tuple[str, ...] = field(default=())
    unknown: bool = False


class ToolRegistry:
    """Named Python functions (sync or async) callable by the agent."""

    def __init__(self, tools: dict[str, Callable[..., Any]] | None = None) -> None:
        self._tools: dict[str, Callable[..., Any]] = {}
        for name, fn in (tools or {}).items():
            self.register(fn, name)

    def register(self, fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
        """Register ``fn`` under ``name`` (default ``fn.__name__``); returns ``fn`` unchanged."""
        if not callable(fn):
            raise TypeError(f"a tool must be callable, got {type(fn).__name__}; pass a function")
        name = name or getattr(fn, "__name__", None)
        if not isinstance(name, str) or not name:
            raise ValueError("a tool needs a non-empty name: register(fn, 'name')")
        self._tools[name] = fn
        return fn

    def decorator(self, name_or_fn: Any = None) -> Any:
        """``@reg.decorator`` or ``@reg.decorator("name")``: register the decorated function."""
        if callable(name_or_fn):
            return self.register(name_or_fn)
        return lambda fn: self.register(fn, name_or_fn)

    @property
    def names(self) -> list[str]:
        """Registered tool names, sorted."""
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    async def run(self, name: str, kwargs: dict[str, Any]) -> ToolResult:
        """Run tool ``name`` with ``kwargs``; never raises (failures become an error output)."""
        t0 = time.perf_counter()

        def done(
            output: str, error: bool, ignored: tuple[str, ...] = (), unknown: bool = False
        ) -> ToolResult:
            return ToolResult(output, error, (time.perf_counter() - t0) * 1000.0, ignored, unknown)

        fn = self._tools.get(name)
        if fn is None:
            known = ", ".join(self.names) or "(none)"
            return done(f"unknown tool {name!r}; registered tools: {known}", True, unknown=True)
        try:
            call_kwargs, ignored = _bind(fn, kwargs)
        except TypeError as e:
            return done(f"error: TypeError: {e}", True)
        try:
            if _is_async(fn):
                value = await fn(**call_kwargs)
            else:
                loop = asyncio.get_running_loop()
                value = await loop.run_in_executor(None, functools.partial(fn, **call_kwargs))
                if inspect.isawaitable(value):
                    value = await value
        except asyncio.CancelledError:
            raise
        except Exception as e:
            return done(f"error: {type(e).__name__}: {e}", True, ignored)
        return done(_to_output(value), False, ignored)


def _bind(fn: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Keep the arguments ``fn`` accepts; report the others. Missing required ones raise TypeError."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return dict(kwargs), ()
    params = sig.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        accepted = dict(kwargs)
    else:
        ok = {
            n
            for n, p in params.items()
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        }
        accepted = {k: v for k, v in kwargs.items() if k in ok}
    ignored = tuple(sorted(set(kwargs) - set(accepted)))
    try:
        sig.bind(**accepted)
    except TypeError as e:
        raise TypeError(f"{e} (the tool call gave: {sorted(kwargs) or 'no arguments'})") from None
    return accepted, ignored


def _to_output(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _is_async(fn: Callable[..., Any]) -> bool:
    """True for ``async def`` functions and objects whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)
