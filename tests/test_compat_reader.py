"""Read liberally, write strictly: the shapes the real service sends beyond openapi.json.

Evidence for each shape: docs/compatibility.md (vatel-py-sdk v0.4.1 and a misbehaving server).
"""

from __future__ import annotations

import json

import pytest
from _spec import validate_server_message

from vatel_nb.log import EventLog, record_server_message
from vatel_nb.log._record import RAW_KEEP_CHARS
from vatel_nb.protocol import (
    Interruption,
    InvalidMessage,
    ResponseAudio,
    ResponseText,
    SessionEnded,
    SpeechStarted,
    SpeechStopped,
    parse_server_message,
    serialize,
    to_wire,
)


@pytest.mark.parametrize("cls", [SpeechStopped, Interruption, SessionEnded])
@pytest.mark.parametrize("shape", ['"data": null', '"data": {}', None])
def test_field_less_types_accept_null_or_missing_data(cls, shape) -> None:
    raw = f'{{"type": "{cls.type}"' + (f", {shape}" if shape else "") + "}"
    assert parse_server_message(raw) == cls()


@pytest.mark.parametrize("data", ["null", None])
def test_types_with_required_fields_name_the_missing_one(data) -> None:
    raw = '{"type": "response_text"' + (f', "data": {data}' if data else "") + "}"
    msg = parse_server_message(raw)
    assert isinstance(msg, InvalidMessage) and "missing required field data.turn_id" in msg.error


def test_non_object_data_is_still_invalid() -> None:
    msg = parse_server_message('{"type": "speech_stopped", "data": [1]}')
    assert isinstance(msg, InvalidMessage) and "must be an object, got list" in msg.error


def test_json_in_a_binary_frame_is_read() -> None:
    text = serialize(ResponseText("t", "hi", True))
    assert parse_server_message(text.encode()) == ResponseText("t", "hi", True)
    bad = parse_server_message(b"\xff\xfe")
    assert isinstance(bad, InvalidMessage) and "binary frame of 2 bytes is not UTF-8" in bad.error


def test_unknown_fields_are_kept_and_reach_the_row_detail() -> None:
    raw = json.dumps(
        {
            "type": "speech_started",
            "data": {"emulated": False, "confidence": 0.9},
            "event_id": "e1",
        }
    )
    msg = parse_server_message(raw)
    assert msg == SpeechStarted(False) and msg.extra == {"event_id": "e1", "data.confidence": 0.9}
    assert json.loads(serialize(msg)) == {"type": "speech_started", "data": {"emulated": False}}  # never sent
    log = EventLog()
    record_server_message(log, msg, 0.1)
    assert log.row(0)[3]["detail"] == {
        "emulated": False,
        "unknown": {"event_id": "e1", "data.confidence": 0.9},
    }
    plain = EventLog()
    record_server_message(plain, parse_server_message(serialize(ResponseText("t", "x", True))), 0.1)
    assert "detail" not in plain.row(0)[3]  # no unknown fields: no detail at all


@pytest.mark.parametrize(
    ("audio", "error"),
    [
        ("!!!!", "data.audio is not valid base64"),
        ("AAAA", "data.audio decodes to 3 bytes: not whole PCM16 samples"),
        ("AAE=AA==", "data.audio is not valid base64"),
    ],
)
def test_bad_audio_is_invalid_and_names_its_turn(audio, error) -> None:
    raw = json.dumps({"type": "response_audio", "data": {"turn_id": "t9", "audio": audio, "is_final": False}})
    msg = parse_server_message(raw)
    assert isinstance(msg, InvalidMessage) and error in msg.error
    assert msg.turn_id == "t9" and msg.message_type == "response_audio" and msg.raw == raw


def test_parsed_audio_keeps_its_decoded_bytes() -> None:
    pcm = bytes(range(200))
    msg = parse_server_message(serialize(ResponseAudio.from_pcm("t", pcm)))
    assert msg.pcm() == pcm and msg == ResponseAudio.from_pcm("t", pcm)


def test_an_invalid_row_keeps_a_truncated_raw_and_its_turn() -> None:
    raw = json.dumps(
        {"type": "response_audio", "data": {"turn_id": "t", "audio": "@" * 50_000, "is_final": True}}
    )
    log = EventLog()
    record_server_message(log, parse_server_message(raw), 0.0)
    _, source, type_, fields = log.row(0)
    assert (source, type_, fields["turn_id"]) == ("server", "invalid", "t")
    assert fields["detail"]["raw"] == raw[:RAW_KEEP_CHARS] + "…" and fields["detail"]["raw_chars"] == len(raw)


def test_writing_stays_strict_and_null_data_is_opt_in() -> None:
    for msg in (SpeechStopped(), Interruption(), SessionEnded()):
        assert json.loads(serialize(msg)) == {"type": msg.type, "data": {}}
        validate_server_message(to_wire(msg))
        vendor = json.loads(serialize(msg, null_empty_data=True))
        assert vendor == {"type": msg.type, "data": None}
        validate_server_message(vendor, "vendor")
        with pytest.raises(Exception):  # noqa: B017 - jsonschema's ValidationError
            validate_server_message(vendor, "spec")
    # null_empty_data never touches a message that has fields
    assert json.loads(serialize(SpeechStarted(True), null_empty_data=True))["data"] == {"emulated": True}
