"""`vatel-nb suite` end to end against the real embedded simulator (real sockets, real audio).

Small versions of the issue's acceptance runs (the full 3 × 20 at concurrency 20 is in the
report and bench/bench_suite.py): the example suite with 1 repeat passes and writes JUnit and a
dataset DuckDB reads; a broken budget exits 1 naming scenario and metric; compare tells an
injected text delay from noise; Dask's LocalCluster and local processes give the same counts.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import vatel_nb.dataset
from vatel_nb.cli import main
from vatel_nb.suite import compare, init_suite, load_suite, run

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_vatel_env")]

#: One short scenario for the runs that only need many calls, not every behaviour.
TIME_ONLY = """\
[suite]
name = "clock"
repeats = 6
concurrency = 6
[[scenario]]
name = "time"
say = ["What time is it?"]
  [[scenario.expect]]
  tool_call = "get_time"
  arguments = { timezone = "UTC" }
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_suite(tmp_path_factory.mktemp("suite"))


@pytest.fixture(scope="module")
def example_run(example: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, Path]:
    out = tmp_path_factory.mktemp("runs") / "base"
    junit = out.parent / "junit.xml"
    code = main(["suite", "run", str(example), "--out", str(out), "--repeats", "1", "--concurrency", "3",
                 "--junit", str(junit)])  # fmt: skip
    return code, out, junit


def test_example_suite_passes_and_writes_everything(example_run: tuple[int, Path, Path]) -> None:
    code, out, junit = example_run
    assert code == 0, (out / "report.md").read_text()
    for name in ("run.json", "suite.toml", "junit.xml", "report.md", "v2v_ecdf.png", "calls_timeline.png"):
        assert (out / name).is_file(), name
    root = ET.parse(junit).getroot()
    assert root.get("failures") == "0" and int(root.get("tests")) >= 10
    assert {ts.get("name") for ts in root} == {"demo-agent.time", "demo-agent.goodbye", "demo-agent.barge-in"}
    # each call is a loadable session folder
    from vatel_nb.log import load_session

    log = load_session(out / "sessions" / "goodbye" / "goodbye-000")
    assert log.meta["suite"]["scenario"] == "goodbye"
    assert (out / "sessions" / "time" / "time-000" / "turns.csv").is_file()


def test_dataset_is_hive_partitioned_and_read_by_duckdb(example_run: tuple[int, Path, Path]) -> None:
    _, out, _ = example_run
    parts = sorted(p.relative_to(out / "dataset").parts[:4] for p in (out / "dataset").rglob("*.parquet"))
    assert parts[0][0] in ("calls", "expectations", "turns")
    assert all(p[1] == "suite=demo-agent" for p in parts)
    assert all(p[2].startswith("run=") and p[3].startswith("scenario=") for p in parts)
    ds = vatel_nb.dataset.open(out)
    per = dict(ds.sql("select scenario, count(*) from calls group by scenario").fetchall())
    assert per == {"time": 1, "goodbye": 1, "barge-in": 1}
    failed = ds.sql("select count(*) from expectations where not passed").fetchall()[0][0]
    assert failed == 0
    kinds = {r[0] for r in ds.sql("select distinct kind from expectations").fetchall()}
    assert {"tool_call", "agent_matches", "outcome", "agent_says", "call_ends", "budget"} <= kinds
    # the DataFrame analysis on a subset
    td = ds.frame("turns", "scenario = 'time'")
    from vatel_nb import summary

    sm = summary(td)
    assert sm.loc["v2v_ms", "n"] >= 1 and 100 < sm.loc["v2v_ms", "p50"] < 5000
    # every call's clock is its own: pacing was measured and is per call
    calls = ds.frame("calls")
    assert (calls["mic_frames"] > 100).all() and calls["pacing_p50_ms"].notna().all()
    assert set(calls["ended_by"]) == {"agent", "caller"}  # goodbye: the agent hung up


