"""Simulated agents: configuration, reply functions, tools, and the built-in demo agent.

A **reply function** decides what the agent says. Signature::

    def reply(transcript: str, history: list[dict]) -> Reply | str | None

(or ``async def``). ``transcript`` is the final transcript of the user turn being answered.
``history`` is the whole conversation so far, oldest first, as plain dicts:

- ``{"role": "assistant", "text": str, "turn_id": str, "interrupted": bool}``
- ``{"role": "user", "text": str, "turn_id": str}``
- ``{"role": "tool", "tool_call_id": str, "name": str, "arguments": dict, "output": str | None,
  "timed_out": bool, "turn_id": str}``

It is called once per user turn (history ends with that user row) and again after each round of
tool outputs (history ends with the tool rows; ``output`` is None and ``timed_out`` True when the
client did not answer within the tool timeout). Return a :class:`Reply`, a plain string (= text
only) or None (= say nothing). Tool calls of a reply are sent before its text is spoken.
Runs on the simulator's event loop: keep it quick (it may be ``async``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._speech_model import check_vad_model
from ._latency import Latency
from ._repertoire import DEMO_PHRASES, intent

__all__ = [
    "DEMO_AGENT_ID",
    "DEMO_GREETING",
    "AgentSpec",
    "Reply",
    "ReplyFunction",
    "Tool",
    "ToolRequest",
    "add_demo_twin",
    "demo_reply",
]

#: The built-in demo agent's fixed id (always registered).
DEMO_AGENT_ID = "00000000-0000-4000-8000-00000000d3e0"
#: The simulator's one organization.
ORGANIZATION_ID = "00000000-0000-4000-8000-0000000000a1"


@dataclass(frozen=True)
class ToolRequest:
    """A tool the agent wants the client to run: ``name`` and ``arguments`` ``{name: JSON value}``."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What a reply function returns: text to speak, tool calls to make first, whether to hang up
    (after the text has been spoken)."""

    text: str = ""
    tool_calls: Sequence[ToolRequest] = ()
    end_call: bool = False


ReplyFunction = Callable[[str, list], Reply | str | Awaitable[Reply | str | None] | None]


@dataclass(frozen=True)
class Tool:
    """A client-side tool the agent may call. ``parameters``: ``{arg name: description}``."""

    name: str
    description: str = ""
    parameters: dict[str, str] = field(default_factory=dict)


_STORY = (
    "Once upon a time, a lighthouse keeper lived alone on a rock far out at sea. "
    "Every night she lit the lamp, and every morning she counted the ships that had passed safely."
)
_LONG_STORY = _STORY + (
    " One winter a storm blew for nine days. On the fifth night the lamp went out, and she climbed "
    "the stairs with a candle in each hand. Far below, a small fishing boat was turning towards the "
    "rocks. She held the candles up to the great lens, and the light came back, weak but steady. "
    "The boat turned away just in time. In the spring a letter came from the fisherman's daughter, "
    "with a drawing of a tiny lighthouse and the words: thank you for the light. "
    "She pinned it by the lamp, where it stayed for forty years. And that is the end of the story."
)
#: What the demo agent says first.
DEMO_GREETING = "Hello! I am the simulated agent. Ask me what time it is, here or in Tokyo."


def demo_reply(transcript: str, history: list) -> Reply:
    """The demo agent (repertoire: :mod:`vatel_nb.simulator._repertoire`). "What time is it (in
    <city>)?" calls ``get_time`` with the city's IANA zone (or an ``Area/City`` zone said as such,
    else UTC) and answers with that city's time; greetings, "tell me a (long) story", "stop",
    "wait", "thank you" and "goodbye" (which ends the call) get their answers; anything else is
    repeated back ("You said: …"). Deterministic."""
    last = history[-1] if history else {}
    if last.get("role") == "tool":
        if last.get("timed_out"):
            return Reply("Sorry, I could not get the time: the tool timed out.")
        users = [h for h in history if h.get("role") == "user"]
        asked = intent(users[-1]["text"]) if users else None
        if asked is not None and asked.city:
            return Reply(f"In {asked.city} it is {last.get('output')}.")
        return Reply(f"It is {last.get('output')}.")
    if not transcript.strip():
        return Reply("Sorry, I did not catch that.")
    it = intent(transcript)
    if it is None:
        return Reply(f"You said: {transcript.strip()}")
    if it.name == "time":
        return Reply(tool_calls=[ToolRequest("get_time", {"timezone": it.zone or "UTC"})])
    answers = {
        "greeting": "Hello! Ask me what time it is, here or in Tokyo.",
        "story": _LONG_STORY if it.long else _STORY,
        "stop": "Okay, I stopped.",
        "wait": "Sure, I am waiting.",
        "thanks": "You are welcome!",
    }
    if it.name == "goodbye":
        return Reply("Goodbye!", end_call=True)
    return Reply(answers[it.name])


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class AgentSpec:
    """One simulated agent (see :meth:`Simulator.add_agent` for the meaning of each field)."""

    name: str
    first_message: str = ""
    prompt: str = ""
    vad_settings: dict[str, float] = field(default_factory=lambda: {"start_secs": 0.2, "stop_secs": 0.5})
    reply: ReplyFunction = demo_reply
    tools: Sequence[Tool] = ()
    latency: Latency | None = None
    script: list[str] | None = None
    idle_timeout: float | None = None
    tool_timeout: float | None = None
    phrases: Sequence[str] | None = None
    talk_over_user: bool = False
    vad_model: str = "energy"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        vad = {"start_secs": 0.2, "stop_secs": 0.5, **dict(self.vad_settings)}
        for k in ("start_secs", "stop_secs"):
            if not isinstance(vad[k], (int, float)) or vad[k] < 0:
                raise ValueError(f"vad_settings[{k!r}] must be seconds >= 0, got {vad[k]!r}")
        self.vad_settings = vad
        if not callable(self.reply):
            raise TypeError(
                f"reply must be a callable (transcript, history) -> Reply | str | None, got {self.reply!r}"
            )
        check_vad_model(self.vad_model)
        uuid.UUID(self.id)

    def tool(self, name: str) -> Tool | None:
        return next((t for t in self.tools if t.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The agent as Vatel's ``Agent`` schema."""
        out: dict[str, Any] = {
            "id": self.id,
            "phone_number_id": "",
            "name": self.name,
            "llm": "simulator/reply-function",
            "fallback_llm": "simulator/reply-function",
            "status": "active",
            "prompt": self.prompt,
            "first_message": self.first_message,
            "first_message_interruption_time": 0,
            "default_language": "en",
            "summarize_calls": False,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "noise_cancel_settings": {"enabled": False, "level": 0},
            "vad_settings": dict(self.vad_settings),
            "enable_first_message_outbound": False,
            "voice_settings": {"id": "simulator"},
            "keyterms": [],
        }
        if self.idle_timeout is not None:
            out["timeout_settings"] = {"default_timeout": self.idle_timeout, "timeout_action": "end_call"}
        return out


