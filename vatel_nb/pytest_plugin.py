"""pytest plugin (registered as the ``pytest11`` entry point ``vatel_nb``): agent tests as
ordinary pytest tests, with the ``vatel_agent`` fixture.

Example::

    def test_time_tool(vatel_agent):
        call = vatel_agent.call(["What time is it?"], expect=[{"tool_call": "get_time"}])
        assert call.passed, call.failures
        assert call.tool_calls == [("get_time", {"timezone": "UTC"})]
        assert call.turns["v2v_ms"].max() < 2000

Lines, ``expect`` and ``budgets`` use the suite file's schema (docs/suites.md) as Python values.
Where calls go: ``--vatel-base-url``/``--vatel-api-key``/``--vatel-agent-id`` (or ``$VATEL_*``),
else an embedded simulator with the demo agent; ``--vatel-sim-latency STAGE=SECONDS`` injects
delays there. Each call's files go under the test's ``tmp_path``. Importing this module is
cheap (it lives outside ``vatel_nb.suite`` so that package's pandas/pyarrow imports do not load
into every pytest run on the machine): the kit is imported when the fixture is first used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["AgentCall", "VatelAgent", "vatel_agent"]


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("vatel_nb", "vatel-nb agent tests")
    g.addoption(
        "--vatel-base-url", default=None, help="Vatel server root for vatel_agent (default: simulator)"
    )
    g.addoption("--vatel-api-key", default=None, help="API key for vatel_agent (default $VATEL_API_KEY)")
    g.addoption("--vatel-agent-id", default=None, help="agent for vatel_agent (default $VATEL_AGENT_ID)")
    g.addoption(
        "--vatel-sim-latency", action="append", default=[], metavar="STAGE=SECONDS", help="simulator delays"
    )


@dataclass
class AgentCall:
    """One call made by :meth:`VatelAgent.call`: the suite run's tables for it, plus shortcuts."""

    result: Any  # vatel_nb.suite.SuiteResult

    @property
    def turns(self) -> Any:
        """Its turns (:func:`vatel_nb.analysis.turns` columns)."""
        return self.result.turns

    @property
    def call(self) -> dict[str, Any]:
        """Its row of the calls table (status, ended_by, duration_s, pacing, per-metric p50…)."""
        return self.result.calls.iloc[0].to_dict()

    @property
    def expectations(self) -> Any:
        return self.result.expectations

    @property
    def passed(self) -> bool:
        return self.result.passed

    @property
    def failures(self) -> list[str]:
        """One line per failed expectation (empty when it passed) — good as an assert message."""
        return self.result.failure_lines()

    @property
    def folder(self) -> Path:
        """Its session folder (``vatel_nb.log.load_session``)."""
        return (
            self.result.out
            / "sessions"
            / self.result.suite.scenarios[0].name
            / f"{self.result.suite.scenarios[0].name}-000"
        )

    @property
    def agent_text(self) -> str:
        """Everything the agent said, in order."""
        return " ".join(str(t) for t in self.turns["agent_text"].dropna() if str(t))

    @property
    def tool_calls(self) -> list[tuple[str, dict[str, Any]]]:
        """``(name, arguments)`` of each tool call the agent made."""
        from .log import load_session
        from .suite._expect import tool_calls

        return [(n, a) for _, n, a in tool_calls(load_session(self.folder).frame())]


class VatelAgent:
    """What the ``vatel_agent`` fixture gives: :meth:`call` and :meth:`run_suite`."""

    def __init__(self, tmp_path: Path, where: dict[str, Any], sim_latency: list[str]) -> None:
        self._tmp = tmp_path
        self._where = where
        self._latency = sim_latency
        self._n = 0

    def call(
        self,
        say: list[Any],
        *,
        expect: list[dict[str, Any]] = (),  # type: ignore[assignment]
        budgets: list[dict[str, Any]] = (),  # type: ignore[assignment]
        name: str = "call",
        tools: dict[str, Any] | None = None,
        reply_timeout: float = 10.0,
    ) -> AgentCall:
        """Make one scripted call saying ``say`` (strings or ``{text|wav, think, barge_in}``) and
        check ``expect`` / ``budgets`` (suite-schema tables). Raises ``SuiteError`` on bad input."""
        from .suite import parse_suite, run

        self._n += 1
        data: dict[str, Any] = {
            "suite": {"name": "pytest", "repeats": 1, "concurrency": 1, "reply_timeout": reply_timeout},
            "scenario": [{"name": name, "say": list(say), "expect": list(expect), "budget": list(budgets)}],
        }
        if tools:
            data["tools"] = tools
        suite = parse_suite(data, base=Path.cwd())
        out = self._tmp / f"vatel-call-{self._n}"
        result = run(
            suite, out, progress="none", report=False, sim_latency=self._latency or None, **self._where
        )
        return AgentCall(result)

    def run_suite(self, path: str | Path, **kwargs: Any) -> Any:
        """Run a suite file (same options as :func:`vatel_nb.suite.run`); returns its SuiteResult."""
        from .suite import run

        self._n += 1
        kwargs.setdefault("progress", "none")
        if self._latency:
            kwargs.setdefault("sim_latency", self._latency)
        return run(path, self._tmp / f"vatel-suite-{self._n}", **{**self._where, **kwargs})


@pytest.fixture
def vatel_agent(request: pytest.FixtureRequest, tmp_path: Path) -> VatelAgent:
    """Call the agent under test from a test: ``vatel_agent.call([...], expect=[...])``."""
    opt = request.config.getoption
    where = {
        "base_url": opt("--vatel-base-url"),
        "api_key": opt("--vatel-api-key"),
        "agent_id": opt("--vatel-agent-id"),
    }
    return VatelAgent(tmp_path, where, list(opt("--vatel-sim-latency") or []))
