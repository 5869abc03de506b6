"""`vatel-nb suite init | run | compare`: regression suites and load tests (docs/suites.md).

Exit codes: 0 passed / no regression; 1 an expectation failed, a call errored, or a metric
regressed; 2 bad input (suite file, options, folder), with one line saying what to fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._outputs import fail, progress

__all__ = ["add_suite"]


def add_suite(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "suite",
        help="regression suites and load tests: init, run, compare",
        description="Replay scripted conversations against an agent (the embedded simulator by default), "
        "check expectations and latency budgets, store every turn in a Parquet dataset, compare runs.",
    )
    ss = p.add_subparsers(dest="suite_command", metavar="SUITE_COMMAND")

    q = ss.add_parser("init", help="write a documented example suite (passes against the simulator)")
    q.add_argument("folder", type=Path, help="folder to write suite.toml into")
    q.add_argument("--force", action="store_true", help="replace an existing suite.toml")
    q.set_defaults(run=_run_init)

    r = ss.add_parser(
        "run", help="run a suite file", description="Run every scenario of FILE, repeats times."
    )
    r.add_argument("file", type=Path, help="the suite file (TOML)")
    r.add_argument(
        "--out", type=Path, default=None, help="run folder to write (default ./vatel-suite-<time>)"
    )
    r.add_argument(
        "--concurrency", type=int, default=None, metavar="N", help="calls at once (default: suite's)"
    )
    r.add_argument("--repeats", type=int, default=None, metavar="N", help="override every scenario's repeats")
    r.add_argument("--base-url", default=None, help="server root (default $VATEL_BASE_URL; none: simulator)")
    r.add_argument("--api-key", default=None, help="API key (default $VATEL_API_KEY)")
    r.add_argument("--agent-id", default=None, help="agent UUID (default: suite's agent_id, $VATEL_AGENT_ID)")
    r.add_argument("--junit", type=Path, default=None, metavar="FILE", help="also write JUnit XML to FILE")
    r.add_argument(
        "--budget",
        action="append",
        default=[],
        metavar="METRIC:PCTL:MS",
        help="add/override a budget, e.g. v2v_ms:p95:1500",
    )
    r.add_argument(
        "--sim-latency",
        action="append",
        default=[],
        metavar="STAGE=SECONDS",
        help="simulator delay, e.g. text=0.2",
    )
    r.add_argument("--workers", type=int, default=1, metavar="N", help="local processes (default 1)")
    r.add_argument(
        "--engine",
        default=None,
        metavar="dask|dask://HOST:PORT",
        help="run calls on Dask (LocalCluster or a scheduler)",
    )
    r.add_argument("--run-id", default=None, help="the run's id in the dataset (default: UTC time + random)")
    r.add_argument("--no-report", action="store_true", help="skip report.md and the plots")
    r.set_defaults(run=_run_run)

    c = ss.add_parser("compare", help="compare two runs: delta per scenario and metric with a bootstrap CI")
    c.add_argument("base", type=Path, help="the baseline run folder")
    c.add_argument("new", type=Path, help="the new run folder")
    c.add_argument("--stat", default="p50", help="statistic compared: p50 (default), p90, p95, mean")
    c.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    c.add_argument(
        "--tolerance-ms", type=float, default=25.0, help="smallest change that counts (ms, default 25)"
    )
    c.add_argument("--tolerance-pct", type=float, default=5.0, help="… or percent of the base (default 5)")
    c.add_argument("--csv", type=Path, default=None, help="also write the comparison as CSV")
    c.set_defaults(run=_run_compare)
    p.set_defaults(run=lambda _a: (p.print_help(), 2)[1])


def _run_init(args: argparse.Namespace) -> int:
    from ..suite import init_suite

    try:
        path = init_suite(args.folder, overwrite=args.force)
    except OSError as e:
        return fail("vatel-nb suite init", str(e), 2)
    print(f"wrote {path}")
    print(f"run it: vatel-nb suite run {path} --out {args.folder / 'runs' / 'first'}")
    return 0


def _run_run(args: argparse.Namespace) -> int:
    from .._errors import VatelError
    from ..suite import SuiteError, run
    from ._outputs import default_folder

    prog = "vatel-nb suite run"
    out = args.out or default_folder("vatel-suite")
    try:
        result = run(
            args.file,
            out,
            concurrency=args.concurrency,
            repeats=args.repeats,
            base_url=args.base_url,
            api_key=args.api_key,
            agent_id=args.agent_id,
            budgets=args.budget,
            sim_latency=args.sim_latency,
            workers=args.workers,
            engine=args.engine,
            run_id=args.run_id,
            junit=args.junit,
            report=not args.no_report,
        )
    except KeyboardInterrupt:
        return fail(prog, f"interrupted; calls already finished are in {out}", 130)
    except (SuiteError, VatelError, ValueError, OSError, ImportError) as e:
        return fail(prog, str(e), 2)
    print(result.summary().round(1).to_string())
    s = result.settings
    print(
        f"{len(result.calls)} calls, {len(result.turns)} turns, "
        f"{len(result.expectations)} expectation results; "
        f"wall {result.wall_s:.1f} s for {s['conversation_s']:.1f} s of conversation"
    )
    print(f"run folder: {out}  (report.md, junit.xml, dataset/)")
    for line in result.warning_lines() + result.failure_lines():
        print(line, file=sys.stderr)
    if not result.passed:
        return fail(prog, f"{len(result.failure_lines())} failure(s); see {out / 'junit.xml'}")
    progress("passed")
    return 0


def _run_compare(args: argparse.Namespace) -> int:
    from .. import dataset
    from ..suite import compare
    from ..suite._run import PACING_LIMIT_MS

    prog = "vatel-nb suite compare"
    try:
        df = compare(
            args.base,
            args.new,
            stat=args.stat,
            level=args.level,
            tolerance_ms=args.tolerance_ms,
            tolerance_pct=args.tolerance_pct,
        )
    except (ValueError, OSError, ImportError, LookupError) as e:
        return fail(prog, str(e), 2)
    if df.empty:
        return fail(prog, "no scenario and metric in common with enough values to compare", 2)
    if args.csv:
        df.to_csv(args.csv, index=False)
    shown = df[["scenario", "metric", "base", "new", "delta", "ci_low", "ci_high", "verdict"]]
    print(shown.round(1).to_string(index=False))
    for label, folder in (("BASE", args.base), ("NEW", args.new)):
        try:
            calls = dataset.open(folder).frame("calls")
        except (LookupError, FileNotFoundError):
            continue
        n = int((calls["pacing_p99_ms"] > PACING_LIMIT_MS).sum())
        if n:
            print(
                f"warning: {label} {folder}: {n}/{len(calls)} calls had caller pacing p99 > "
                f"{PACING_LIMIT_MS:g} ms: client-side latencies there include the caller's own delay",
                file=sys.stderr,
            )
    bad = df[df["verdict"] == "regressed"]
    for r in bad.itertuples():
        print(
            f"REGRESSED scenario {r.scenario}: {r.metric} {r.stat} {r.base:.1f} → {r.new:.1f} ms "
            f"(+{r.delta:.1f} ms, {args.level:.0%} CI {r.ci_low:+.1f}..{r.ci_high:+.1f}, "
            f"tolerance {r.tolerance:.0f} ms)",
            file=sys.stderr,
        )
    return 1 if len(bad) else 0
