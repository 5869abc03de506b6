"""Client → server messages of the Vatel voice socket, and the value for unparseable frames."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._fields import _get

__all__ = ["InputAudio", "InvalidMessage", "ToolCallOutput"]


@dataclass(frozen=True, slots=True)
class InputAudio:
    """``input_audio``: one chunk of user microphone audio, base64 PCM16 mono 24 kHz."""

    audio: str
    extra: Mapping[str, Any] | None = field(default=None, compare=False, repr=False, kw_only=True)
    type: ClassVar[str] = "input_audio"
    _FIELDS: ClassVar[frozenset[str]] = frozenset({"audio"})

    def pcm(self) -> bytes:
        """The chunk as raw PCM16 bytes (invalid base64 raises ``binascii.Error``)."""
        return base64.b64decode(self.audio, validate=True)

    @classmethod
    def from_pcm(cls, pcm: bytes) -> InputAudio:
        """Build a chunk from raw PCM16 bytes (base64 is done here)."""
        return cls(base64.b64encode(pcm).decode("ascii"))

    @classmethod
    def _from_data(cls, d: dict) -> InputAudio:
        return cls(_get(d, "audio", str))

    def _data(self) -> dict:
        return {"audio": self.audio}


@dataclass(frozen=True, slots=True)
class ToolCallOutput:
    """``tool_call_output``: the client's result string for a prior ``tool_call``."""

    tool_call_id: str
    output: str
    extra: Mapping[str, Any] | None = field(default=None, compare=False, repr=False, kw_only=True)
    type: ClassVar[str] = "tool_call_output"
    _FIELDS: ClassVar[frozenset[str]] = frozenset({"toolCallId", "output"})

    @classmethod
    def _from_data(cls, d: dict) -> ToolCallOutput:
        return cls(_get(d, "toolCallId", str), _get(d, "output", str))

    def _data(self) -> dict:
        return {"toolCallId": self.tool_call_id, "output": self.output}


@dataclass(frozen=True, slots=True)
class InvalidMessage:
    """A message that could not be parsed. Nothing is lost: ``raw`` is the text as received.

    ``error`` says what was wrong; ``message_type`` is the ``type`` field when one was readable
    (so an unknown-but-well-formed event can still be logged by name); ``turn_id`` is
    ``data.turn_id`` when it was a string (a broken audio chunk still names its turn).
    """

    raw: str
    error: str
    message_type: str | None = None
    turn_id: str | None = None
    type: ClassVar[str] = "invalid"
