"""Running a suite: plan the calls, run them (here, in processes, or on Dask), store and judge.

:func:`run` is what ``vatel-nb suite run`` and notebooks call; it returns a :class:`SuiteResult`
holding the run's three tables as DataFrames. The output folder (``docs/suites.md``)::

    run.json  suite.toml  junit.xml  report.md  *.png
    sessions/<scenario>/<call_id>/     each call's session folder (vatel_nb.log.load_session)
    dataset/{calls,turns,expectations}/suite=…/run=…/scenario=…/*.parquet
"""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ._call import CallResult, CallSpec
from ._expect import check_budget
from ._local import run_in_processes, run_on_loop, session_folder
from ._progress import Progress
from ._schema import Budget, Suite, load_suite, parse_budget
from ._store import write_rows
from ._target import EmbeddedSimulator, parse_sim_latency, resolve_target

__all__ = ["PACING_LIMIT_MS", "SuiteResult", "new_run_id", "run"]

#: Caller mic pacing p99 (ms) above which a call's client-side measurements are in doubt.
PACING_LIMIT_MS = 10.0


def new_run_id() -> str:
    """``YYYYmmddTHHMMSSZ-xxxx`` (UTC, plus 4 random hex digits): sortable, unique, path-safe."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


@dataclass
class SuiteResult:
    """A finished run. ``calls``, ``turns``, ``expectations``: its tables (``docs/suites.md``),
    each with ``suite``, ``run``, ``scenario`` columns. ``wall_s``: the run's wall time (s);
    ``out``: its folder (None when run without one). ``passed``: every expectation passed and no
    call errored."""

    suite: Suite
    run_id: str
    calls: pd.DataFrame
    turns: pd.DataFrame
    expectations: pd.DataFrame
    wall_s: float
    out: Path | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def failures(self) -> pd.DataFrame:
        """The failed expectation rows."""
        ex = self.expectations
        return ex[~ex["passed"].astype(bool)] if len(ex) else ex

    @property
    def passed(self) -> bool:
        errored = (self.calls["status"] == "error").any() if len(self.calls) else True
        return not len(self.failures) and not errored

    @property
    def starved(self) -> pd.DataFrame:
        """Calls whose caller was CPU-starved: mic pacing p99 > :data:`PACING_LIMIT_MS`. Their
        client-side latencies (``v2v_ms``, ``eou_ms``…) include the caller's own delay."""
        c = self.calls
        return c[c["pacing_p99_ms"] > PACING_LIMIT_MS] if len(c) and "pacing_p99_ms" in c else c.iloc[0:0]

    def warning_lines(self) -> list[str]:
        """A line when callers were starved (the measurement, not the agent, is in doubt)."""
        n = len(self.starved)
        if not n:
            return []
        worst = float(self.starved["pacing_p99_ms"].max())
        return [
            f"warning: {n}/{len(self.calls)} calls' caller mic pacing p99 > {PACING_LIMIT_MS:g} ms (worst "
            f"{worst:.0f} ms): this machine could not drive them in real time, so their client-side "
            "latencies (v2v_ms, eou_ms, playout_ms) include the caller's own delay; lower --concurrency, "
            "or spread calls with --workers / --engine"
        ]

    def failure_lines(self) -> list[str]:
        """One line per failed expectation (grouped over repeats) and per errored scenario, naming
        the scenario, the metric or check, and the figure."""
        out = []
        ex = self.failures
        for (scenario, _, kind, label), g in ex.groupby(
            ["scenario", "expectation", "kind", "label"], sort=False
        ):
            if kind == "budget":
                out.append(f"FAIL scenario {scenario}: {g['message'].iloc[0]}")
            else:
                n = int(
                    (self.expectations["label"] == label).mul(self.expectations["scenario"] == scenario).sum()
                )
                out.append(
                    f"FAIL scenario {scenario}: {label} failed in {len(g)}/{n} calls; "
                    f"e.g. {g['message'].iloc[0]}"
                )
        if len(self.calls):
            for scenario, g in self.calls[self.calls["status"] == "error"].groupby("scenario"):
                out.append(f"ERROR scenario {scenario}: {len(g)} call(s) failed, e.g. {g['error'].iloc[0]}")
        return out

    def summary(self) -> pd.DataFrame:
        """Per scenario: calls, turns, failed expectations, and p50/p95 of the main latencies (ms)."""
        from ._report import scenario_table

        return scenario_table(self)


