"""`vatel-nb report FOLDER`: the summary of a saved session on stdout, report files written back."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._outputs import fail, format_summary, write_report

__all__ = ["add_report", "run_report"]


def add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="summarise a saved session folder and write its plots",
        description="Load a session folder (written by `vatel-nb call`, `demo --headless`, session.save() or "
        "autosave), print its latency and turn-taking summary, and write recording.wav, summary.json, "
        "turns.csv, the plots (PNG) and call.html (the interactive call view, one self-contained file) "
        "back into the folder.",
    )
    p.add_argument("folder", type=Path, help="the session folder")
    p.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ..log import load_session

    folder: Path = args.folder
    if not folder.is_dir():
        return fail(
            "vatel-nb report",
            f"{folder} is not a folder; give a session folder "
            "(with meta.json, or calls.json and call-N/ folders)",
        )
    try:
        log = load_session(folder)
        out = write_report(log, folder)
    except (OSError, ValueError, KeyError) as e:
        return fail("vatel-nb report", f"cannot read {folder} as a session: {e}")
    for one in (getattr(log, "entries", None) and [e.log for e in log.entries]) or [log]:
        for warning in one.meta.get("load_warnings", []):
            print(f"warning: {warning}", file=sys.stderr)
    print(format_summary(out["_summary"]))
    print(f"written: {', '.join(name for name in out if not name.startswith('_'))} in {folder}")
    return 0
