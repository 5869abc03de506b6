"""Server → client messages of the Vatel voice socket (``VoiceSessionServerMessage`` branches).

One frozen slotted dataclass per ``type``; ``message.type`` is a class attribute. Field names are
Python-style; ``_data()`` gives the wire's ``data`` object (wire names, e.g. ``toolCallId``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ._fields import _FieldError, _get

__all__ = [
    "InputAudioTranscript",
    "Interruption",
    "ResponseAudio",
    "ResponseText",
    "SessionEnded",
    "SessionStarted",
    "SpeechStarted",
    "SpeechStopped",
    "ToolArgument",
    "ToolCall",
    "decode_pcm16",
]


def decode_pcm16(audio: str) -> bytes:
    """Base64 text → PCM16 bytes, strictly: invalid base64 or an odd byte count → ``_FieldError``."""
    try:
        pcm = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError) as e:
        raise _FieldError(f"data.audio is not valid base64 ({e})") from None
    if len(pcm) % 2:
        raise _FieldError(f"data.audio decodes to {len(pcm)} bytes: not whole PCM16 samples (2 bytes each)")
    return pcm


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """``session_started``: the call began; ``id`` is the session id, which is also the call id."""

    id: str
    extra: Mapping[str, Any] | None = field(default=None, compare=False, repr=False, kw_only=True)
    type: ClassVar[str] = "session_started"
    _FIELDS: ClassVar[frozenset[str]] = frozenset({"id"})

    @classmethod
    def _from_data(cls, d: dict) -> SessionStarted:
        return cls(_get(d, "id", str))

    def _data(self) -> dict:
        return {"id": self.id}


@dataclass(frozen=True, slots=True)
class ResponseAudio:
    """``response_audio``: one chunk of agent speech.

    ``audio`` is base64 PCM16 little-endian, mono, 24 kHz, as on the wire; :meth:`pcm` decodes it.
    ``is_final`` marks the last chunk of the utterance or segment ``turn_id``. A parsed chunk
    was checked on arrival (valid base64, whole 16-bit samples) and keeps its decoded bytes, so
    :meth:`pcm` costs nothing; a chunk that fails the check is an ``InvalidMessage`` instead.
    """

    turn_id: str
    audio: str
    is_final: bool
    extra: Mapping[str, Any] | None = field(default=None, compare=False, repr=False, kw_only=True)
    _pcm: bytes | None = field(default=None, compare=False, repr=False, kw_only=True)
    type: ClassVar[str] = "response_audio"
    _FIELDS: ClassVar[frozenset[str]] = frozenset({"turn_id", "audio", "is_final"})

    def pcm(self) -> bytes:
        """The chunk as raw PCM16 bytes (2 bytes per sample, 24 000 samples per second)."""
        return self._pcm if self._pcm is not None else base64.b64decode(self.audio)

    @classmethod
    def from_pcm(cls, turn_id: str, pcm: bytes, is_final: bool = False) -> ResponseAudio:
        """Build a chunk from raw PCM16 bytes (base64 is done here)."""
        return cls(turn_id, base64.b64encode(pcm).decode("ascii"), is_final, _pcm=bytes(pcm))

    @classmethod
    def _from_data(cls, d: dict) -> ResponseAudio:
        turn_id, audio, final = _get(d, "turn_id", str), _get(d, "audio", str), _get(d, "is_final", bool)
        return cls(turn_id, audio, final, _pcm=decode_pcm16(audio))

    def _data(self) -> dict:
        return {"turn_id": self.turn_id, "audio": self.audio, "is_final": self.is_final}


@dataclass(frozen=True, slots=True)
class ResponseText:
    """``response_text``: agent text for ``turn_id``; partials may repeat or refine until ``is_final``."""

    turn_id: str
    text: str
    is_final: bool
    extra: Mapping[str, Any] | None = field(default=None, compare=False, repr=False, kw_only=True)
    type: ClassVar[str] = "response_text"
    _FIELDS: ClassVar[frozenset[str]] = frozenset({"turn_id", "text", "is_final"})

    @classmethod
    def _from_data(cls, d: dict) -> ResponseText:
        return cls(_get(d, "turn_id", str), _get(d, "text", str), _get(d, "is_final", bool))

    def _data(self) -> dict:
        return {"turn_id": self.turn_id, "text": self.text, "is_final": self.is_final}


@dataclass(frozen=True, slots=True)
class InputAudioTranscript:
    """``input_audio_transcript``: the server's transcript of the user; ``turn_id`` may be absent."""

    transcript: str
    is_final: bool
    turn_id: str | None = None
    extra: Mapping[str, Any] | None = field(default=None, compare=False, repr=False, kw_only=True)
    type: ClassVar[str] = "input_audio_transcript"
    _FIELDS: ClassVar[frozenset[str]] = frozenset({"transcript", "is_final", "turn_id"})

    @classmethod
    def _from_data(cls, d: dict) -> InputAudioTranscript:
        return cls(
            _get(d, "transcript", str),
            _get(d, "is_final", bool),
            _get(d, "turn_id", str, required=False),
        )

    def _data(self) -> dict:
        out: dict[str, Any] = {"transcript": self.transcript, "is_final": self.is_final}
        if self.turn_id is not None:
            out["turn_id"] = self.turn_id
        return out


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """``speech_started``: server VAD heard the user start; ``emulated`` starts are synthetic."""

    emulated: bool
    extra: Mapping[str, Any] | None = field(default=None, compare=False, repr=False, kw_only=True)
    type: ClassVar[str] = "speech_started"
    _FIELDS: ClassVar[frozenset[str]] = frozenset({"emulated"})

    @classmethod
    def _from_data(cls, d: dict) -> SpeechStarted:
        return cls(_get(d, "emulated", bool))

    def _data(self) -> dict:
        return {"emulated": self.emulated}


