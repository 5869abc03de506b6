"""summary(), floor transfers, the live last-turn latency, compare_sessions, join_call_record."""

from __future__ import annotations

import pandas as pd
import pytest

from vatel_nb.analysis import (
    SyntheticCall,
    compare_sessions,
    floor_transfers,
    join_call_record,
    last_turn_latency_ms,
    summary,
    turns,
)
from vatel_nb.log import EventLog, save_session


def _call(v2v_extra: float = 0.0) -> SyntheticCall:
    c = SyntheticCall()
    c.session_started(0.1)
    c.pings(30)
    c.agent_reply("g", 0.5, 0.6, 1.0, text="Hello")
    c.user_speech(3.0, 4.0)
    c.transcript(4.6, "one", turn_id="u1")
    c.agent_reply("a1", 4.8, 5.0 + v2v_extra, 1.5, text="first")
    c.user_speech(8.0, 9.0)
    c.transcript(9.6, "two", turn_id="u2")
    c.agent_reply("a2", 9.8, 10.2 + v2v_extra, 3.0, text="second", cut_at=11.0)
    c.user_speech(10.9, 11.5)
    c.transcript(12.1, "three", turn_id="u3")
    c.agent_reply("a3", 12.3, 12.5 + v2v_extra, 1.0, text="third")
    c.user_speech(20.0, 21.0)  # unanswered
    c.mic(22.0)
    return c


def test_summary_percentiles_and_turn_taking():
    c = _call()
    td = turns(c.log)
    s = summary(td, c.log.frame(), long_silence_s=5.0)
    v2v = td["v2v_ms"].dropna()
    assert s.loc["v2v_ms", "n"] == len(v2v) == 3
    assert s.loc["v2v_ms", "p50"] == pytest.approx(v2v.median())
    assert s.loc["v2v_ms", "max"] == pytest.approx(v2v.max())
    assert s.loc["turns", "value"] == 4 and s.loc["silent", "value"] == 1
    assert s.loc["agent_initiated", "value"] == 1 and s.loc["interrupted", "value"] == 1
    assert s.loc["interruptions_by_user", "value"] == 1
    ft = floor_transfers(td)
    assert s.loc["overlaps", "value"] == (ft["fto_ms"] < 0).sum() == 1  # the barge-in
    # agent a3 ends at 12.58 + 1.0; the user speaks again at 20.0: one long silence (> 5 s)
    assert s.loc["long_silences", "value"] == 1
    assert ft["fto_ms"].max() == pytest.approx((20.0 - 13.58) * 1000.0)
    assert 0 < s.loc["overlap_ratio", "value"] < 0.1
    assert s.loc["user_speech_s", "value"] == pytest.approx(1.0 + 1.0 + 0.6 + 1.0, abs=0.05)
    assert s.loc["call_duration_s", "value"] > 20
    assert set(s["unit"]) >= {"ms", "count", "s", "ratio"}


def test_last_turn_latency_matches_turns_and_falls_back():
    c = _call()
    td = turns(c.log)
    r = last_turn_latency_ms(c.log)
    last = td[td["turn_id"] == "a3"].iloc[0]
    assert r.kind == "v2v" and r.turn_id == "a3"
    assert r.value_ms == pytest.approx(last["v2v_ms"], abs=1.0)
    # no browser reports: server e2e on the kernel clock
    log = EventLog()
    log.append("local", "agent", 0.0, detail={"vad_settings": {"stop_secs": 0.4}})
    log.append("server", "speech_stopped", 2.0)
    log.append("server", "response_audio", 2.9, turn_id="x", samples=480)
    r2 = last_turn_latency_ms(log)
    assert r2.kind == "server_e2e" and r2.value_ms == pytest.approx(1300.0)
    assert last_turn_latency_ms(EventLog()) is None


def test_compare_sessions_side_by_side_and_turns(tmp_path):
    a, b = _call(), _call(v2v_extra=0.3)
    pa = save_session(a.log, tmp_path / "fast")
    wide = compare_sessions([pa, b.log], labels=["fast", "slow"])
    assert wide.loc["v2v_ms", ("slow", "p50")] - wide.loc["v2v_ms", ("fast", "p50")] == pytest.approx(300.0)
    assert wide.loc["turns", ("fast", "value")] == 4
    both = compare_sessions([pa, b.log], labels=["fast", "slow"], what="turns")
    assert both.columns[0] == "session" and both["session"].value_counts().to_dict() == {"fast": 5, "slow": 5}
    long = compare_sessions([pa], what="long")
    assert set(long["session"]) == {"fast"}
    with pytest.raises(ValueError, match="labels"):
        compare_sessions([pa, b.log], labels=["x"])


def test_join_call_record_by_turn_id_and_by_order():
    c = _call()
    td = turns(c.log)
    call = {
        "id": "s-1",
        "transcript": {
            "entries": [
                {
                    "index": 0,
                    "role": "assistant",
                    "type": "message",
                    "message": "Hello!",
                    "turnId": "g",
                    "createdAt": "2026-11-23T10:00:00Z",
                },
                {"index": 1, "role": "user", "type": "message", "message": "One.", "turnId": "u1"},
                {"index": 2, "role": "assistant", "type": "message", "message": "First.", "turnId": "a1"},
                {"index": 3, "role": "user", "type": "message", "message": "Two."},
                {"index": 4, "role": "assistant", "type": "message", "message": "Second."},
                {"index": 5, "type": "interruption", "role": ""},
                {"index": 6, "role": "user", "type": "message", "message": "Three.", "turnId": "u3"},
                {"index": 7, "role": "assistant", "type": "message", "message": "Third.", "turnId": "a3"},
                {"index": 8, "type": "tool_call", "turnId": "a3", "toolCall": {"toolName": "x"}},
            ]
        },
    }
    j = join_call_record(td, call)
    assert pd.isna(j.loc[0, "call_user_message"])  # the greeting row has no user message
    assert j["call_user_message"].tolist()[1:4] == ["One.", "Two.", "Three."]
    assert j["call_agent_message"].tolist()[:4] == ["Hello!", "First.", "Second.", "Third."]
    assert j["call_join"].tolist()[:4] == ["turn_id", "turn_id", "order", "turn_id"]
    assert j.loc[3, "call_tool_calls"] == 1
    assert j.loc[0, "call_agent_created_at"] == pd.Timestamp("2026-11-23T10:00:00Z")
    assert pd.isna(j.loc[4, "call_user_message"])  # the unanswered turn: the record has no 4th user line
    with pytest.raises(ValueError, match="transcript"):
        join_call_record(td, {"id": "x"})
    # a typed record (attributes instead of keys) joins the same way
    from types import SimpleNamespace

    typed = SimpleNamespace(
        transcript=SimpleNamespace(entries=[SimpleNamespace(**e) for e in call["transcript"]["entries"]])
    )
    jt = join_call_record(td, typed)
    assert jt["call_agent_message"].tolist()[:4] == ["Hello!", "First.", "Second.", "Third."]
