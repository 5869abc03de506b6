"""What the simulator's routes share: agents, live sessions, bounded call records, settings."""

from __future__ import annotations

from typing import Any

from ._agents import AgentSpec
from ._conversation import Session, SessionConfig
from ._latency import Latency
from ._profiles import WireProfile
from ._records import CallRecord, utc_iso
from ._tokens import TokenSigner

__all__ = ["SimulatorState"]


class SimulatorState:
    """What the routes see: agents, live sessions, call records, token signer, settings."""

    def __init__(
        self,
        api_key: str,
        signer: TokenSigner,
        config: SessionConfig,
        latency: Latency,
        *,
        max_calls: int = 1000,
        max_recordings: int = 100,
        max_body_bytes: int = 64 * 1024,
    ) -> None:
        self.api_key = api_key
        self.signer = signer
        self.config = config
        self.latency = latency
        self.max_calls = max_calls
        self.max_recordings = max_recordings
        self.max_body_bytes = max_body_bytes
        self.agents: dict[str, AgentSpec] = {}
        self.sessions: dict[str, Session] = {}
        self.calls: dict[str, CallRecord] = {}
        self.agent_latency: dict[str, Latency] = {}
        self.live_tokens: set[str] = set()  # jti of the tokens with a live call
        self._finished: list[str] = []  # ids of finished calls, oldest first
        self.created_at = utc_iso()
        self.stopping = False

    @property
    def profile(self) -> WireProfile:
        return self.config.profile

    async def run_session(self, ws: Any, agent: AgentSpec, params: dict[str, Any], jti: str = "") -> None:
        latency = self.agent_latency.get(agent.id) or agent.latency or self.latency
        session = Session(ws, agent, params, self.config, latency)
        self.sessions[session.id] = session
        self.calls[session.id] = session.record
        try:
            await session.run()
        finally:
            self.live_tokens.discard(jti)
            self._finished.append(session.id)
            self._forget_old_calls()

    def _forget_old_calls(self) -> None:
        """Keep the newest ``max_calls`` finished calls, and recordings of the newest ``max_recordings``."""
        finished = self._finished
        while len(finished) > self.max_calls:
            old = finished.pop(0)
            self.sessions.pop(old, None)
            self.calls.pop(old, None)
        if len(finished) > self.max_recordings:
            record = self.calls.get(finished[len(finished) - self.max_recordings - 1])
            if record is not None:
                record.drop_audio()