def test_a_broken_budget_fails_naming_scenario_and_metric(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = load_suite(example)
    one = dataclasses.replace(suite, scenarios=suite.scenarios[:1])
    out = tmp_path / "r"
    res = run(one, out, repeats=1, budgets=["v2v_ms:p50:1"], progress="none", report=False)
    assert not res.passed
    [line] = res.failure_lines()
    assert line.startswith("FAIL scenario time: budget v2v_ms p50 = ") and "> 1 ms" in line
    tc = [t for t in ET.parse(out / "junit.xml").getroot().iter("testcase") if t.find("failure") is not None]
    assert len(tc) == 1 and "scenario time" in tc[0].find("failure").get("message")
    assert "v2v_ms" in tc[0].find("failure").get("message")
    # the CLI: exit 1 and the same line on stderr
    code = main(["suite", "run", str(example), "--out", str(tmp_path / "cli"), "--repeats", "1",
                 "--concurrency", "3", "--budget", "v2v_ms:p50:1", "--no-report"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    for scenario in ("time", "goodbye", "barge-in"):
        assert f"FAIL scenario {scenario}: budget v2v_ms p50 = " in err


def test_compare_flags_an_injected_text_delay_and_not_noise(tmp_path: Path) -> None:
    path = tmp_path / "clock.toml"
    path.write_text(TIME_ONLY)
    # The three runs at the same time (each its own simulator process), so they share whatever
    # else loads this machine: a difference between them is the settings', not the neighbours'.
    kw = {"concurrency": 2, "progress": "none", "report": False}
    jobs = {"base": {}, "same": {}, "slow": {"sim_latency": ["text=0.2"]}}
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        futs = {k: pool.submit(run, path, tmp_path / k, **kw, **v) for k, v in jobs.items()}
        base, same, slow = (futs[k].result() for k in jobs)
    assert base.passed and same.passed and slow.passed
    # the folders through the CLI: exit 1 for the delay, 0 for the same settings
    assert main(["suite", "compare", str(tmp_path / "base"), str(tmp_path / "slow")]) == 1
    assert main(["suite", "compare", str(tmp_path / "base"), str(tmp_path / "same")]) == 0
    df = compare(base, slow)
    text = df.set_index("metric").loc["text_ms"]
    # text=0.2 is added to each reply-function pass: before the tool call and after its output,
    # and the turn's first text comes after both (+0.4 s)
    assert text["verdict"] == "regressed" and 300 < text["delta"] < 520 and text["ci_low"] > 25
    regressed = set(df[df["verdict"] == "regressed"]["metric"])
    assert regressed <= {"text_ms", "server_e2e_ms", "v2v_ms", "tool_ms"}


def _counts(res) -> tuple:
    ex = res.expectations
    return (
        len(res.calls),
        len(res.turns),
        len(ex),
        int(ex["passed"].sum()),
        tuple(sorted(res.calls.groupby("scenario").size().items())),
        tuple(sorted(res.turns.groupby("scenario").size().items())),
    )


def test_dask_local_cluster_and_processes_agree_with_a_local_run(example: Path, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    kw = {"repeats": 2, "concurrency": 6, "progress": "none", "report": False}
    local = run(example, tmp_path / "local", **kw)
    dask = run(example, tmp_path / "dask", engine="dask", workers=2, **kw)
    procs = run(example, tmp_path / "procs", workers=2, **kw)
    assert local.passed and dask.passed and procs.passed, dask.failure_lines() + procs.failure_lines()
    assert _counts(dask) == _counts(local) == _counts(procs)
    # calls ran in other processes, and came back as the same files
    assert set(dask.calls["pid"]).isdisjoint(set(local.calls["pid"]))
    assert len(set(procs.calls["pid"])) == 2
    for out in ("dask", "procs"):
        ds = vatel_nb.dataset.open(tmp_path / out)
        assert ds.sql("select count(*) from turns").fetchall()[0][0] == len(local.turns)
        assert len(list((tmp_path / out / "sessions").glob("*/*/events.jsonl"))) == 6
    # several runs' folders under one parent are one dataset
    both = vatel_nb.dataset.open(tmp_path)
    assert both.sql("select count(distinct run) from calls").fetchall()[0][0] == 3


def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[scenario]]\nname = "x"\nsay = ["hi"]\n[[scenario.expect]]\noutcome = "happy"\n')
    assert main(["suite", "run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "outcome must be one of" in capsys.readouterr().err
    ok = tmp_path / "ok.toml"
    ok.write_text(TIME_ONLY)
    assert main(["suite", "run", str(ok), "--out", str(tmp_path / "o2"), "--sim-latency", "txt=1"]) == 2
    assert "unknown stage" in capsys.readouterr().err
    assert main(["suite", "run", str(ok), "--out", str(tmp_path / "o3"), "--budget", "v2v:p5"]) == 2
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert main(["suite", "run", str(ok), "--out", str(tmp_path / "full")]) == 2
    assert "already holds files" in capsys.readouterr().err
    assert main(["suite", "compare", str(tmp_path / "nope"), str(tmp_path / "nope2")]) == 2


def test_the_pytest_fixture(vatel_agent) -> None:
    call = vatel_agent.call(
        ["What time is it?"],
        expect=[{"tool_call": "get_time", "arguments": {"timezone": "UTC"}}],
        budgets=[{"metric": "server_e2e_ms", "percentile": "max", "max_ms": 5000}],
    )
    assert call.passed, call.failures
    assert call.tool_calls == [("get_time", {"timezone": "UTC"})]
    assert "UTC" in call.agent_text
    assert call.call["status"] == "ended" and (call.folder / "events.jsonl").is_file()
    failing = vatel_agent.call(["Hello there"], expect=[{"tool_call": "get_time"}])
    assert not failing.passed and "tool_call get_time" in failing.failures[0]
