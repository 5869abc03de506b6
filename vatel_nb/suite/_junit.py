"""JUnit XML of a suite run: one ``<testsuite>`` per scenario, one ``<testcase>`` per expectation.

A behaviour expectation is one test case over all repeats (it fails when any repeat failed; the
failure text lists them); a budget is one test case; a call that errored is one more failing case.
CI systems (GitHub, GitLab, Jenkins) show the failure message: scenario, metric and figure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

__all__ = ["write_junit"]


def write_junit(
    path: str | Path, suite: str, run: str, expectations: pd.DataFrame, calls: pd.DataFrame
) -> Path:
    """Write the JUnit file for ``expectations`` and ``calls`` (the run's tables) to ``path``."""
    root = ET.Element("testsuites", name=f"vatel-nb suite {suite}")
    total = failed = 0
    for scenario in sorted(set(expectations.get("scenario", [])) | set(calls.get("scenario", []))):
        ex = expectations[expectations["scenario"] == scenario] if len(expectations) else expectations
        cs = calls[calls["scenario"] == scenario] if len(calls) else calls
        ts = ET.SubElement(root, "testsuite", name=f"{suite}.{scenario}")
        cases = fails = 0
        groups = ex.groupby(["expectation", "kind", "label"], sort=True) if len(ex) else []
        for (_, kind, label), g in groups:
            cases += 1
            name = label if kind == "budget" else f"{label} [{len(g)} call(s)]"
            tc = ET.SubElement(ts, "testcase", classname=f"{suite}.{scenario}", name=name)
            bad = g[~g["passed"].astype(bool)]
            if len(bad):
                fails += 1
                if kind == "budget":
                    msg = f"scenario {scenario}: {bad['message'].iloc[0]}"
                else:
                    msg = f"scenario {scenario}: {label} failed in {len(bad)}/{len(g)} call(s)"
                lines = [
                    f"{r.call_id}: {r.message}" if isinstance(r.call_id, str) else r.message
                    for r in bad.itertuples()
                ]
                ET.SubElement(tc, "failure", message=msg, type=kind).text = "\n".join(lines)
        errored = cs[cs["status"] == "error"] if len(cs) else cs
        cases += 1
        tc = ET.SubElement(
            ts, "testcase", classname=f"{suite}.{scenario}", name=f"calls complete [{len(cs)}]"
        )
        if len(errored):
            fails += 1
            msg = f"scenario {scenario}: {len(errored)}/{len(cs)} call(s) failed"
            ET.SubElement(tc, "error", message=msg).text = "\n".join(
                f"{r.call_id}: {r.error}" for r in errored.itertuples()
            )
        ts.set("tests", str(cases))
        ts.set("failures", str(fails))
        ts.set("errors", "0")
        total += cases
        failed += fails
    root.set("tests", str(total))
    root.set("failures", str(failed))
    ET.indent(root)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
