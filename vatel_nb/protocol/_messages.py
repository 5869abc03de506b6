"""Typed Vatel voice-session messages: parse and serialize, never raise.

Every message on ``GET /v1/connection`` is a UTF-8 JSON object ``{"type": str, "data": object}``
(``VoiceSessionServerMessage`` and the two client schemas in Vatel's ``openapi.json``). Each
``type`` maps to one frozen dataclass below; ``message.type`` is a class attribute, so
``match``/``isinstance`` and ``msg.type == "response_audio"`` both work.

Read liberally, write strictly (``docs/compatibility.md``). The parser accepts what the real
service is shown to send beyond the spec: ``data: null`` or no ``data`` (read as ``{}``, so the
field-less types parse and the others name their first missing field), JSON in binary frames,
and unknown fields (kept in ``message.extra`` as ``{"data.<name>": value}`` for ``data`` fields
and ``{"<name>": value}`` for envelope fields). :func:`serialize` writes exactly the spec's shape.

Parsing is total: :func:`parse_server_message` and :func:`parse_client_message` return an
:class:`InvalidMessage` (holding the raw text and what was wrong) for invalid JSON, an unknown
``type``, a missing field, a field of the wrong JSON type, or audio that is not base64 PCM16.
They never raise, so one new or broken server event cannot end a receive loop.

Field names are Python-style (``tool_call_id``); :func:`to_wire` maps them back to the wire
names (``toolCallId``). Audio stays base64 text until you ask for bytes (:meth:`ResponseAudio.pcm`).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _json_string
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
            return InvalidMessage(
                bytes(raw).decode("utf-8", "replace"), f"binary frame of {len(raw)} bytes is not UTF-8 ({e})"
            )
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
    if data is None:  # the real service sends data: null (or none) on the field-less types
        data = {}
    elif not isinstance(data, dict):
        return InvalidMessage(text, f"field 'data' must be an object, got {type(data).__name__}", mtype)
    try:
        msg = cls._from_data(data)
    except _FieldError as e:
        return InvalidMessage(text, f"{mtype}: {e}", mtype, _turn_id(data))
    except Exception as e:  # pragma: no cover - defensive: parsing must never raise
        return InvalidMessage(text, f"{mtype}: {type(e).__name__}: {e}", mtype, _turn_id(data))
    extra = _unknown_fields(obj, data, cls._FIELDS)
    if extra:
        object.__setattr__(msg, "extra", extra)  # frozen: set once, here, before anyone sees it
    return msg


def _turn_id(data: dict) -> str | None:
    value = data.get("turn_id")
    return value if isinstance(value, str) else None


_ENVELOPE = frozenset({"type", "data"})


def _unknown_fields(obj: dict, data: dict, known: frozenset[str]) -> dict[str, Any] | None:
    if known.issuperset(data) and _ENVELOPE.issuperset(obj):  # the usual case: nothing built
        return None
    out = {k: v for k, v in obj.items() if k not in ("type", "data")}
    out.update({f"data.{k}": v for k, v in data.items() if k not in known})
    return out or None


def parse_server_message(raw: str | bytes | bytearray) -> ServerMessage | InvalidMessage:
    """Parse one server → client frame. Never raises: bad input gives :class:`InvalidMessage`."""
    return _parse(raw, SERVER_MESSAGE_TYPES)


def parse_client_message(raw: str | bytes | bytearray) -> ClientMessage | InvalidMessage:
    """Parse one client → server frame (used by the simulator). Never raises."""
    return _parse(raw, CLIENT_MESSAGE_TYPES)


def to_wire(message: ServerMessage | ClientMessage) -> dict[str, Any]:
    """The message as the wire's JSON object ``{"type": …, "data": {…}}`` (wire field names)."""
    return {"type": message.type, "data": message._data()}


#: ``json.dumps(obj, separators=(",", ":"))`` without building an encoder per call: the same text;
#: thread-safe (``encode`` keeps no state between calls).
_compact_json = json.JSONEncoder(separators=(",", ":")).encode
#: ``input_audio`` (50 a second per call) around its one JSON string, escaped by the same C function
#: ``json.dumps`` uses (ASCII): the very text the generic path gives, without walking two dicts.
_INPUT_AUDIO_JSON = '{"type":"input_audio","data":{"audio":%s}}'


def serialize(message: ServerMessage | ClientMessage, *, null_empty_data: bool = False) -> str:
    """The message as compact JSON text, ready for a WebSocket text frame (``extra`` is never sent).

    ``null_empty_data=True`` writes ``"data": null`` for the field-less types (``speech_stopped``,
    ``interruption``, ``session_ended``), as the real service does; only the simulator's
    ``vendor`` profile uses it. The default is the spec's shape, ``"data": {}``.
    """
    if message.__class__ is InputAudio:
        return _INPUT_AUDIO_JSON % _json_string(message.audio)
    data = message._data()
    if null_empty_data and not data and not message._FIELDS:
        return _compact_json({"type": message.type, "data": None})
    return _compact_json({"type": message.type, "data": data})
