"""What `vatel-nb call`, `demo --headless` and `report` write and print, and how they fail.

A **session folder** is what ``VatelSession.save`` and its autosave write — ``calls.json`` and a
``call-N/`` folder per call, each what :func:`vatel_nb.log.save_session` writes (``meta.json``,
``events.jsonl``, ``user.wav``, ``agent.wav``, indexes, ``clock.jsonl``); a single-call folder
(``meta.json`` at its root) is read too — plus the report files :func:`write_report` adds:

``recording.wav``     stereo PCM16 24 kHz: user left, agent right (as played, or modelled)
``summary.json``      ``{metric: {n, p50, p90, p95, min, max, mean, value, unit}}`` (NaN → null)
``turns.csv``         one row per turn (:func:`vatel_nb.analysis.turns`)
``chronogram.png``, ``v2v_ecdf.png``, ``waterfall.png``, ``fto_hist.png``   the plots
``call.html``         the interactive call view of the (last) call, self-contained (recording
                      embedded; no network); earlier calls of a multi-call folder: ``call-N.html``
"""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["REPORT_FILES", "default_folder", "fail", "format_summary", "progress", "write_report"]

#: Files :func:`write_report` writes into a session folder.
REPORT_FILES = (
    "recording.wav",
    "summary.json",
    "turns.csv",
    "chronogram.png",
    "v2v_ecdf.png",
    "waterfall.png",
    "fto_hist.png",
    "call.html",
)
#: Summary rows shown on stdout (when they have data), in this order.
_SHOWN = (
    "v2v_ms",
    "server_e2e_ms",
    "eou_ms",
    "transcription_ms",
    "text_ms",
    "voice_ms",
    "tool_ms",
    "time_to_yield_ms",
    "greeting_ms",
    "fto_ms",
    "turns",
    "responded",
    "interrupted",
    "silent",
    "talk_ratio",
    "call_duration_s",
)


def progress(line: str) -> None:
    """One progress line on stderr."""
    print(line, file=sys.stderr, flush=True)


def fail(prog: str, message: str, code: int = 1) -> int:
    """Print ``prog: message`` (one sentence) on stderr; returns ``code`` for the exit status."""
    message = " ".join(str(message).split()) or "failed"
    print(f"{prog}: {message}", file=sys.stderr, flush=True)
    return code


def default_folder(prefix: str) -> Path:
    """``./<prefix>-YYYYmmdd-HHMMSS`` (local time)."""
    return Path(f"{prefix}-{datetime.now().strftime('%Y%m%d-%H%M%S')}")


def _num(v: Any) -> Any:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None if v is None else str(v)
    return None if math.isnan(f) else f


def format_summary(summary_df: Any) -> str:
    """The main rows of a :func:`vatel_nb.analysis.summary` frame as a plain-text table."""
    lines = [f"{'metric':<18} {'n':>3} {'p50':>9} {'p90':>9} {'max':>9}  unit"]
    for metric in _SHOWN:
        if metric not in summary_df.index:
            continue
        r = summary_df.loc[metric]
        unit = str(r["unit"])
        if unit == "ms":
            n = int(r["n"]) if r["n"] is not None and r["n"] == r["n"] else 0
            if n == 0:
                continue
            lines.append(f"{metric:<18} {n:>3} {r['p50']:>9.0f} {r['p90']:>9.0f} {r['max']:>9.0f}  ms")
        else:
            v = _num(r["value"])
            if v is None:
                continue
            shown = f"{v:.0f}" if unit == "count" else f"{v:.2f}"
            lines.append(f"{metric:<18} {'':>3} {shown:>9} {'':>9} {'':>9}  {unit}")
    return "\n".join(lines)


def write_report(log: Any, folder: str | Path) -> dict[str, Path]:
    """Write the report files (see the module doc) of ``log`` into ``folder``; returns name → path.

    ``log``: one call's :class:`~vatel_nb.log.EventLog`, or a :class:`~vatel_nb.log.Recording` of
    several calls (turns.csv and summary.json then cover every call, with a ``call`` column; the
    chronogram and waterfall show the last call; ``recording.wav`` is the last call's, and each
    earlier call gets ``recording-call-N.wav``).
    Returns the turns and summary frames too, under the keys ``"_turns"`` / ``"_summary"``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..analysis import plot_chronogram, plot_fto_hist, plot_v2v_ecdf, plot_waterfall, summary, turns
    from ..log import stereo_recording, write_wav

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    from ..log import Recording

    if isinstance(log, Recording):
        ev, td = log.events(), turns(log)
        logs = [(e.call, e.log) for e in log]
    else:
        ev, td = log.frame(), turns(log)
        logs = [(1, log)]
    sm = summary(td, ev)
    out: dict[str, Any] = {"_turns": td, "_summary": sm}
    for i, (call, one) in enumerate(logs):
        name = "recording.wav" if i == len(logs) - 1 else f"recording-call-{call}.wav"
        out[name] = write_wav(folder / name, stereo_recording(one))
    data = {m: {k: _num(v) for k, v in row.items()} for m, row in sm.to_dict(orient="index").items()}
    (folder / "summary.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    out["summary.json"] = folder / "summary.json"
    td.to_csv(folder / "turns.csv", index=False)
    out["turns.csv"] = folder / "turns.csv"
    plots = {
        "chronogram.png": lambda ax: plot_chronogram(td, ev, ax=ax),
        "v2v_ecdf.png": lambda ax: plot_v2v_ecdf(td, ax=ax),
        "waterfall.png": lambda ax: plot_waterfall(td, ax=ax),
        "fto_hist.png": lambda ax: plot_fto_hist(td, ax=ax),
    }
    for name, draw in plots.items():
        fig, ax = plt.subplots(figsize=(10, 3.5) if name == "chronogram.png" else (6, 3.5))
        try:
            draw(ax)
            fig.tight_layout()
            fig.savefig(folder / name, dpi=100)
        finally:
            plt.close(fig)
        out[name] = folder / name
    from ..view import build_view_data, call_title, write_html

    for i, (call, one) in enumerate(logs):  # the call view: call.html (last call), call-N.html
        name = "call.html" if i == len(logs) - 1 else f"call-{call}.html"
        label = folder.name if len(logs) == 1 else f"{folder.name} · call {call}"
        view = build_view_data(one, title=call_title(one, label), events=ev if len(logs) == 1 else None)
        out[name] = write_html(view, folder / name)
    return out
