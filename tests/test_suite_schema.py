"""The suite file: the example parses, every error names its key, budgets merge as documented."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from vatel_nb.suite import (
    EXAMPLE_SUITE,
    Budget,
    SuiteError,
    init_suite,
    load_suite,
    parse_budget,
    parse_suite,
)


def _suite(**scenario: object) -> dict:
    return {"suite": {"name": "s"}, "scenario": [{"name": "a", "say": ["hi"], **scenario}]}


def test_example_suite_has_three_scenarios_of_twenty(tmp_path: Path) -> None:
    path = init_suite(tmp_path)
    assert path.read_text() == EXAMPLE_SUITE
    s = load_suite(path)
    assert [sc.name for sc in s.scenarios] == ["time", "goodbye", "barge-in"]
    assert all(sc.repeats == 20 for sc in s.scenarios) and s.concurrency == 20
    kinds = {e.kind for sc in s.scenarios for e in sc.expect}
    assert kinds == {"tool_call", "agent_matches", "outcome", "agent_says", "call_ends"}
    time = s.scenario("time")
    # suite budgets plus the scenario's own
    assert {b.metric for b in time.budgets} == {"server_e2e_ms", "v2v_ms", "tool_ms"}
    barge = s.scenario("barge-in")
    assert barge.lines[1].barge_in == 1.0 and barge.lines[0].barge_in is None
    with pytest.raises(FileExistsError):
        init_suite(tmp_path)


def test_budget_syntax_and_override() -> None:
    b = parse_budget("v2v_ms:p95:1500")
    assert b == Budget("v2v_ms", 95.0, 1500.0)
    assert parse_budget("server_e2e_ms:max:2").percentile == 100.0
    for bad, word in [("v2v_ms:p95", "METRIC:PERCENTILE:MS"), ("nope_ms:p50:1", "unknown metric"),
                      ("v2v_ms:p150:1", "0..100"), ("v2v_ms:p50:fast", "milliseconds")]:  # fmt: skip
        with pytest.raises(SuiteError, match=word):
            parse_budget(bad)
    s = parse_suite(
        {
            "suite": {"name": "s"},
            "budget": [{"metric": "v2v_ms", "percentile": 50, "max_ms": 900}],
            "scenario": [{"name": "a", "say": ["hi"]}],
        }
    )
    s2 = s.with_budgets([parse_budget("v2v_ms:p50:1"), parse_budget("text_ms:p95:300")])
    assert s2.scenarios[0].budgets == (Budget("v2v_ms", 50, 1), Budget("text_ms", 95, 300))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"suite": {"name": "s"}}, "no \\[\\[scenario\\]\\]"),
        ({"suite": {"name": "bad name"}, "scenario": [{"name": "a", "say": ["x"]}]}, "name must be"),
        ({"suite": {"name": "s", "colour": 1}, "scenario": []}, "unknown key"),
        (_suite(say=[]), "must list what the user says"),
        (_suite(repeats=0), "repeats must be"),
        (_suite(expect=[{"tool_call": "t", "agent_says": "x"}]), "exactly one of"),
        (_suite(expect=[{"outcome": "happy"}]), "outcome must be one of"),
        (_suite(expect=[{"agent_matches": "(("}]), "not a valid regex"),
        (_suite(expect=[{"agent_says": "x", "turn": 2}]), "turn must be a user line number 1..1"),
        (_suite(expect=[{"agent_says": "x", "arguments": {"a": 1}}]), "goes with tool_call only"),
        (_suite(expect=[{"call_ends": "yes"}]), "true or false"),
        (_suite(say=[{"think": 1}]), "give text"),
        (_suite(say=[{"wav": "missing.wav"}]), "not found"),
        (_suite(say=["a", {"text": "b", "barge_in": -1}]), "barge_in must be seconds"),
        (_suite(say=[{"text": "b", "barge_in": 1}]), "first line cannot barge in"),
        (_suite(budget=[{"metric": "v2v_ms"}]), "missing 'max_ms'"),
        (
            {"suite": {"name": "s"}, "scenario": [{"name": "a", "say": ["x"]}, {"name": "a", "say": ["y"]}]},
            "unique",
        ),
        (
            {"suite": {"name": "s"}, "tools": {"t": 3}, "scenario": [{"name": "a", "say": ["x"]}]},
            "module:function",
        ),
    ],
)
def test_errors_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(SuiteError, match=message):
        parse_suite(data)


def test_wav_lines_resolve_against_the_suite_file(tmp_path: Path) -> None:
    clip = tmp_path / "clips" / "hi.wav"
    clip.parent.mkdir()
    with wave.open(str(clip), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(1600, np.int16).tobytes())
    (tmp_path / "suite.toml").write_text(
        '[[scenario]]\nname = "w"\n'
        'say = [{ wav = "clips/hi.wav", text = "hello" }, { wav = "clips/hi.wav" }]\n'
    )
    s = load_suite(tmp_path / "suite.toml")
    assert s.name == "suite"
    a, b = s.scenarios[0].lines
    assert a.wav == clip and a.transcript == "hello" and b.transcript == "[hi.wav]"


def test_bad_toml_says_where(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text("[suite\nname = 1\n")
    with pytest.raises(SuiteError, match="not valid TOML"):
        load_suite(tmp_path / "s.toml")
    with pytest.raises(SuiteError, match="cannot read"):
        load_suite(tmp_path / "none.toml")
