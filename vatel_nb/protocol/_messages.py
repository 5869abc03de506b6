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

import json
from typing import Any

from ._client import InputAudio, InvalidMessage, ToolCallOutput
from ._fields import _FieldError
from ._server import (
    InputAudioTranscript,
    Interruption,
    ResponseAudio,
    ResponseText,
    SessionEnded,
    SessionStarted,
    SpeechStarted,
    SpeechStopped,
    ToolArgument,
    ToolCall,
)

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
