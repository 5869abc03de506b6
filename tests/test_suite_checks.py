"""Expectations, budgets and the bootstrap comparison, as pure functions on frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vatel_nb.suite import compare, parse_suite
from vatel_nb.suite._expect import check_budget, check_call


def _turns() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": ["agent-initiated", "interrupted", "responded"],
            "agent_text": ["Hello!", "You said: a long story", "It is 10:42 in Asia/Tokyo."],
            "user_start": [math.nan, 2.0, 8.0],
            "v2v_ms": [math.nan, 700.0, 900.0],
        }
    )


def _events(ended: bool) -> pd.DataFrame:
    rows = [
        {"t": 8.5, "source": "server", "type": "tool_call", "tool_name": "get_time",
         "detail": {"arguments": {"timezone": "Asia/Tokyo"}}},
        {"t": 9.0, "source": "server", "type": "response_text", "tool_name": None, "detail": None},
    ]  # fmt: skip
    if ended:
        rows.append(
            {"t": 12.0, "source": "server", "type": "session_ended", "tool_name": None, "detail": None}
        )
    return pd.DataFrame(rows)


def _scenario(expect: list[dict]):
    return parse_suite({"scenario": [{"name": "s", "say": ["a", "b"], "expect": expect}]}).scenarios[0]


@pytest.mark.parametrize(
    ("expect", "passed"),
    [
        ({"tool_call": "get_time"}, True),
        ({"tool_call": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}, True),
        ({"tool_call": "get_time", "arguments": {"timezone": "UTC"}}, False),
        ({"tool_call": "get_time", "turn": 2}, True),
        ({"tool_call": "get_time", "turn": 1}, False),
        ({"tool_call": "book_flight"}, False),
        ({"agent_says": "it is 10:42"}, True),
        ({"agent_says": "story", "turn": 2}, False),
        ({"agent_matches": r"\d{1,2}:\d{2}"}, True),
        ({"agent_matches": r"^Goodbye"}, False),
        ({"outcome": "interrupted", "turn": 1}, True),
        ({"outcome": "interrupted", "turn": 2}, False),
        ({"outcome": "silent"}, False),
        ({"call_ends": True}, True),
        ({"call_ends": False}, False),
    ],
)
def test_behaviour_checks(expect: dict, passed: bool) -> None:
    [r] = check_call(_scenario([expect]), _turns(), _events(ended=True))
    assert r["passed"] is passed, r
    assert (r["message"] == "") is passed
    if not passed:
        assert r["label"].split()[0] in r["message"] or "turn" in r["message"]


def test_call_ends_false_when_the_caller_hung_up() -> None:
    [r] = check_call(_scenario([{"call_ends": True}]), _turns(), _events(ended=False))
    assert not r["passed"] and "the caller ended the call" in r["message"]


def test_turn_beyond_the_call_fails_clearly() -> None:
    turns = _turns().iloc[:2]
    [r] = check_call(_scenario([{"agent_says": "x", "turn": 2}]), turns, _events(True))
    assert not r["passed"] and "only 1 user turn" in r["message"]


def test_budget_percentiles_and_missing_values() -> None:
    s = parse_suite(
        {"scenario": [{"name": "s", "say": ["a"], "budget": [{"metric": "v2v_ms", "max_ms": 800}]}]}
    )
    b = s.scenarios[0].budgets[0]
    ok = check_budget(b, [700, 750, 5000], 0)
    assert ok["passed"] and ok["figure"] == 750
    bad = check_budget(b, [700, 900, 950, float("nan")], 1)
    assert (
        not bad["passed"]
        and bad["figure"] == 900
        and "v2v_ms p50 = 900.0 ms > 800 ms (n=3)" in bad["message"]
    )
    none = check_budget(b, [], 2)
    assert not none["passed"] and "no turn measured" in none["message"]


def _run(shift: float, seed: int, calls: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(calls):
        call_effect = rng.normal(0, 40)  # calls differ: the bootstrap must resample calls
        for _ in range(3):
            rows.append(
                {
                    "scenario": "s",
                    "call_id": f"s-{c:03d}",
                    "v2v_ms": 800 + shift + call_effect + rng.normal(0, 60),
                }
            )
    return pd.DataFrame(rows)


def test_compare_tells_a_shift_from_noise() -> None:
    base = _run(0, 1)
    same = compare(base, _run(0, 2), metrics=["v2v_ms"])
    assert same["verdict"].tolist() == ["same"]
    lo, hi = same.loc[0, ["ci_low", "ci_high"]]
    assert lo < same.loc[0, "delta"] < hi
    slow = compare(base, _run(200, 3), metrics=["v2v_ms"])
    assert slow["verdict"].tolist() == ["regressed"]
    assert 100 < slow.loc[0, "delta"] < 300 and slow.loc[0, "ci_low"] > slow.loc[0, "tolerance"]
    fast = compare(_run(200, 3), base, metrics=["v2v_ms"])
    assert fast["verdict"].tolist() == ["improved"]


def test_compare_tolerance_and_min_n() -> None:
    base, new = _run(0, 1), _run(40, 3)
    strict = compare(base, new, metrics=["v2v_ms"], tolerance_ms=0, tolerance_pct=0)
    lenient = compare(base, new, metrics=["v2v_ms"], tolerance_ms=200)
    assert lenient["verdict"].tolist() == ["same"]
    assert strict.loc[0, "tolerance"] == 0
    assert compare(base.iloc[:3], new, metrics=["v2v_ms"]).empty  # fewer than min_n values
    with pytest.raises(ValueError, match="stat must be"):
        compare(base, new, stat="best")


def test_progress_widget_and_bar(capsys: pytest.CaptureFixture[str]) -> None:
    from vatel_nb.suite._progress import Progress

    w = Progress(3, "widget")
    w.advance("a")
    w.advance("b", ok=False)
    assert w._bar.value == 2 and w._bar.bar_style == "danger" and "2/3 calls, 1 failed" in w._text.value
    w.close()
    b = Progress(20, "bar")  # stderr is not a TTY under pytest: a line every 10 %
    for _ in range(20):
        b.advance()
    b.close()
    lines = capsys.readouterr().err.strip().splitlines()
    assert 10 <= len(lines) <= 11 and lines[-1].startswith("20/20 calls")


def test_bootstrap_percentile_matches_numpy() -> None:
    from vatel_nb.suite._compare import _boot

    rng = np.random.default_rng(5)
    groups = [rng.normal(size=int(rng.integers(1, 5))) for _ in range(7)] + [np.zeros(0)]
    for q in (0, 37.5, 50, 95, 100, -1):
        a = _boot(groups, q, 50, np.random.default_rng(1))
        idx = np.random.default_rng(1).integers(0, len(groups), size=(50, len(groups)))
        want = []
        for row in idx:
            v = np.concatenate([groups[i] for i in row])
            want.append(np.nan if not len(v) else (v.mean() if q < 0 else np.percentile(v, q)))
        np.testing.assert_allclose(a, want)
