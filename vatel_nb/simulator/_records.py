"""Call records: what ``GET /v1/calls`` / ``/v1/calls/{id}`` / ``/recording`` return.

Each session is one call (id = session id, ``source`` "api"). Its transcript follows Vatel's
``TranscriptEntry`` (message rows for user and assistant, tool_call and tool_call_output rows,
interruption rows). The recording is a stereo PCM16 24 kHz WAV, user on the left, agent on the
right, both placed on the server's clock (perf_counter − session start): a user chunk ends when
it arrived; an agent chunk starts when it was sent or when the previous one finished playing,
whichever is later (the agent's real-time playout clock).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from .._audio import wav_bytes
from ..protocol import SAMPLE_RATE

__all__ = ["CallRecord", "utc_iso"]


def utc_iso(when: dt.datetime | None = None) -> str:
    """RFC 3339 UTC timestamp, e.g. ``2026-11-23T23:06:38.123456Z``."""
    when = when or dt.datetime.now(dt.timezone.utc)
    return when.isoformat().replace("+00:00", "Z")


class CallRecord:
    """One call; ``t0`` is perf_counter at its start (times below are perf_counter seconds)."""

    def __init__(self, call_id: str, agent_id: str, t0: float, wall0: dt.datetime) -> None:
        self.id = call_id
        self.agent_id = agent_id
        self.t0 = t0
        self.wall0 = wall0
        self.created_at = utc_iso(wall0)
        self.started_at: str | None = None
        self.ended_at: str | None = None
        self.status = "connected"
        self.termination_reason: str | None = None
        self.entries: list[dict[str, Any]] = []
        self._user: list[tuple[int, np.ndarray]] = []  # (start sample on the call clock, pcm)
        self._agent: list[tuple[int, np.ndarray]] = []
        self._user_cursor = 0
        self._agent_cursor = 0
        self.has_recording = True

    def wall(self, t: float) -> str:
        return utc_iso(self.wall0 + dt.timedelta(seconds=t - self.t0))

    def add_entry(self, type: str, t: float, **fields: Any) -> dict[str, Any]:
        """Append a TranscriptEntry (``createdAt`` from perf_counter ``t``); returns it for later edits."""
        entry: dict[str, Any] = {"type": type, "role": fields.pop("role", ""), "createdAt": self.wall(t)}
        entry.update({k: v for k, v in fields.items() if v is not None})
        self.entries.append(entry)
        return entry

    def add_user_audio(self, t_arrival: float, pcm: np.ndarray) -> None:
        end = round((t_arrival - self.t0) * SAMPLE_RATE)
        start = max(self._user_cursor, end - pcm.size)
        self._user.append((start, pcm))
        self._user_cursor = start + pcm.size

    def add_agent_audio(self, t_sent: float, pcm: np.ndarray) -> None:
        start = max(self._agent_cursor, round((t_sent - self.t0) * SAMPLE_RATE))
        self._agent.append((start, pcm))
        self._agent_cursor = start + pcm.size

    def end(self, t: float, reason: str) -> None:
        if self.status == "ended":
            return
        self.status = "ended"
        self.ended_at = self.wall(t)
        self.termination_reason = reason
        self._t_end = t

    def to_json(self, transcript: bool = True) -> dict[str, Any]:
        """The call as Vatel's ``Call`` schema."""
        out: dict[str, Any] = {
            "id": self.id,
            "agent_id": self.agent_id,
            "organization_id": "00000000-0000-4000-8000-0000000000a1",
            "party_number": "",
            "status": self.status,
            "source": "api",
            "outbound": False,
            "created_at": self.created_at,
            "connected_at": self.created_at,
            "extracted_variables": [],
            "tags": [],
            "cost": 0.0,
        }
        if self.started_at:
            out["started_at"] = self.started_at
        if self.ended_at:
            out["ended_at"] = self.ended_at
            out["termination_reason"] = self.termination_reason or ""
            out["duration_seconds"] = round(self._t_end - self.t0)
        if transcript:
            out["transcript"] = {"entries": [{"index": i, **e} for i, e in enumerate(self.entries)]}
        return out

    def drop_audio(self) -> None:
        """Forget the recording's audio (the simulator keeps only the newest calls' recordings)."""
        self._user, self._agent, self.has_recording = [], [], False

    def wav(self) -> bytes:
        """The stereo recording (left user, right agent) as WAV bytes (check ``has_recording``)."""
        n = max(self._user_cursor, self._agent_cursor)
        stereo = np.zeros((n, 2), dtype=np.int16)
        for channel, parts in ((0, self._user), (1, self._agent)):
            for start, pcm in parts:
                stereo[start : start + pcm.size, channel] = pcm
        return wav_bytes(stereo, SAMPLE_RATE)
