"""The envelope's Python side: builders, the validator, buffers, and agreement with js/src/messages.js."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vatel_nb import envelope as m

JS = Path(__file__).resolve().parents[1] / "js" / "src" / "messages.js"


def js_set(name: str) -> set[str]:
    match = re.search(rf"export const {name} = Object\.freeze\(\[(.*?)\]\)", JS.read_text(), re.S)
    assert match, f"{name} not found in {JS}"
    return set(re.findall(r'"([a-z\-]+)"', match.group(1)))


@pytest.mark.parametrize(
    ("name", "py"),
    [
        ("BROWSER_KINDS", m.BROWSER_KINDS),
        ("KERNEL_KINDS", m.KERNEL_KINDS),
        ("CONTROL_ACTIONS", m.CONTROL_ACTIONS),
        ("PLAYBACK_EVENTS", m.PLAYBACK_EVENTS),
    ],
)
def test_kind_sets_match_the_javascript_side(name, py):
    assert js_set(name) == set(py)


def test_kernel_builders_are_json_and_use_kernel_kinds():
    built = [
        m.audio("t1", 3, True),
        m.interrupt(None),
        m.ping(7),
        m.end("the agent ended the call"),
        m.probe_reply(1, False),
    ]
    assert [b["kind"] for b in built] == ["audio", "interrupt", "ping", "end", "probe"]
    assert {b["kind"] for b in built} == set(m.KERNEL_KINDS)
    assert json.loads(json.dumps(built)) == built
    assert built[0] == {"kind": "audio", "turn_id": "t1", "seq": 3, "final": True}


def test_validator_accepts_what_the_page_sends():
    ok = [
        ({"kind": "ready", "sample_rate": 24000, "context_rate": 24000, "output_latency_ms": 5.2}, []),
        ({"kind": "mic", "seq": 0, "t_browser": 12.5, "samples": 480}, [b"\0\0" * 480]),
        ({"kind": "playback", "event": "flushed", "turn_id": "a", "t_browser": 1, "samples": 5}, []),
        ({"kind": "pong", "id": 1, "t_browser": 3.25}, []),
        ({"kind": "control", "action": "unmute"}, []),
        ({"kind": "status", "state": "mic-denied", "error": "Allow the microphone."}, []),
    ]
    for envelope, buffers in ok:
        assert m.validate_browser_envelope(envelope, buffers) is envelope


@pytest.mark.parametrize(
    ("envelope", "buffers", "message"),
    [
        ([], [], "must be a JSON object"),
        ({"kind": "audio"}, [], "unknown envelope kind 'audio'"),
        ({"kind": "mic", "seq": 1}, [b"x"], "missing field 't_browser'"),
        ({"kind": "mic", "seq": True, "t_browser": 1.0}, [b"x"], "'seq' has the wrong type (bool)"),
        ({"kind": "mic", "seq": 1, "t_browser": 1.0}, [], "needs 1 binary buffer(s), got 0"),
        ({"kind": "pong", "id": "1", "t_browser": 1.0}, [], "'id' has the wrong type (str)"),
        ({"kind": "playback", "event": "paused", "t_browser": 1.0}, [], "'paused' is not one of"),
        ({"kind": "pong", "id": 1, "t_browser": 1.0, "clock": "kernel"}, [], "clock 'kernel' is not one of"),
    ],
)
def test_validator_says_what_is_wrong(envelope, buffers, message):
    with pytest.raises(m.EnvelopeError) as err:
        m.validate_browser_envelope(envelope, buffers)
    assert message in str(err.value)


def test_buffers_of_every_shape_become_bytes():
    pcm = np.arange(480, dtype="<i2")
    want = pcm.tobytes()
    for buf in (want, bytearray(want), memoryview(want), memoryview(pcm), pcm):
        assert m.as_bytes(buf) == want
    with pytest.raises(m.EnvelopeError, match="bytes-like"):
        m.as_bytes("text")


def test_pack_unpack_probe_and_their_errors():
    env = m
    with pytest.raises(env.EnvelopeError, match="not valid base64"):
        env.unpack({"kind": "mic", "seq": 0, "t_browser": 1.0, "buffers_b64": ["***"]})
    with pytest.raises(env.EnvelopeError, match="both buffers_b64 and 1 binary"):
        env.unpack({"kind": "mic", "buffers_b64": ["AAA="]}, [b"\0\0"])
    with pytest.raises(env.EnvelopeError, match="list of base64 strings"):
        env.unpack({"kind": "mic", "buffers_b64": "AAA="})
    with pytest.raises(env.EnvelopeError, match="transport 'text'"):
        env.ready(transport="text")
    with pytest.raises(env.EnvelopeError, match="transport 'text'"):
        env.validate_browser_envelope({"kind": "ready", "transport": "text"})
    frame = bytes(range(200)) * 4 + bytes(160)
    packed, bufs = env.pack(env.mic(4, 2.0), [memoryview(frame)], "base64")
    assert bufs == [] and env.unpack(packed, bufs) == (env.mic(4, 2.0), [frame])
    assert env.pack(env.mic(4, 2.0), [frame], "binary") == (env.mic(4, 2.0), [frame])
    assert env.probe_ok([env.PROBE_BYTES]) and not env.probe_ok([]) and not env.probe_ok(["x"])


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.sampled_from(["mic", "kernel", "AAA="]),
    st.lists(st.integers(0, 3), max_size=2),
)
_ABSENT = object()


def _mostly(valid, *others):
    """``valid`` seven times in eight, else one of ``others``: most examples are near-valid, so
    both the accepted and the rejected side are explored."""
    return st.sampled_from([True] * 7 + [False]).flatmap(lambda ok: valid if ok else st.one_of(*others))


# per field: a value the page sends (or absent where optional), else anything else
_MIC_FIELDS = {
    "kind": _mostly(st.just("mic"), _JUNK),
    "seq": _mostly(st.integers(-(2**40), 2**40), _JUNK, st.just(_ABSENT)),
    "t_browser": _mostly(st.one_of(st.floats(), st.integers(-5, 10**9)), _JUNK, st.just(_ABSENT)),
    "samples": _mostly(st.one_of(st.integers(0, 960), st.just(_ABSENT)), _JUNK),
    "clock": _mostly(st.one_of(st.sampled_from(sorted(m.FRONTEND_CLOCKS)), st.just(_ABSENT)), _JUNK),
    "buffers_b64": _mostly(st.just(_ABSENT), _JUNK),
}
_BUFFER = st.one_of(st.binary(max_size=8), st.binary(max_size=8).map(memoryview), st.text(max_size=2))


@settings(max_examples=500, deadline=None)
@given(
    fields=st.fixed_dictionaries(_MIC_FIELDS),
    buffers=_mostly(st.lists(_BUFFER, min_size=1, max_size=1), st.lists(_BUFFER, max_size=3)),
)
def test_mic_fast_path_accepts_only_what_the_validator_accepts(fields, buffers):
    envelope = {k: v for k, v in fields.items() if v is not _ABSENT}
    fast = m.mic_frame(envelope, buffers)  # never raises
    if fast is None:
        return
    assert m.validate_browser_envelope(*m.unpack(envelope, buffers)) is envelope
    pcm = m.as_bytes(buffers[0])
    assert fast == (envelope["seq"], float(envelope["t_browser"]), pcm, envelope.get("clock"))
    assert len(pcm) % 2 == 0 and "buffers_b64" not in envelope


def test_mic_fast_path_takes_what_the_page_and_the_callers_send():
    pcm = np.arange(480, dtype="<i2").tobytes()
    page = {"kind": "mic", "seq": 3, "t_browser": 12}  # JSON gives an int for a whole number
    for envelope in (m.mic(3, 12.5), m.mic(3, 12.5, clock="modelled"), page):
        for buf in (pcm, bytearray(pcm), memoryview(pcm)):
            seq, t_browser, got, clock = m.mic_frame(envelope, [buf])
            assert (seq, t_browser, got, clock) == (
                3,
                float(envelope["t_browser"]),
                pcm,
                envelope.get("clock"),
            )
            assert type(got) is bytes and type(t_browser) is float
    # left to the validator (which says what is wrong, or unpacks base64 first)
    assert m.mic_frame(m.mic(3, 1.0), [pcm[:-1]]) is None  # odd byte count
    assert m.mic_frame(m.mic(3, 1.0), [pcm, pcm]) is None
    assert m.mic_frame(dict(m.mic(3, 1.0), seq=True), [pcm]) is None
    assert m.mic_frame(m.pack(m.mic(3, 1.0), [pcm], "base64")[0], []) is None
    assert m.mic_frame([m.mic(3, 1.0)], [pcm]) is None


@pytest.mark.parametrize(
    ("envelope", "message"),
    [
        ({"kind": ["mic"]}, "unknown envelope kind ['mic']"),
        (
            {"kind": "mic", "seq": 1, "t_browser": 1.0, "clock": ["browser"]},
            "clock ['browser'] is not one of",
        ),
    ],
)
def test_unhashable_kind_or_clock_is_an_envelope_error_not_a_type_error(envelope, message):
    with pytest.raises(m.EnvelopeError) as err:
        m.validate_browser_envelope(envelope, [b"\0\0"])
    assert message in str(err.value)