def _plan(suite: Suite, run_id: str, target: Any) -> list[CallSpec]:
    """Every call, repeat-major so concurrent calls mix scenarios."""
    n = max(s.repeats for s in suite.scenarios)
    return [
        CallSpec(suite, s.name, r, run_id, target) for r in range(n) for s in suite.scenarios if r < s.repeats
    ]


def _execute(
    specs: list[CallSpec],
    concurrency: int,
    workers: int,
    engine: Any,
    root: Path,
    tick: Callable[[str, bool], None],
) -> list[CallResult]:
    if engine is not None:
        from ._dask import run_on_dask

        return run_on_dask(specs, concurrency, engine, workers, tick)
    if workers > 1:
        return run_in_processes(specs, concurrency, workers, root, lambda cid: tick(cid, True))

    def done(r: CallResult) -> None:
        tick(r.call["call_id"], r.call["status"] != "error" and not r.call["expectations_failed"])

    return asyncio.run(run_on_loop(specs, concurrency, root, done))


def _in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a fresh thread when this thread already runs a loop (a notebook cell)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # re-raised in the caller's thread
            box["error"] = e

    t = threading.Thread(target=target, name="vatel-suite-run")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def _frame(rows: list[dict], key: dict[str, str], columns: Sequence[str] = ()) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns) or None)
    for k, v in reversed(list(key.items())):
        df.insert(0, k, v)
    return df


def _store(result: CallResult, spec: CallSpec, root: Path) -> None:
    key = (spec.suite.name, spec.run_id, spec.scenario)
    if result.archive is not None:
        result.unpack(session_folder(root, spec) or root)
    write_rows(root / "dataset", "calls", key, spec.call_id, [result.call])
    write_rows(root / "dataset", "turns", key, spec.call_id, result.turns)
    write_rows(root / "dataset", "expectations", key, spec.call_id, result.expectations)


def run(
    suite: str | Path | Suite,
    out: str | Path | None = None,
    *,
    concurrency: int | None = None,
    repeats: int | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    agent_id: str | None = None,
    budgets: Sequence[str | Budget] = (),
    sim_latency: Sequence[str] | dict[str, float] | None = None,
    workers: int = 1,
    engine: Any = None,
    run_id: str | None = None,
    junit: str | Path | None = None,
    report: bool = True,
    progress: str = "auto",
) -> SuiteResult:
    """Run ``suite`` (a suite file or a :class:`Suite`) and return its tables.

    ``out``: the run's folder (must not hold files yet); None = a temporary one, deleted after
    (the DataFrames are still returned). ``concurrency``: calls at once (default the suite's).
    ``repeats``: override every scenario's. ``base_url``/``api_key``/``agent_id``: a real
    service (else ``$VATEL_*``, else the embedded simulator). ``budgets``: ``"METRIC:PCTL:MS"``
    added to every scenario (replacing one on the same metric and percentile). ``sim_latency``:
    the simulator's injected delays, ``["text=0.2", …]`` or ``{stage: s}``. ``workers``: local
    processes. ``engine``: ``"dask"`` (a LocalCluster of ``workers`` processes),
    ``"dask://HOST:PORT"`` / ``"tcp://…"`` (a running scheduler) or a ``distributed.Client``.
    ``junit``: also write the JUnit file there. ``progress``: ``auto|widget|bar|none``.
    In a notebook (a running loop) it runs in a helper thread and blocks the cell until done.
    """
    s = suite if isinstance(suite, Suite) else load_suite(suite)
    s = s.with_budgets([b if isinstance(b, Budget) else parse_budget(b) for b in budgets])
    if repeats is not None:
        s = s.with_repeats(repeats)
    conc = int(concurrency or s.concurrency)
    if conc < 1 or workers < 1:
        raise ValueError("concurrency and workers must be >= 1")
    latency = parse_sim_latency(sim_latency)
    target = resolve_target(s, base_url=base_url, api_key=api_key, agent_id=agent_id)
    if target is not None and latency:
        raise ValueError(
            "--sim-latency applies to the embedded simulator only; drop it or the --base-url/--api-key"
        )
    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="vatel-suite-run-")
        root = Path(tmp.name)
    else:
        root = Path(out)
        if root.exists() and any(root.iterdir()):
            raise FileExistsError(f"{root} already holds files; give each run a new --out folder")
        root.mkdir(parents=True, exist_ok=True)
    rid = run_id or new_run_id()
    settings = {
        "suite": s.name,
        "run": rid,
        "suite_file": str(s.path) if s.path else None,
        "concurrency": conc,
        "workers": workers,
        "engine": None
        if engine is None
        else str(engine if isinstance(engine, str) else type(engine).__name__),
        "backend": "simulator" if target is None else target.base_url,
        "sim_latency": latency,
        "budgets": [b if isinstance(b, str) else b.label for b in budgets],
        "started": datetime.now(timezone.utc).isoformat(),
    }
    # the bar is made here, in the caller's thread (a notebook cell's output), then updated from the run
    bar = Progress(sum(sc.repeats for sc in s.scenarios), progress)
    try:
        return _in_thread(
            lambda: _run(
                s, root, rid, conc, workers, engine, target, latency, settings, bar, report, junit, out
            )
        )
    finally:
        if tmp is not None:
            tmp.cleanup()