@dataclass(frozen=True, slots=True)
class _Empty:
    """A message whose ``data`` has no fields (the real service sends ``data: null`` or none)."""

    extra: Mapping[str, Any] | None = field(default=None, compare=False, repr=False, kw_only=True)
    type: ClassVar[str] = ""
    _FIELDS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def _from_data(cls, d: dict) -> Any:
        return cls()

    def _data(self) -> dict:
        return {}


@dataclass(frozen=True, slots=True)
class SpeechStopped(_Empty):
    """``speech_stopped``: server VAD decided the user stopped (after its ``stop_secs`` hangover)."""

    type: ClassVar[str] = "speech_stopped"


@dataclass(frozen=True, slots=True)
class Interruption(_Empty):
    """``interruption``: the user barged in; the agent's current audio should stop at once."""

    type: ClassVar[str] = "interruption"


@dataclass(frozen=True, slots=True)
class SessionEnded(_Empty):
    """``session_ended``: the server ended the call."""

    type: ClassVar[str] = "session_ended"


@dataclass(frozen=True, slots=True)
class ToolArgument:
    """One argument binding of a ``tool_call`` (``VoiceSessionInputVariable``)."""

    name: str
    value: Any = None
    kind: str | None = None
    data_type: str | None = None
    description: str | None = None
    required: bool | None = None

    _WIRE: ClassVar[tuple[tuple[str, str, Any], ...]] = (
        ("kind", "type", str),
        ("data_type", "dataType", str),
        ("description", "description", str),
        ("required", "required", bool),
    )

    @classmethod
    def _from_wire(cls, d: Any) -> ToolArgument:
        if not isinstance(d, dict):
            raise _FieldError(f"must be an object, got {type(d).__name__}")
        name = d.get("name", "")
        if not isinstance(name, str):
            raise _FieldError(f"name must be str, got {type(name).__name__}")
        extra = {py: _get(d, wire, kind, required=False) for py, wire, kind in cls._WIRE}
        return cls(name=name, value=d.get("value"), **extra)

    def _to_wire(self) -> dict:
        out: dict[str, Any] = {"name": self.name}
        for py, wire, _ in self._WIRE:
            v = getattr(self, py)
            if v is not None:
                out[wire] = v
        if self.value is not None:
            out["value"] = self.value
        return out


def _arguments(args: list) -> tuple[ToolArgument, ...]:
    out = []
    for i, a in enumerate(args):
        try:
            out.append(ToolArgument._from_wire(a))
        except _FieldError as e:  # name the item: "data.arguments[1].dataType must be str, …"
            detail = str(e).removeprefix("data.")
            sep = " " if detail.startswith("must") else "."
            raise _FieldError(f"data.arguments[{i}]{sep}{detail}") from None
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """``tool_call``: the server asks the client to run ``tool_name``; answer with
    :class:`ToolCallOutput` carrying the same ``tool_call_id``."""

    tool_call_id: str
    tool_name: str
    arguments: tuple[ToolArgument, ...] = ()
    extra: Mapping[str, Any] | None = field(default=None, compare=False, repr=False, kw_only=True)
    type: ClassVar[str] = "tool_call"
    _FIELDS: ClassVar[frozenset[str]] = frozenset({"toolCallId", "toolName", "arguments"})

    @property
    def kwargs(self) -> dict[str, Any]:
        """Arguments as ``{name: value}`` (for calling a Python function)."""
        return {a.name: a.value for a in self.arguments if a.name}

    @classmethod
    def _from_data(cls, d: dict) -> ToolCall:
        args = _get(d, "arguments", list)
        return cls(_get(d, "toolCallId", str), _get(d, "toolName", str), _arguments(args))

    def _data(self) -> dict:
        return {
            "toolCallId": self.tool_call_id,
            "toolName": self.tool_name,
            "arguments": [a._to_wire() for a in self.arguments],
        }
