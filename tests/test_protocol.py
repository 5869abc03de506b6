"""Protocol layer: every wire type round-trips and matches openapi.json; parsing never raises.

The parser and the spec must agree: a mutated message (field removed, field replaced by any JSON
value, ``type``/``data`` broken) is rejected by the parser exactly when the spec's schema rejects
it. (Extra keys are the one deliberate difference: the parser ignores them.)
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from _spec import (
    CLIENT_SCHEMAS,
    SCHEMAS,
    SERVER_MESSAGE,
    is_valid,
    validate_client_message,
    validate_server_message,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vatel_nb.protocol import (
    CLIENT_MESSAGE_TYPES,
    SERVER_MESSAGE_TYPES,
    InputAudio,
    InputAudioTranscript,
    Interruption,
    InvalidMessage,
    ResponseAudio,
    ResponseText,
    SessionEnded,
    SessionStarted,
    SpeechStarted,
    SpeechStopped,
    ToolArgument,
    ToolCall,
    ToolCallOutput,
    parse_client_message,
    parse_server_message,
    serialize,
    to_wire,
)

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- strategies

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
texts = st.text(max_size=30)
b64_audio = st.binary(max_size=64).map(lambda b: base64.b64encode(b[: len(b) // 2 * 2]).decode("ascii"))

tool_arguments = st.builds(
    ToolArgument,
    name=texts,
    value=json_values,
    kind=st.none() | texts,
    data_type=st.none() | st.sampled_from(["string", "number", "boolean", "object", "array"]),
    description=st.none() | texts,
    required=st.none() | st.booleans(),
)

SERVER_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "session_started": st.builds(SessionStarted, texts),
    "response_audio": st.builds(ResponseAudio, texts, b64_audio, st.booleans()),
    "response_text": st.builds(ResponseText, texts, texts, st.booleans()),
    "input_audio_transcript": st.builds(InputAudioTranscript, texts, st.booleans(), st.none() | texts),
    "speech_started": st.builds(SpeechStarted, st.booleans()),
    "speech_stopped": st.just(SpeechStopped()),
    "interruption": st.just(Interruption()),
    "session_ended": st.just(SessionEnded()),
    "tool_call": st.builds(ToolCall, texts, texts, st.lists(tool_arguments, max_size=3).map(tuple)),
}
CLIENT_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "input_audio": st.builds(InputAudio, b64_audio),
    "tool_call_output": st.builds(ToolCallOutput, texts, texts),
}
server_messages = st.one_of(*SERVER_STRATEGIES.values())
client_messages = st.one_of(*CLIENT_STRATEGIES.values())


def test_strategies_cover_every_wire_type() -> None:
    spec_types = {alt["properties"]["type"]["enum"][0] for alt in SCHEMAS[SERVER_MESSAGE]["oneOf"]}
    assert set(SERVER_STRATEGIES) == set(SERVER_MESSAGE_TYPES) == spec_types
    assert set(CLIENT_STRATEGIES) == set(CLIENT_MESSAGE_TYPES) == set(CLIENT_SCHEMAS)


# --------------------------------------------------------------------------- round trips

EXAMPLES = [
    SessionStarted("call-1"),
    ResponseAudio.from_pcm("t1", b"\x01\x00\xff\x7f", is_final=True),
    ResponseText("t1", "Hello there", False),
    InputAudioTranscript("hi", True),
    InputAudioTranscript("hi", False, turn_id="u1"),
    SpeechStarted(emulated=True),
    SpeechStopped(),
    Interruption(),
    SessionEnded(),
    ToolCall(
        "tc1",
        "lookup",
        (
            ToolArgument("city", "Paris", kind="resolved", data_type="string", required=True),
            ToolArgument("n", 3),
        ),
    ),
]


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: m.type)
def test_each_server_type_round_trips_and_matches_spec(msg: Any) -> None:
    wire = to_wire(msg)
    validate_server_message(wire)
    assert json.loads(serialize(msg)) == wire
    assert parse_server_message(serialize(msg)) == msg
    assert parse_server_message(serialize(msg).encode()) == msg
    assert parse_client_message(serialize(msg)).type == "invalid"  # server types are not client types


@pytest.mark.parametrize(
    "msg", [InputAudio.from_pcm(b"\x00\x01" * 480), ToolCallOutput("tc1", '{"ok": true}')]
)
def test_each_client_type_round_trips_and_matches_spec(msg: Any) -> None:
    wire = to_wire(msg)
    validate_client_message(wire)
    assert parse_client_message(serialize(msg)) == msg
    assert isinstance(parse_server_message(serialize(msg)), InvalidMessage)


def test_pcm_helpers_round_trip_bytes() -> None:
    pcm = bytes(range(256)) * 4
    assert ResponseAudio.from_pcm("t", pcm).pcm() == pcm
    assert InputAudio.from_pcm(pcm).pcm() == pcm


def test_tool_call_kwargs() -> None:
    call = EXAMPLES[-1]
    assert call.kwargs == {"city": "Paris", "n": 3}


@FUZZ
@given(server_messages)
def test_generated_server_messages_round_trip(msg: Any) -> None:
    wire = to_wire(msg)
    validate_server_message(wire)
    assert parse_server_message(serialize(msg)) == msg


@FUZZ
@given(client_messages)
def test_generated_client_messages_round_trip(msg: Any) -> None:
    validate_client_message(to_wire(msg))
    assert parse_client_message(serialize(msg)) == msg


# --------------------------------------------------------------------------- never raises


def _check_invalid(result: Any, raw_text: str) -> None:
    assert isinstance(result, InvalidMessage)
    assert result.raw == raw_text
    assert isinstance(result.error, str) and result.error


@FUZZ
@given(st.text())
def test_random_text_never_raises(raw: str) -> None:
    for parse in (parse_server_message, parse_client_message):
        result = parse(raw)
        if isinstance(result, InvalidMessage):
            _check_invalid(result, raw)


@FUZZ
@given(st.binary())
def test_random_bytes_never_raise(raw: bytes) -> None:
    result = parse_server_message(raw)
    assert isinstance(result, InvalidMessage)  # random bytes are never a valid message
    assert result.error
    try:
        assert result.raw == raw.decode("utf-8")
    except UnicodeDecodeError:
        assert "UTF-8" in result.error


@FUZZ
@given(json_values)
def test_random_json_is_invalid_unless_spec_valid(obj: Any) -> None:
    raw = json.dumps(obj)
    result = parse_server_message(raw)
    assert isinstance(result, InvalidMessage) == (not _spec_accepts(obj))
    if isinstance(result, InvalidMessage):
        _check_invalid(result, raw)


@FUZZ
@given(texts.filter(lambda t: t not in SERVER_MESSAGE_TYPES), json_values)
def test_unknown_type_keeps_name_and_raw(mtype: str, data: Any) -> None:
    raw = json.dumps({"type": mtype, "data": data})
    result = parse_server_message(raw)
    _check_invalid(result, raw)
    assert result.message_type == mtype
    assert "unknown" in result.error


@pytest.mark.parametrize(
    ("argument", "error"),
    [
        ({"name": "y", "dataType": 3}, "data.arguments[1].dataType must be str, got int"),
        ({"name": 2}, "data.arguments[1].name must be str, got int"),
        (5, "data.arguments[1] must be an object, got int"),
    ],
)
def test_bad_tool_argument_is_named_by_index(argument: Any, error: str) -> None:
    raw = json.dumps(
        {"type": "tool_call", "data": {"toolCallId": "a", "toolName": "b", "arguments": [{}, argument]}}
    )
    result = parse_server_message(raw)
    _check_invalid(result, raw)
    assert result.error == f"tool_call: {error}" and result.message_type == "tool_call"


def test_non_string_input_is_invalid_not_an_exception() -> None:
    result = parse_server_message(12345)  # type: ignore[arg-type]
    assert isinstance(result, InvalidMessage) and "expected str or bytes" in result.error


def test_deep_nesting_is_invalid_not_a_recursion_error() -> None:
    raw = "[" * 100_000 + "]" * 100_000
    _check_invalid(parse_server_message(raw), raw)


# --------------------------------------------------------------------------- parser agrees with the spec


def _drop(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


def _mutations(wire: dict[str, Any]) -> st.SearchStrategy[tuple[dict[str, Any], str | None]]:
    """A mutated copy of ``wire`` and the data key touched (None for top-level damage)."""
    keys = sorted(wire["data"])
    options: list[st.SearchStrategy[tuple[dict[str, Any], str | None]]] = [
        st.sampled_from(["type", "data"]).map(lambda k: (_drop(wire, k), None)),
        json_values.map(lambda v: ({"type": wire["type"], "data": v}, None)),
    ]
    if keys:
        options.append(
            st.sampled_from(keys).map(
                lambda k: (
                    {"type": wire["type"], "data": {x: v for x, v in wire["data"].items() if x != k}},
                    k,
                )
            )
        )
        options.append(
            st.tuples(st.sampled_from(keys), json_values).map(
                lambda kv: ({"type": wire["type"], "data": {**wire["data"], kv[0]: kv[1]}}, kv[0])
            )
        )
    return st.one_of(*options)


@st.composite
def mutated_server(draw: st.DrawFn) -> tuple[dict[str, Any], str | None]:
    return draw(_mutations(to_wire(draw(server_messages))))


@st.composite
def mutated_client(draw: st.DrawFn) -> tuple[dict[str, Any], str | None]:
    return draw(_mutations(to_wire(draw(client_messages))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_server())
def test_server_parser_rejects_exactly_what_the_spec_rejects(case: tuple[dict[str, Any], str | None]) -> None:
    obj, key = case
    raw = json.dumps(obj)
    result = parse_server_message(raw)
    assert isinstance(result, InvalidMessage) == (not _spec_accepts(obj)), (obj, result)
    if isinstance(result, InvalidMessage):
        _check_invalid(result, raw)
        if key is not None:
            assert key in result.error
    elif key not in (None, "arguments"):
        assert json.loads(serialize(result)) == obj  # a field's valid replacement survives the trip


@settings(max_examples=200, deadline=None)
@given(mutated_client())
def test_client_parser_rejects_exactly_what_the_spec_rejects(case: tuple[dict[str, Any], str | None]) -> None:
    obj, key = case
    raw = json.dumps(obj)
    result = parse_client_message(raw)
    spec_ok = isinstance(obj.get("type"), str) and obj["type"] in CLIENT_SCHEMAS
    spec_ok = spec_ok and is_valid(CLIENT_SCHEMAS[obj["type"]], obj)
    assert isinstance(result, InvalidMessage) == (not spec_ok), (obj, result)
    if isinstance(result, InvalidMessage):
        _check_invalid(result, raw)
        if key is not None:
            assert key in result.error


_EMPTY_TYPES = ("speech_stopped", "interruption", "session_ended")


def _pcm16_b64(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) % 2 == 0
    except ValueError:
        return False


def _spec_accepts(obj: Any) -> bool:
    """The spec's verdict, with the reader's deliberate differences (docs/compatibility.md):
    ``data`` null / missing / with extra keys on the field-less types is accepted, extra keys are
    ignored everywhere, and ``response_audio`` must carry base64 of whole PCM16 samples."""
    empty = isinstance(obj, dict) and obj.get("type") in _EMPTY_TYPES
    if empty and (obj.get("data") is None or isinstance(obj.get("data"), dict)):
        obj = {**obj, "data": {}}
    ok = is_valid(SERVER_MESSAGE, obj)
    if ok and obj["type"] == "response_audio":
        return _pcm16_b64(obj["data"]["audio"])
    return ok


@settings(max_examples=300, deadline=None)
@given(audio=st.one_of(st.text(), st.binary(max_size=2000).map(lambda b: base64.b64encode(b).decode())))
def test_input_audio_text_is_exactly_the_generic_json(audio):
    """serialize's input_audio path (one escaped string in a template) gives json.dumps' text."""
    message = InputAudio(audio)
    assert serialize(message) == json.dumps(to_wire(message), separators=(",", ":"))
    assert parse_client_message(serialize(message)) == message