def demo_agent() -> AgentSpec:
    """The built-in demo agent (id :data:`DEMO_AGENT_ID`)."""
    return AgentSpec(
        id=DEMO_AGENT_ID,
        name="Simulator demo agent",
        first_message=DEMO_GREETING,
        prompt="You are a friendly demo agent. Use get_time when asked the time.",
        vad_settings={"start_secs": 0.2, "stop_secs": 0.5},
        reply=demo_reply,
        phrases=DEMO_PHRASES,
        vad_model="auto",
        tools=[
            Tool("get_time", "Current time in a time zone", {"timezone": "IANA time zone name, e.g. UTC"})
        ],
    )


def add_demo_twin(sim: Any, name: str, lines: Sequence[str], *, latency: Any = None) -> str:
    """Register on ``sim`` an agent like the demo agent (greeting, ``get_time`` tool, demo replies,
    VAD start 0.2 s / stop 0.5 s) whose scripted transcripts are ``lines``; returns its id.

    ``latency``: injected delays (:class:`~vatel_nb.simulator.Latency`) for that agent."""
    return sim.add_agent(
        name,
        first_message="Hello! I am the simulated agent. Ask me what time it is.",
        prompt="You are a friendly demo agent. Use get_time when asked the time.",
        reply=demo_reply,
        tools=[Tool("get_time", "Current time in a time zone", {"timezone": "IANA time zone name"})],
        vad_settings={"start_secs": 0.2, "stop_secs": 0.5},
        latency=latency,
        script=list(lines),
    )
