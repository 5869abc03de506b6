"""``compare(BASE, NEW)``: per scenario and latency metric, the change with a bootstrap interval.

The statistic (default the median, ``p50``) of a metric is taken over all turns of a scenario's
calls. Its change ``delta = new − base`` gets a percentile bootstrap confidence interval that
resamples **calls** (not turns: turns of one call share its conditions), independently in both
runs, ``n_boot`` times. Verdicts:

``regressed``  the whole interval lies above the tolerance (``ci_low > tolerance``)
``improved``   the whole interval lies below minus the tolerance
``same``       otherwise (the change is within noise or too small to matter)

``tolerance`` = max(``tolerance_ms``, ``tolerance_pct`` % of the base value): a change smaller
than that is not worth failing CI for even when it is real (two runs on a busy machine differ
by a few ms systematically). Metrics with fewer than ``min_n`` values on either side are left out.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["compare", "load_run_turns"]


def load_run_turns(source: Any) -> pd.DataFrame:
    """The turns of one run: a :class:`~vatel_nb.suite.SuiteResult`, a turns DataFrame (with
    ``scenario`` and ``call_id`` columns), or a run's output folder (read with DuckDB)."""
    if isinstance(source, pd.DataFrame):
        return source
    if hasattr(source, "turns") and isinstance(source.turns, pd.DataFrame):
        return source.turns
    from .. import dataset

    ds = dataset.open(Path(source))
    runs = [r[0] for r in ds.sql("select distinct run from turns").fetchall()]
    if len(runs) != 1:
        raise ValueError(
            f"{source} holds {len(runs)} runs ({', '.join(map(str, runs))}); give one run's folder"
        )
    return ds.frame("turns")


def _stat(values: np.ndarray, q: float) -> float:
    return float(np.mean(values)) if q < 0 else float(np.percentile(values, q))


def _boot(groups: list[np.ndarray], q: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """The statistic over ``n`` resamples of the calls (``groups``: each call's values)."""
    k = len(groups)
    width = max(len(g) for g in groups)
    padded = np.full((k, max(width, 1)), np.nan)
    for i, g in enumerate(groups):
        padded[i, : len(g)] = g
    sample = padded[rng.integers(0, k, size=(n, k))].reshape(n, -1)  # n resamples × all their values
    count = np.sum(~np.isnan(sample), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample of calls without values → NaN
        if q < 0:
            return np.nanmean(sample, axis=1)
        # np.nanpercentile loops over rows in Python; sorting puts the NaNs last, so the linear
        # interpolation (numpy's default method) can index each row's valid prefix directly.
        srt = np.sort(sample, axis=1)
        pos = q / 100.0 * np.maximum(count - 1, 0)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
        rows = np.arange(n)
        out = srt[rows, lo] + (pos - lo) * (srt[rows, hi] - srt[rows, lo])
        return np.where(count > 0, out, np.nan)


def _groups(df: pd.DataFrame, metric: str) -> list[np.ndarray]:
    values = df[metric].to_numpy(dtype=float, na_value=np.nan)
    if "call_id" not in df:
        return [values[~np.isnan(values)]]
    codes, uniques = pd.factorize(df["call_id"], sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(1, len(uniques)))
    return [g[~np.isnan(g)] for g in np.split(values[order], bounds)]


def compare(
    base: Any,
    new: Any,
    *,
    stat: str = "p50",
    level: float = 0.95,
    n_boot: int = 2000,
    tolerance_ms: float = 25.0,
    tolerance_pct: float = 5.0,
    min_n: int = 5,
    metrics: list[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Compare two runs (see the module doc); one row per (scenario, metric) present in both:
    ``scenario, metric, stat, n_base, n_new`` (turns with a value), ``calls_base, calls_new,
    base, new, delta, ci_low, ci_high`` (ms), ``tolerance`` (ms), ``verdict``.
    ``stat``: ``p50``, ``p90``, ``p95``… or ``mean``."""
    from ..analysis import LATENCY_COLUMNS

    try:
        q = -1.0 if stat == "mean" else float(str(stat).lstrip("p"))
    except ValueError:
        q = math.inf
    if not (q == -1.0 or 0 <= q <= 100) or not 0 < level < 1:
        raise ValueError(f"stat must be pNN or mean and 0 < level < 1; got stat={stat!r}, level={level}")
    b, n = load_run_turns(base), load_run_turns(new)
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    rows = []
    scenarios = [s for s in pd.unique(b["scenario"]) if s in set(n["scenario"])]
    for sc in scenarios:
        bs, ns = b[b["scenario"] == sc], n[n["scenario"] == sc]
        for m in metrics or LATENCY_COLUMNS:
            if m not in bs or m not in ns:
                continue
            gb, gn = _groups(bs, m), _groups(ns, m)
            vb, vn = np.concatenate(gb), np.concatenate(gn)
            if len(vb) < min_n or len(vn) < min_n:
                continue
            sb, sn = _stat(vb, q), _stat(vn, q)
            d = _boot(gn, q, n_boot, rng) - _boot(gb, q, n_boot, rng)
            d = d[~np.isnan(d)]
            lo, hi = (
                (float(np.quantile(d, alpha)), float(np.quantile(d, 1 - alpha)))
                if len(d)
                else (math.nan,) * 2
            )
            tol = max(float(tolerance_ms), tolerance_pct / 100.0 * abs(sb))
            verdict = "regressed" if lo > tol else ("improved" if hi < -tol else "same")
            rows.append(
                {
                    "scenario": sc,
                    "metric": m,
                    "stat": stat,
                    "n_base": len(vb),
                    "n_new": len(vn),
                    "calls_base": len(gb),
                    "calls_new": len(gn),
                    "base": sb,
                    "new": sn,
                    "delta": sn - sb,
                    "ci_low": lo,
                    "ci_high": hi,
                    "tolerance": tol,
                    "verdict": verdict,
                }
            )
    cols = ["scenario", "metric", "stat", "n_base", "n_new", "calls_base", "calls_new", "base", "new",
            "delta", "ci_low", "ci_high", "tolerance", "verdict"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)
