"""ToolRegistry: how a tool_call's name and arguments become a Python call and an output string."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from vatel_nb.session import ToolRegistry


def run(coro):
    return asyncio.run(coro)


def test_sync_tool_runs_in_a_worker_thread_and_returns_its_string():
    seen = {}

    def get_time(timezone: str) -> str:
        seen["thread"] = threading.current_thread()
        return f"12:00 in {timezone}"

    reg = ToolRegistry({"get_time": get_time})
    res = run(reg.run("get_time", {"timezone": "Europe/Paris"}))
    assert (res.output, res.error, res.unknown) == ("12:00 in Europe/Paris", False, False)
    assert seen["thread"] is not threading.main_thread()
    assert res.duration_ms >= 0


def test_async_tool_and_non_string_result_is_json():
    reg = ToolRegistry()

    @reg.decorator("lookup")
    async def lookup(city: str, n: int = 2) -> dict:
        await asyncio.sleep(0)
        return {"city": city, "n": n, "temps": [1.5, 2]}

    res = run(reg.run("lookup", {"city": "Oslo"}))
    assert not res.error
    assert json.loads(res.output) == {"city": "Oslo", "n": 2, "temps": [1.5, 2]}


def test_decorator_without_name_uses_function_name():
    reg = ToolRegistry()

    @reg.decorator
    def ping() -> str:
        return "pong"

    assert reg.names == ["ping"] and "ping" in reg
    assert run(reg.run("ping", {})).output == "pong"


def test_raising_tool_gives_an_error_string():
    def boom(x: int) -> str:
        raise ValueError(f"bad x {x}")

    res = run(ToolRegistry({"boom": boom}).run("boom", {"x": 3}))
    assert res.error and res.output == "error: ValueError: bad x 3"


def test_unknown_tool_names_the_registered_ones():
    reg = ToolRegistry({"b": lambda: 1, "a": lambda: 2})
    res = run(reg.run("nope", {}))
    assert res.error and res.unknown
    assert res.output == "unknown tool 'nope'; registered tools: a, b"


def test_extra_arguments_are_ignored_and_reported_missing_ones_are_an_error():
    def f(a: int) -> int:
        return a * 2

    reg = ToolRegistry({"f": f})
    res = run(reg.run("f", {"a": 4, "zzz": 1, "extra": 2}))
    assert (res.output, res.error, res.ignored) == ("8", False, ("extra", "zzz"))
    res = run(reg.run("f", {"b": 1}))
    assert res.error and res.output.startswith("error: TypeError: missing a required argument: 'a'")
    assert "'b'" in res.output


def test_var_kwargs_tool_gets_everything():
    res = run(ToolRegistry({"k": lambda **kw: sorted(kw)}).run("k", {"x": 1, "y": 2}))
    assert json.loads(res.output) == ["x", "y"] and res.ignored == ()


def test_registering_a_non_callable_is_a_clear_error():
    with pytest.raises(TypeError, match="must be callable"):
        ToolRegistry({"x": 3})
