"""Where a suite's calls go: a real Vatel service, or an embedded simulator with the demo agent.

The embedded simulator runs in a process of its own (spawned), so it never shares an interpreter
lock with the callers it is measured by.

On the simulator each scenario gets its own twin of the demo agent (same greeting, VAD, tools and
reply function) whose *scripted* recognizer hears that scenario's lines in order: deterministic,
and no speech recognizer competes with the callers for the CPU. ``--sim-latency`` sets the
simulator's injected per-stage delays (:class:`vatel_nb.simulator.Latency`).
"""

from __future__ import annotations

import contextlib
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


def _serve(suite: Suite, latency: dict[str, float], conn: Any) -> None:
    """The simulator process: start it with one demo-agent twin per scenario, send back
    ``(base_url, api_key, {scenario: agent_id})``, serve until told to stop (anything on ``conn``)."""
    import gc

    from ..simulator import Latency, Simulator
    from ..simulator._agents import add_demo_twin

    with Simulator(asr="scripted") as sim:
        agents = {
            sc.name: add_demo_twin(
                sim,
                f"Simulator demo agent ({sc.name})",
                [ln.transcript for ln in sc.lines],
                latency=Latency(**latency) if latency else None,
            )
            for sc in suite.scenarios
        }
        gc.collect()
        gc.freeze()  # a dedicated server process: keep full collections short (see `vatel-nb simulator`)
        conn.send((sim.base_url, sim.api_key, agents))
        try:
            conn.recv()
        except EOFError:
            pass


class EmbeddedSimulator:
    """A :class:`~vatel_nb.simulator.Simulator` in its own (spawned) process, with one demo-agent
    twin per scenario. Its own process, so its VAD, voice and pacing never compete with the
    callers for one interpreter lock. Use as a context manager; :attr:`target` says where to call."""

    def __init__(self, suite: Suite, latency: dict[str, float] | None = None) -> None:
        self.suite = suite
        self.latency = dict(latency or {})
        self.target: Target | None = None
        self._proc: Any = None
        self._conn: Any = None

    def __enter__(self) -> EmbeddedSimulator:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_serve, args=(self.suite, self.latency, child), name="vatel-suite-simulator", daemon=True
        )
        self._proc.start()
        child.close()
        if not self._conn.poll(60):
            self.__exit__()
            raise RuntimeError("the embedded simulator did not start within 60 s")
        try:
            url, key, agents = self._conn.recv()
        except EOFError:
            self.__exit__()
            raise RuntimeError("the embedded simulator process exited while starting") from None
        self.target = Target(url, key, agents, simulated=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, BrokenPipeError):
                self._conn.send("stop")
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(timeout=5)
            self._proc = None


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
