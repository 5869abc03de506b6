"""Where a suite's calls go: a real Vatel service, or an embedded simulator with the demo agent.

On the simulator each scenario gets its own twin of the demo agent (same greeting, VAD, tools and
reply function) whose *scripted* recognizer hears that scenario's lines in order: deterministic,
and no speech recognizer competes with the callers for the CPU. ``--sim-latency`` sets the
simulator's injected per-stage delays (:class:`vatel_nb.simulator.Latency`).
"""

from __future__ import annotations

import os
from dataclasses import fields
from typing import Any

from .._errors import ConfigurationError
from ._call import Target
from ._schema import Suite, SuiteError

__all__ = ["EmbeddedSimulator", "parse_sim_latency", "resolve_target"]


def parse_sim_latency(specs: list[str] | dict[str, float] | None) -> dict[str, float]:
    """``["text=0.2", "audio_first_byte=0.1"]`` (or a dict) → ``{stage: seconds}``, validated."""
    from ..simulator import Latency

    stages = [f.name for f in fields(Latency)]
    items = specs.items() if isinstance(specs, dict) else [str(s).partition("=")[::2] for s in specs or []]
    out: dict[str, float] = {}
    for stage, value in items:
        stage = str(stage).strip()
        if stage not in stages:
            raise SuiteError(
                f"--sim-latency {stage}: unknown stage; use one of {', '.join(stages)} (STAGE=SECONDS)"
            )
        try:
            out[stage] = float(value)
        except (TypeError, ValueError):
            raise SuiteError(f"--sim-latency {stage}={value}: SECONDS must be a number") from None
        if out[stage] < 0:
            raise SuiteError(f"--sim-latency {stage}={value}: SECONDS must be >= 0")
    return out


class EmbeddedSimulator:
    """A :class:`~vatel_nb.simulator.Simulator` in its own thread with one demo-agent twin per
    scenario. Use as a context manager; :attr:`target` says where to call."""

    def __init__(self, suite: Suite, latency: dict[str, float] | None = None) -> None:
        self.suite = suite
        self.latency = dict(latency or {})
        self.sim: Any = None
        self.target: Target | None = None

    def __enter__(self) -> EmbeddedSimulator:
        from ..simulator import Latency, Simulator, Tool, demo_reply

        self.sim = Simulator(asr="scripted").__enter__()
        try:
            agents = {}
            for sc in self.suite.scenarios:
                agents[sc.name] = self.sim.add_agent(
                    f"Simulator demo agent ({sc.name})",
                    first_message="Hello! I am the simulated agent. Ask me what time it is.",
                    prompt="You are a friendly demo agent. Use get_time when asked the time.",
                    reply=demo_reply,
                    tools=[
                        Tool("get_time", "Current time in a time zone", {"timezone": "IANA time zone name"})
                    ],
                    vad_settings={"start_secs": 0.2, "stop_secs": 0.5},
                    latency=Latency(**self.latency) if self.latency else None,
                    script=[ln.transcript for ln in sc.lines],
                )
        except BaseException:
            self.sim.close()
            raise
        self.target = Target(self.sim.base_url, self.sim.api_key, agents, simulated=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sim is not None:
            self.sim.close()
            self.sim = None


def resolve_target(
    suite: Suite, *, base_url: str | None, api_key: str | None, agent_id: str | None
) -> Target | None:
    """A real service's :class:`Target` from the arguments, then ``$VATEL_*``; None = use the
    embedded simulator (nothing set anywhere). Raises ConfigurationError when half is set."""
    env = os.environ.get
    url, key = base_url or env("VATEL_BASE_URL"), api_key or env("VATEL_API_KEY")
    if not (url or key):
        if agent_id:
            raise ConfigurationError("--agent-id needs --api-key (or VATEL_API_KEY): which service to call?")
        return None
    agent = agent_id or suite.agent_id or env("VATEL_AGENT_ID")
    if not agent:
        raise ConfigurationError("no agent id: pass --agent-id, set agent_id in [suite] or VATEL_AGENT_ID")
    if not key:
        raise ConfigurationError("a base URL but no API key: pass --api-key or set VATEL_API_KEY")
    from ..session import resolve_backend

    backend = resolve_backend(agent, key, url)
    return Target(str(backend.base_url), backend.api_key or "", {s.name: agent for s in suite.scenarios})
