"""The envelope's Python side: builders, the validator, buffers, and agreement with js/src/messages.js."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

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
