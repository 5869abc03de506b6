"""Typed Vatel voice-session messages: parse and serialize, never raise.

Every message on ``GET /v1/connection`` is a UTF-8 JSON object ``{"type": str, "data": object}``
(``VoiceSessionServerMessage`` and the two client schemas in Vatel's ``openapi.json``). Each
``type`` maps to one frozen dataclass below; ``message.type`` is a class attribute, so
``match``/``isinstance`` and ``msg.type == "response_audio"`` both work.

Parsing is total: :func:`parse_server_message` and :func:`parse_client_message` return an
:class:`InvalidMessage` (holding the raw text and what was wrong) for invalid JSON, an unknown
``type``, a missing field or a field of the wrong JSON type. They never raise, so one new or
broken server event cannot end a receive loop.

Field names are Python-style (``tool_call_id``); :func:`to_wire` maps them back to the wire
names (``toolCallId``). Audio stays base64 text until you ask for bytes (:meth:`ResponseAudio.pcm`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "CLIENT_MESSAGE_TYPES",
    "SERVER_MESSAGE_TYPES",
    "ClientMessage",
    "InputAudio",
    "InputAudioTranscript",
    "Interruption",
    "InvalidMessage",
    "ResponseAudio",
    "ResponseText",
    "ServerMessage",
    "SessionEnded",
    "SessionStarted",
    "SpeechStarted",
    "SpeechStopped",
    "ToolArgument",
    "ToolCall",
    "ToolCallOutput",
    "parse_client_message",
    "parse_server_message",
    "serialize",
    "to_wire",
]


class _FieldError(Exception):
    """Internal: a field is missing or of the wrong type (turned into InvalidMessage)."""


def _get(
    data: dict, key: str, kind: type | tuple[type, ...], *, required: bool = True, default: Any = None
) -> Any:
    try:
        value = data[key]
    except KeyError:
        if required:
            raise _FieldError(f"missing required field data.{key}") from None
        return default
    # bool is a subclass of int: never accept True for a number or a number for a bool
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        names = "/".join(t.__name__ for t in _as_tuple(kind))
        raise _FieldError(f"data.{key} must be {names}, got {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


# --------------------------------------------------------------------------- server → client


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """``session_started``: the call began; ``id`` is the session id, which is also the call id."""

    id: str
    type: ClassVar[str] = "session_started"

    @classmethod
    def _from_data(cls, d: dict) -> SessionStarted:
        return cls(_get(d, "id", str))

    def _data(self) -> dict:
        return {"id": self.id}


@dataclass(frozen=True, slots=True)
class ResponseAudio:
    """``response_audio``: one chunk of agent speech.

    ``audio`` is base64 PCM16 little-endian, mono, 24 kHz, as on the wire; :meth:`pcm` decodes it.
    ``is_final`` marks the last chunk of the utterance or segment ``turn_id``.
    """

    turn_id: str
    audio: str
    is_final: bool
    type: ClassVar[str] = "response_audio"

    def pcm(self) -> bytes:
        """The chunk as raw PCM16 bytes (2 bytes per sample, 24 000 samples per second)."""
        return base64.b64decode(self.audio)

    @classmethod
    def from_pcm(cls, turn_id: str, pcm: bytes, is_final: bool = False) -> ResponseAudio:
        """Build a chunk from raw PCM16 bytes (base64 is done here)."""
        return cls(turn_id, base64.b64encode(pcm).decode("ascii"), is_final)

    @classmethod
    def _from_data(cls, d: dict) -> ResponseAudio:
        return cls(_get(d, "turn_id", str), _get(d, "audio", str), _get(d, "is_final", bool))

    def _data(self) -> dict:
        return {"turn_id": self.turn_id, "audio": self.audio, "is_final": self.is_final}


@dataclass(frozen=True, slots=True)
class ResponseText:
    """``response_text``: agent text for ``turn_id``; partials may repeat or refine until ``is_final``."""

    turn_id: str
    text: str
    is_final: bool
    type: ClassVar[str] = "response_text"

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
    type: ClassVar[str] = "input_audio_transcript"

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
    type: ClassVar[str] = "speech_started"

    @classmethod
    def _from_data(cls, d: dict) -> SpeechStarted:
        return cls(_get(d, "emulated", bool))

    def _data(self) -> dict:
        return {"emulated": self.emulated}


@dataclass(frozen=True, slots=True)
class _Empty:
    type: ClassVar[str] = ""

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
    type: ClassVar[str] = "tool_call"

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


# --------------------------------------------------------------------------- client → server


@dataclass(frozen=True, slots=True)
class InputAudio:
    """``input_audio``: one chunk of user microphone audio, base64 PCM16 mono 24 kHz."""

    audio: str
    type: ClassVar[str] = "input_audio"

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
    type: ClassVar[str] = "tool_call_output"

    @classmethod
    def _from_data(cls, d: dict) -> ToolCallOutput:
        return cls(_get(d, "toolCallId", str), _get(d, "output", str))

    def _data(self) -> dict:
        return {"toolCallId": self.tool_call_id, "output": self.output}


@dataclass(frozen=True, slots=True)
class InvalidMessage:
    """A message that could not be parsed. Nothing is lost: ``raw`` is the text as received.

    ``error`` says what was wrong; ``message_type`` is the ``type`` field when one was readable
    (so an unknown-but-well-formed event can still be logged by name).
    """

    raw: str
    error: str
    message_type: str | None = None
    type: ClassVar[str] = "invalid"


ServerMessage = (
    SessionStarted
    | ResponseAudio
    | ResponseText
    | InputAudioTranscript
    | SpeechStarted
    | SpeechStopped
    | Interruption
    | SessionEnded
    | ToolCall
)
ClientMessage = InputAudio | ToolCallOutput

SERVER_MESSAGE_TYPES: dict[str, type] = {
    c.type: c
    for c in (
        SessionStarted,
        ResponseAudio,
        ResponseText,
        InputAudioTranscript,
        SpeechStarted,
        SpeechStopped,
        Interruption,
        SessionEnded,
        ToolCall,
    )
}
CLIENT_MESSAGE_TYPES: dict[str, type] = {c.type: c for c in (InputAudio, ToolCallOutput)}


def _parse(raw: str | bytes | bytearray, table: dict[str, type]) -> Any:
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as e:
            return InvalidMessage(bytes(raw).decode("utf-8", "replace"), f"not UTF-8: {e}")
    elif isinstance(raw, str):
        text = raw
    else:
        return InvalidMessage(repr(raw), f"expected str or bytes, got {type(raw).__name__}")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as e:
        return InvalidMessage(text, f"invalid JSON: {e}")
    if not isinstance(obj, dict):
        return InvalidMessage(text, f"expected a JSON object, got {type(obj).__name__}")
    mtype = obj.get("type")
    if not isinstance(mtype, str):
        return InvalidMessage(text, "missing or non-string field 'type'")
    cls = table.get(mtype)
    if cls is None:
        return InvalidMessage(text, f"unknown message type {mtype!r}", mtype)
    data = obj.get("data")
    if not isinstance(data, dict):
        return InvalidMessage(text, "missing or non-object field 'data'", mtype)
    try:
        return cls._from_data(data)
    except _FieldError as e:
        return InvalidMessage(text, f"{mtype}: {e}", mtype)
    except Exception as e:  # pragma: no cover - defensive: parsing must never raise
        return InvalidMessage(text, f"{mtype}: {type(e).__name__}: {e}", mtype)


def parse_server_message(raw: str | bytes | bytearray) -> ServerMessage | InvalidMessage:
    """Parse one server → client frame. Never raises: bad input gives :class:`InvalidMessage`."""
    return _parse(raw, SERVER_MESSAGE_TYPES)


def parse_client_message(raw: str | bytes | bytearray) -> ClientMessage | InvalidMessage:
    """Parse one client → server frame (used by the simulator). Never raises."""
    return _parse(raw, CLIENT_MESSAGE_TYPES)


def to_wire(message: ServerMessage | ClientMessage) -> dict[str, Any]:
    """The message as the wire's JSON object ``{"type": …, "data": {…}}`` (wire field names)."""
    return {"type": message.type, "data": message._data()}


def serialize(message: ServerMessage | ClientMessage) -> str:
    """The message as compact JSON text, ready for a WebSocket text frame."""
    return json.dumps({"type": message.type, "data": message._data()}, separators=(",", ":"))
