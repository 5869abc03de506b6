"""The run report: ``report.md`` plus plots, written next to the dataset.

Plots (PNG): ``v2v_ecdf.png`` (heard voice-to-voice over every turn of the run, the analysis'
ECDF), ``latency_by_scenario.png`` (per scenario, the distribution of each main latency),
``calls_timeline.png`` (each call as a bar on the wall clock: concurrency as it happened) and
``pacing.png`` (the callers' mic pacing p99 per call, ms). Plots skip nothing silently: a
scenario without values is named in the axes title.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MAIN_METRICS", "scenario_table", "write_report"]

#: The latencies shown per scenario (ms).
MAIN_METRICS = ("v2v_ms", "server_e2e_ms", "transcription_ms", "text_ms", "voice_ms", "tool_ms")


def scenario_table(result: Any) -> pd.DataFrame:
    """Per scenario: ``calls``, ``errored``, ``turns``, ``checks``, ``failed``, and ``<metric> p50``
    / ``<metric> p95`` (ms, over all turns of all repeats) for :data:`MAIN_METRICS`."""
    rows = []
    for sc in result.suite.scenarios:
        c = result.calls[result.calls["scenario"] == sc.name] if len(result.calls) else result.calls
        t = result.turns[result.turns["scenario"] == sc.name] if len(result.turns) else result.turns
        e = (
            result.expectations[result.expectations["scenario"] == sc.name]
            if len(result.expectations)
            else None
        )
        row: dict[str, Any] = {
            "scenario": sc.name,
            "calls": len(c),
            "errored": int((c["status"] == "error").sum()) if len(c) else 0,
            "turns": len(t),
            "checks": 0 if e is None else len(e),
            "failed": 0 if e is None else int((~e["passed"].astype(bool)).sum()),
        }
        for m in MAIN_METRICS:
            v = t[m].dropna() if m in t else pd.Series(dtype=float)
            row[f"{m} p50"] = float(v.quantile(0.5)) if len(v) else math.nan
            row[f"{m} p95"] = float(v.quantile(0.95)) if len(v) else math.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("scenario")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.0f}"
    return str(v)


def _markdown_table(df: pd.DataFrame) -> str:
    cols = [df.index.name or "", *df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, r in df.iterrows():
        lines.append("| " + " | ".join([str(idx), *(_fmt(v) for v in r.to_list())]) + " |")
    return "\n".join(lines)


def _plots(result: Any, root: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..analysis import plot_v2v_ecdf

    names = []
    td, calls = result.turns, result.calls

    fig, ax = plt.subplots(figsize=(7, 4))
    plot_v2v_ecdf(td if "v2v_ms" in td else pd.DataFrame({"v2v_ms": []}), ax=ax)
    ax.set_title(f"heard voice-to-voice, all {len(calls)} calls")
    names.append(_save(fig, root / "v2v_ecdf.png"))

    scen = [s.name for s in result.suite.scenarios]
    fig, axes = plt.subplots(1, len(MAIN_METRICS), figsize=(3 * len(MAIN_METRICS), 3.5), squeeze=False)
    for ax, m in zip(axes[0], MAIN_METRICS, strict=True):
        data = [td.loc[td["scenario"] == s, m].dropna().to_numpy() if m in td else np.zeros(0) for s in scen]
        empty = [s for s, d in zip(scen, data, strict=True) if not len(d)]
        ax.boxplot([d if len(d) else [np.nan] for d in data], tick_labels=scen, showfliers=True)
        ax.set_title(m + (f"\n(no values: {', '.join(empty)})" if empty else ""), fontsize=9)
        ax.tick_params(axis="x", rotation=30, labelsize=8)
        ax.set_ylabel("ms")
    names.append(_save(fig, root / "latency_by_scenario.png"))

    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.08 * len(calls) + 1)))
    if len(calls):
        start = pd.to_datetime(calls["wall_start"], utc=True)
        x0 = (start - start.min()).dt.total_seconds().to_numpy()
        colors = {s: f"C{i}" for i, s in enumerate(scen)}
        for i, (x, d, s) in enumerate(zip(x0, calls["duration_s"], calls["scenario"], strict=True)):
            ax.barh(i, d, left=x, color=colors.get(s, "gray"), height=0.8)
        for s, c in colors.items():
            ax.barh([], [], color=c, label=s)
        ax.legend(fontsize=8, loc="lower right")
    ax.set_xlabel("seconds since the first call started (wall clock)")
    ax.set_ylabel("call")
    ax.set_title("calls over time")
    names.append(_save(fig, root / "calls_timeline.png"))

    fig, ax = plt.subplots(figsize=(6, 3.5))
    pace = calls["pacing_p99_ms"].dropna().to_numpy() if len(calls) else np.zeros(0)
    if len(pace):
        ax.hist(pace, bins=min(30, max(5, len(pace) // 2)), color="tab:blue")
        ax.axvline(10, color="tab:red", ls="--", label="10 ms")
        ax.legend()
    ax.set_xlabel("caller mic pacing p99 per call (ms late)")
    ax.set_ylabel("calls")
    ax.set_title(f"caller pacing ({len(pace)} calls)")
    names.append(_save(fig, root / "pacing.png"))
    return names


def _save(fig: Any, path: Path) -> str:
    import matplotlib.pyplot as plt

    try:
        fig.tight_layout()
        fig.savefig(path, dpi=90)
    finally:
        plt.close(fig)
    return path.name


def write_report(result: Any, root: str | Path) -> Path:
    """Write ``report.md`` and the plots into ``root``; returns the markdown's path."""
    root = Path(root)
    s, st = result.settings, scenario_table(result)
    lines = [
        f"# Suite {result.suite.name} — run {result.run_id}",
        "",
        f"**{'PASSED' if result.passed else 'FAILED'}** · {len(result.calls)} calls · "
        f"{len(result.turns)} turns · {len(result.expectations)} expectation results · "
        f"backend {s.get('backend')} · concurrency {s.get('concurrency')} · workers {s.get('workers')}"
        + (f" · engine {s['engine']}" if s.get("engine") else "")
        + (f" · sim latency {s['sim_latency']}" if s.get("sim_latency") else ""),
        "",
        f"Wall time {result.wall_s:.1f} s for {s.get('conversation_s', 0):.1f} s of conversation "
        f"(sum of call durations): {s.get('conversation_s', 0) / max(result.wall_s, 1e-9):.1f} calls' worth "
        "of conversation per second of wall time.",
        "",
        "## Scenarios (latencies in ms, over all turns of all repeats)",
        "",
        _markdown_table(st),
        "",
        "## Failures",
        "",
    ]
    failures = result.failure_lines()
    lines += [f"- {f}" for f in failures] or ["None."]
    lines += ["", *[f"**{w}**" for w in result.warning_lines()]]
    pace = result.calls["pacing_p99_ms"].dropna() if len(result.calls) else pd.Series(dtype=float)
    if len(pace):
        lines += [
            "",
            "## Caller pacing",
            "",
            f"Mic frames handed over late (ms), per call p99: median {pace.median():.1f}, "
            f"worst {pace.max():.1f}; calls with p99 > 10 ms: {int((pace > 10).sum())}/{len(pace)}.",
        ]
    lines += ["", "## Plots", ""]
    lines += [f"![{n}]({n})" for n in _plots(result, root)]
    lines += ["", 'Query the dataset: `vatel_nb.dataset.open(".")` (DuckDB) — see docs/suites.md.', ""]
    path = root / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
