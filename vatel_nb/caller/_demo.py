"""A simulator for headless demos: the demo agent, with transcripts that follow the script.

Headless runs know what the user says, so the simulator can use *scripted* transcription (the
script's lines, one per speech segment) instead of a speech recognizer — deterministic, and no
recognizer competes for the CPU (pocketsphinx, run in-process, holds the GIL while it decodes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["demo_simulator"]


def demo_simulator(lines: Sequence[str], *, latency: Any = None, **simulator_kwargs: Any) -> tuple[Any, str]:
    """Start a :class:`~vatel_nb.simulator.Simulator` in its own thread with an agent like the demo
    agent (greeting, ``get_time`` tool, echo, goodbye) whose transcripts are ``lines`` in order.

    ``latency``: injected delays (:class:`~vatel_nb.simulator.Latency`) for that agent.
    Returns ``(sim, agent_id)``; stop it with ``sim.close()``.
    """
    from ..simulator import Simulator
    from ..simulator._agents import add_demo_twin

    sim = Simulator(asr="scripted", **simulator_kwargs)
    sim.__enter__()
    try:
        agent = add_demo_twin(sim, "Simulator demo agent (scripted transcripts)", lines, latency=latency)
    except BaseException:
        sim.close()
        raise
    return sim, agent
