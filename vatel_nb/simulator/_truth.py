"""Ground truth the simulator keeps for every session (what it detected, injected and sent).

Clocks: every ``t``-like field is ``time.perf_counter()`` seconds (absolute, this process; the
same clock as ``EventLog.t0`` when the simulator runs in the kernel). ``*_wall`` fields are UTC
ISO-8601 strings. ``*_sample`` fields are sample indices in the user's input stream (PCM16
24 kHz: seconds of audio = samples / 24000), counted from the session's first input sample;
``*_audio_s`` are the same positions in seconds of audio.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AudioChunk", "SentMessage", "SessionTruth", "SpeechSegment", "ToolTruth", "TurnTruth"]


@dataclass
class SentMessage:
    """One server → client message: ``t`` perf_counter just before it was handed to the socket."""

    type: str
    t: float
    turn_id: str | None = None
    samples: int | None = None
    is_final: bool | None = None
    text: str | None = None


@dataclass
class SpeechSegment:
    """One user speech segment found by the VAD.

    ``start_t``/``end_t``: perf_counter when the input chunk holding the onset / last voiced
    sample arrived. ``started_sent_t``: ``speech_started`` sent (after ``start_secs`` of speech).
    ``stop_decided_t``: the VAD heard ``stop_secs`` of silence; ``stopped_sent_t`` =
    ``stop_decided_t`` + ``endpointing`` (``speech_stopped`` sent). ``forced``: the stop came from
    stalled input, a new segment or the session's end rather than heard silence.
    """

    index: int
    start_sample: int
    start_audio_s: float
    start_t: float
    start_wall: str
    started_sent_t: float | None = None
    end_sample: int | None = None
    end_audio_s: float | None = None
    end_t: float | None = None
    end_wall: str | None = None
    stop_decided_t: float | None = None
    stopped_sent_t: float | None = None
    endpointing: float | None = None
    forced: bool = False
    transcript: str | None = None
    transcript_t: float | None = None
    transcription: float | None = None
    turn_id: str | None = None


@dataclass
class AudioChunk:
    """One ``response_audio`` chunk: ``offset`` (samples into the response), ``samples``,
    ``scheduled`` send time, ``jitter`` injected on top, ``t`` actual send time (perf_counter)."""

    offset: int
    samples: int
    scheduled: float
    jitter: float
    t: float


@dataclass
class ToolTruth:
    """One ``tool_call``: sent at ``t_sent``; ``output`` received at ``t_output`` (None if timed out)."""

    tool_call_id: str
    name: str
    arguments: dict[str, Any]
    t_sent: float
    t_output: float | None = None
    output: str | None = None
    timed_out: bool = False


@dataclass
class TurnTruth:
    """One agent response (``kind`` "greeting" for the first message, "reply" to a user segment).

    ``delays``: the injected delays sampled for it (s): endpointing, transcription, text,
    audio_first_byte. ``outcome``: responded | interrupted | cancelled (user spoke before the
    agent's audio) | silent (nothing to say). ``samples_meant`` vs ``samples_sent`` is the
    truncation of an interrupted turn; ``samples_played`` is what the agent's own real-time
    clock says had been played at the interruption.
    """

    turn_id: str
    kind: str
    user_segment: int | None = None
    user_transcript: str | None = None
    text: str = ""
    delays: dict[str, float] = field(default_factory=dict)
    t_final_transcript: float | None = None
    t_first_text: float | None = None
    t_first_audio: float | None = None
    t_last_audio: float | None = None
    samples_meant: int = 0
    samples_sent: int = 0
    leading_silence_samples: int | None = None
    interrupted: bool = False
    t_interruption: float | None = None
    samples_played: int | None = None
    outcome: str = "pending"
    tools: list[ToolTruth] = field(default_factory=list)
    chunks: list[AudioChunk] = field(default_factory=list)


@dataclass
class SessionTruth:
    """Everything about one session; ``t0`` = perf_counter at connection, ``wall0`` its UTC time."""

    session_id: str
    agent_id: str
    t0: float
    wall0: str
    asr_source: str
    voice: str
    vad: dict[str, float]
    sample_rate: int = 24_000
    segments: list[SpeechSegment] = field(default_factory=list)
    turns: list[TurnTruth] = field(default_factory=list)
    messages: list[SentMessage] = field(default_factory=list)
    input_chunks: list[tuple[float, int, int]] = field(default_factory=list)
    client_errors: list[dict[str, Any]] = field(default_factory=list)
    t_end: float | None = None
    end_reason: str | None = None

    def wall(self, t: float) -> str:
        """perf_counter ``t`` as UTC ISO-8601 (``wall0 + (t - t0)``)."""
        base = dt.datetime.fromisoformat(self.wall0.replace("Z", "+00:00"))
        return (base + dt.timedelta(seconds=t - self.t0)).isoformat().replace("+00:00", "Z")

    def turn(self, turn_id: str) -> TurnTruth:
        """The turn with this id (KeyError if none)."""
        for turn in self.turns:
            if turn.turn_id == turn_id:
                return turn
        raise KeyError(turn_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (what ``GET /_sim/sessions/{id}/ground-truth`` returns)."""
        return dataclasses.asdict(self)

    def frame(self):  # type: ignore[no-untyped-def]
        """Sent messages as a pandas DataFrame (columns of :class:`SentMessage`; ``t`` perf_counter)."""
        import pandas as pd

        return pd.DataFrame(
            [dataclasses.asdict(m) for m in self.messages], columns=list(SentMessage.__annotations__)
        )
