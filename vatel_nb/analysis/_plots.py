"""Matplotlib plots of a call. Each takes ``ax=None`` (a new figure when None) and returns the Axes.

Times on the x axis are kernel seconds since the call's start; latencies are in ms. With several
calls in ``turns_df`` (a ``call`` column, as ``session.turns()`` gives): the chronogram and the
waterfall show **the last call** unless ``call=`` picks another (one time axis per call); the
ECDF and the floor-transfer histogram pool **every call** (a distribution over turns). No plot
drops a value silently: n in a legend or title is the number of points drawn, and turns without
a value are counted in the title.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._frames import resolve, subset
from ._summary import floor_transfers, speech_intervals

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["WATERFALL_COMPONENTS", "plot_chronogram", "plot_fto_hist", "plot_v2v_ecdf", "plot_waterfall"]

#: ``(column, label)`` stacked by :func:`plot_waterfall`, in time order from the real speech end.
WATERFALL_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("eou_ms", "end of utterance"),
    ("transcription_ms", "transcription"),
    ("text_ms", "text (LLM first token)"),
    ("voice_ms", "voice (TTS first byte)"),
    ("playout_ms", "playout"),
    ("leading_silence_ms", "leading silence"),
)


def _ax(ax: Any, size: tuple[float, float] = (10, 3.5)) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size)
    return ax


def _one_call(turns_df: pd.DataFrame, call: int | None) -> tuple[pd.DataFrame, int | None]:
    """The rows of call ``call`` (default: the last call) and its id (None without a call column)."""
    if "call" not in turns_df.columns or not len(turns_df):
        return turns_df, call
    ids = sorted(pd.unique(turns_df["call"]).tolist())
    pick = ids[-1] if call is None else call
    if pick not in ids:
        raise ValueError(f"no call {pick!r} in these turns; calls are {ids}")
    return turns_df[turns_df["call"] == pick], int(pick)


def plot_chronogram(
    turns_df: pd.DataFrame,
    events: Any = None,
    ax: Axes | None = None,
    *,
    t_range: tuple[float, float] | None = None,
    call: int | None = None,
) -> Axes:
    """Who spoke when in one call (default: the last one; ``call=`` picks another): user speech
    bars, agent audio received vs played, and ticks for final transcripts, first agent text, tool
    calls (needs ``events``) and interruptions (red lines). Talked-over turns are hatched."""
    turns_df, call = _one_call(turns_df, call)
    ax = _ax(ax)
    iv = speech_intervals(turns_df)
    user = iv[iv["speaker"] == "user"]
    lanes = {"user speech": 3.0, "agent audio received": 2.0, "agent audio played": 1.0}
    has = turns_df[turns_df["agent_samples"] > 0]
    agent = iv[iv["speaker"] == "agent"]
    bars = (  # lane, start, end, colour
        ("user speech", user["start"], user["end"], "tab:blue"),
        ("agent audio received", has["t_first_audio"], has["t_last_audio"], "tab:gray"),
        ("agent audio played", agent["start"], agent["end"], "tab:orange"),
    )
    for lane, start, end, color in bars:
        ax.barh([lanes[lane]] * len(start), end - start, left=start, height=0.6, color=color, label=lane)
    tt = turns_df["t_transcript"].dropna()
    ax.plot(tt, [3.45] * len(tt), "v", color="navy", label="user transcript (final)")
    tx = turns_df["t_first_text"].dropna()
    ax.plot(tx, [2.45] * len(tx), "v", color="black", label="agent text (first)")
    over = turns_df[turns_df["outcome"].astype(str) == "talked-over"]
    if len(over):
        o_start = over["t_played"].fillna(over["t_first_audio"])
        ax.barh(
            [2.0] * len(over),
            over["overlap_ms"].fillna(0) / 1000.0,
            left=o_start,
            height=2.2,
            fill=False,
            hatch="//",
            edgecolor="tab:red",
            label="agent talked over the user",
        )
    if events is not None:
        ev, _ = resolve(events)
        if "call" in ev.columns and call is not None:
            ev = ev[ev["call"] == call]
        tc = subset(ev, "server", "tool_call")["t"]
        ax.plot(tc, [1.5] * len(tc), "D", color="tab:green", label="tool call")
    for i, t in enumerate(turns_df["t_interruption"].dropna()):
        ax.axvline(t, color="tab:red", lw=1.2, ls="--", label="interruption" if i == 0 else None)
    ax.set_yticks(list(lanes.values()), list(lanes.keys()))
    ax.set_ylim(0.4, 3.9)
    ax.set_xlabel(
        "time since call start (s, kernel clock)"
        if call is None
        else f"time since call {call} started (s, kernel clock)"
    )
    ax.set_title("Call chronogram" if call is None else f"Call {call} chronogram")
    if t_range is not None:
        ax.set_xlim(*t_range)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return ax


def plot_waterfall(
    turns_df: pd.DataFrame,
    ax: Axes | None = None,
    *,
    components: tuple[tuple[str, str], ...] = WATERFALL_COMPONENTS,
    call: int | None = None,
) -> Axes:
    """Per user turn of one call (default: the last; ``call=`` picks another), the latency
    components stacked from the real end of speech (ms); ``×`` marks the measured heard
    voice-to-voice latency. Missing components count as 0 (the bar is shorter, not hidden)."""
    turns_df, call = _one_call(turns_df, call)
    df = turns_df[turns_df["outcome"].astype(str) != "agent-initiated"].reset_index(drop=True)
    ax = _ax(ax, (10, max(2.5, 0.35 * len(df) + 1.5)))
    left = np.zeros(len(df))
    colors = ["tab:purple", "tab:blue", "tab:cyan", "tab:green", "tab:orange", "tab:olive"]
    y = np.arange(len(df))
    for (col, label), color in zip(components, colors, strict=False):
        w = np.clip(df[col].to_numpy(dtype=float), 0, None)
        w = np.nan_to_num(w, nan=0.0)
        ax.barh(y, w, left=left, height=0.6, color=color, label=label)
        left = left + w
    v2v = df["v2v_ms"].to_numpy(dtype=float)
    ok = ~np.isnan(v2v)
    ax.plot(v2v[ok], y[ok], "x", color="black", ms=8, label="heard voice-to-voice")
    ax.set_yticks(y, [f"turn {t}" for t in df["turn"]])
    ax.invert_yaxis()
    ax.set_xlabel("latency (ms) from the user's real end of speech")
    ax.set_title("Latency waterfall per turn" + ("" if call is None else f" (call {call})"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return ax


def plot_v2v_ecdf(turns_df: pd.DataFrame | Any, ax: Axes | None = None, *, column: str = "v2v_ms") -> Axes:
    """ECDF of a per-turn latency (default heard V2V, ms) over every turn given (all calls), with
    p50/p90/p95 lines and the < 800 ms (natural) / 800–1500 ms / > 1500 ms bands. The legend's n
    is the number of points drawn (the axis always spans them); turns without a value are
    counted in the title."""
    ax = _ax(ax, (7, 4))
    values = turns_df[column] if isinstance(turns_df, pd.DataFrame) else pd.Series(turns_df)
    if isinstance(turns_df, pd.DataFrame) and "outcome" in turns_df.columns:
        values = values[turns_df["outcome"].astype(str) != "agent-initiated"]
    v = np.sort(values.dropna().to_numpy(dtype=float))
    missing = int(values.isna().sum())
    hi = max(2000.0, float(v.max()) * 1.1) if len(v) else 2000.0
    lo = min(0.0, float(v.min()) * 1.1) if len(v) else 0.0
    ax.axvspan(0, 800, color="tab:green", alpha=0.12, label="< 800 ms (natural)")
    ax.axvspan(800, 1500, color="gold", alpha=0.15, label="800–1500 ms")
    ax.axvspan(1500, hi, color="tab:red", alpha=0.08, label="> 1500 ms")
    if len(v):
        # start at 0 on the left of the smallest value, so the first step is drawn too
        x = np.concatenate([[v[0]], v])
        y = np.concatenate([[0.0], np.arange(1, len(v) + 1) / len(v)])
        ax.step(x, y, where="post", color="black", label=f"ECDF (n={len(v)})")
        for q, ls in ((50, "-"), (90, "--"), (95, ":")):
            p = float(np.percentile(v, q))
            ax.axvline(p, color="tab:blue", ls=ls, label=f"p{q} = {p:.0f} ms")
    else:
        ax.text(0.5, 0.5, f"no {column} values", transform=ax.transAxes, ha="center")
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"{column.removesuffix('_ms')} latency (ms)")
    ax.set_ylabel("fraction of turns")
    title = "Voice-to-voice latency ECDF" if column == "v2v_ms" else f"{column} ECDF"
    ax.set_title(title + (f" ({missing} turn(s) without a value)" if missing else ""))
    ax.legend(loc="lower right", fontsize="small")
    return ax


def plot_fto_hist(
    turns_df: pd.DataFrame, ax: Axes | None = None, *, bins: int | np.ndarray | None = None
) -> Axes:
    """Histogram of signed floor-transfer offsets (ms): > 0 gap, < 0 overlap, split by direction."""
    ax = _ax(ax, (7, 4))
    ft = floor_transfers(turns_df)
    v = ft["fto_ms"].to_numpy(dtype=float)
    if bins is None:
        lo = min(-500.0, math.floor(v.min() / 250.0) * 250.0) if len(v) else -500.0
        hi = max(2000.0, math.ceil(v.max() / 250.0) * 250.0) if len(v) else 2000.0
        bins = np.arange(lo, hi + 250.0, 250.0)
    groups = [ft.loc[ft["to"] == "agent", "fto_ms"], ft.loc[ft["to"] == "user", "fto_ms"]]
    ax.hist(
        groups,
        bins=bins,
        stacked=True,
        color=["tab:orange", "tab:blue"],
        label=["user → agent", "agent → user"],
    )
    ax.axvline(0, color="black", lw=1)
    ax.set_xlabel("floor-transfer offset (ms): < 0 overlap, > 0 gap")
    ax.set_ylabel("speaker changes")
    ax.set_title(f"Floor-transfer offsets (n={len(v)})")
    ax.legend(fontsize="small")
    return ax