def _run(
    s: Suite,
    root: Path,
    rid: str,
    conc: int,
    workers: int,
    engine: Any,
    target: Any,
    latency: dict[str, float],
    settings: dict[str, Any],
    bar: Progress,
    report: bool,
    junit: str | Path | None,
    out: Any,
) -> SuiteResult:
    sim = EmbeddedSimulator(s, latency) if target is None else None
    t0 = time.perf_counter()
    if sim is not None:
        sim.__enter__()
        target = sim.target
    try:
        specs = _plan(s, rid, target)
        try:
            results = _execute(specs, conc, workers, engine, root, bar.advance)
        finally:
            bar.close()
    finally:
        if sim is not None:
            sim.__exit__(None, None, None)
    wall = time.perf_counter() - t0
    by_id = {sp.call_id: sp for sp in specs}
    for r in results:
        _store(r, by_id[r.call["call_id"]], root)
    tables = _tables(s, rid, results, by_id, root)
    settings.update(
        wall_s=wall,
        calls=len(results),
        conversation_s=float(tables[0]["duration_s"].sum()) if len(tables[0]) else 0.0,
    )
    result = SuiteResult(
        s, rid, *tables, wall_s=wall, out=root if out is not None else None, settings=settings
    )
    (root / "run.json").write_text(json.dumps(settings, indent=1, default=str), encoding="utf-8")
    if s.path is not None:
        shutil.copyfile(s.path, root / "suite.toml")
    from ._junit import write_junit

    write_junit(root / "junit.xml", s.name, rid, result.expectations, result.calls)
    if junit is not None:
        write_junit(junit, s.name, rid, result.expectations, result.calls)
    if report:
        from ._report import write_report

        write_report(result, root)
    return result


def _tables(
    s: Suite, rid: str, results: list[CallResult], by_id: dict[str, CallSpec], root: Path
) -> tuple[pd.DataFrame, ...]:
    """The run's calls, turns and expectations tables; checks and stores the budgets."""
    calls, turns, checks = [], [], []
    for sc in s.scenarios:
        key = {"suite": s.name, "run": rid, "scenario": sc.name}
        mine = [r for r in results if by_id[r.call["call_id"]].scenario == sc.name]
        calls.append(_frame([r.call for r in mine], key))
        td = pd.concat([r.turns for r in mine], ignore_index=True) if mine else pd.DataFrame()
        turns.append(td.assign(**key) if len(td) else td)
        budget_rows = []
        for j, b in enumerate(sc.budgets):
            values = td[b.metric] if b.metric in td else []
            row = check_budget(b, values, len(sc.expect) + j)
            row.update(repeat=None, call_id=None)
            budget_rows.append(row)
        write_rows(root / "dataset", "expectations", (s.name, rid, sc.name), "budgets", budget_rows)
        rows = [c for r in mine for c in r.expectations] + budget_rows
        checks.append(_frame(rows, key))
    return tuple(pd.concat(parts, ignore_index=True) for parts in (calls, turns, checks))
