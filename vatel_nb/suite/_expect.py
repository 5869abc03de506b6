"""Checking expectations: behaviour per call (pure functions of the call's turns and events) and
latency budgets per scenario (over the turns of all its calls).

A result is a dict with the columns of the ``expectations`` table (see ``docs/suites.md``):
``expectation`` (index within the scenario, budgets after behaviour), ``kind``, ``label``,
``passed``, ``figure`` (the observed number: a percentile in ms for budgets, a count otherwise),
``limit`` (ms, budgets only), ``observed`` (what was seen, text) and ``message``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from ._schema import Budget, Expectation, Scenario, pctl_label

__all__ = ["check_budget", "check_call", "tool_calls"]


def tool_calls(events: pd.DataFrame) -> list[tuple[float, str, dict[str, Any]]]:
    """``(t, name, arguments)`` of every ``tool_call`` the server sent (kernel s since t0)."""
    rows = events[(events["source"] == "server") & (events["type"] == "tool_call")]
    out = []
    for r in rows.itertuples(index=False):
        detail = r.detail if isinstance(r.detail, dict) else {}
        args = detail.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                args = {"_raw": args}
        out.append((float(r.t), str(r.tool_name), dict(args) if isinstance(args, dict) else {}))
    return out


def _user_turns(turns: pd.DataFrame) -> pd.DataFrame:
    return turns[turns["outcome"] != "agent-initiated"].reset_index(drop=True)


def _scope(turns: pd.DataFrame, turn: int | None) -> tuple[pd.DataFrame, str]:
    """The turns an expectation looks at: all, or the ``turn``-th user turn (1-based)."""
    if turn is None:
        return turns, "the call"
    user = _user_turns(turns)
    return user.iloc[turn - 1 : turn], f"user turn {turn}"


def _texts(df: pd.DataFrame) -> str:
    return " ".join(str(t) for t in df["agent_text"].dropna() if str(t))


def _result(e: Expectation, passed: bool, observed: str, message: str, figure: float = math.nan) -> dict:
    return {
        "kind": e.kind,
        "label": e.label,
        "passed": bool(passed),
        "figure": float(figure),
        "limit": math.nan,
        "observed": observed,
        "message": "" if passed else message,
    }


def _check(e: Expectation, turns: pd.DataFrame, events: pd.DataFrame) -> dict:
    scoped, where = _scope(turns, e.turn)
    if e.turn is not None and scoped.empty:
        n = len(_user_turns(turns))
        return _result(e, False, f"{n} user turn(s)", f"{e.label}: the call has only {n} user turn(s)")
    if e.kind == "tool_call":
        calls = tool_calls(events)
        if e.turn is not None:
            row = scoped.iloc[0]
            lo = row["user_start"] if not math.isnan(row["user_start"]) else -math.inf
            nxt = _user_turns(turns)["user_start"]
            hi = nxt.iloc[e.turn] if e.turn < len(nxt) and not math.isnan(nxt.iloc[e.turn]) else math.inf
            calls = [c for c in calls if lo <= c[0] < hi]
        named = [c for c in calls if c[1] == e.value]
        want = e.arguments or {}
        hits = [c for c in named if all(c[2].get(k) == v for k, v in want.items())]
        seen = "; ".join(f"{n}({json.dumps(a, sort_keys=True)})" for _, n, a in calls) or "no tool calls"
        return _result(e, bool(hits), seen, f"{e.label} expected in {where}; saw {seen}", len(hits))
    if e.kind in ("agent_says", "agent_matches"):
        text = _texts(scoped)
        if e.kind == "agent_says":
            ok = e.value.lower() in text.lower()
        else:
            ok = re.search(e.value, text) is not None
        shown = text if len(text) <= 200 else text[:197] + "…"
        return _result(e, ok, shown, f"{e.label} not found in what the agent said in {where}: {shown!r}")
    if e.kind == "outcome":
        outcomes = [str(o) for o in scoped["outcome"]]
        n = sum(o == e.value for o in outcomes)
        return _result(e, n > 0, ", ".join(outcomes), f"{where}: outcome {outcomes} has no {e.value!r}", n)
    # call_ends: the agent hung up (the server sent session_ended)
    ended = bool(((events["source"] == "server") & (events["type"] == "session_ended")).any())
    seen = "the agent ended the call" if ended else "the caller ended the call"
    return _result(e, ended == bool(e.value), seen, f"{e.label}, but {seen}", float(ended))


def check_call(scenario: Scenario, turns: pd.DataFrame, events: pd.DataFrame) -> list[dict]:
    """Every behaviour expectation of ``scenario`` checked on one call (``turns()`` and events)."""
    out = []
    for i, e in enumerate(scenario.expect):
        r = _check(e, turns, events)
        r["expectation"] = i
        out.append(r)
    return out


def check_budget(budget: Budget, values: Any, index: int) -> dict:
    """A latency budget over ``values`` (ms; NaN ignored): the percentile must be ≤ ``max_ms``.
    No values at all fails (a budget on a metric that was never measured proves nothing)."""
    v = pd.Series(values, dtype=float).dropna().to_numpy()
    label = budget.label
    if not len(v):
        return {
            "expectation": index,
            "kind": "budget",
            "label": label,
            "passed": False,
            "figure": math.nan,
            "limit": budget.max_ms,
            "observed": "no values",
            "message": f"budget {budget.metric} {pctl_label(budget.percentile)}: no turn measured "
            f"{budget.metric}",
        }
    fig = float(np.percentile(v, budget.percentile))
    ok = fig <= budget.max_ms
    p = pctl_label(budget.percentile)
    return {
        "expectation": index,
        "kind": "budget",
        "label": label,
        "passed": ok,
        "figure": fig,
        "limit": budget.max_ms,
        "observed": f"{fig:.1f} ms (n={len(v)})",
        "message": ""
        if ok
        else f"budget {budget.metric} {p} = {fig:.1f} ms > {budget.max_ms:g} ms (n={len(v)})",
    }
