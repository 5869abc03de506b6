"""Matplotlib plots of a call. Each takes ``ax=None`` (a new figure when None) and returns the Axes.

Times on the x axis are kernel seconds since the log's ``t0``; latencies are in ms.
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


def plot_chronogram(
    turns_df: pd.DataFrame,
    events: Any = None,
    ax: Axes | None = None,
    *,
    t_range: tuple[float, float] | None = None,
) -> Axes:
    """Who spoke when: user speech bars, agent audio received vs played, and ticks for final
    transcripts, first agent text, tool calls (needs ``events``) and interruptions (red lines)."""
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
    if events is not None:
        ev, _ = resolve(events)
        tc = subset(ev, "server", "tool_call")["t"]
        ax.plot(tc, [1.5] * len(tc), "D", color="tab:green", label="tool call")
    for i, t in enumerate(turns_df["t_interruption"].dropna()):
        ax.axvline(t, color="tab:red", lw=1.2, ls="--", label="interruption" if i == 0 else None)
    ax.set_yticks(list(lanes.values()), list(lanes.keys()))
    ax.set_ylim(0.4, 3.9)
    ax.set_xlabel("time since call start (s, kernel clock)")
    ax.set_title("Call chronogram")
    if t_range is not None:
        ax.set_xlim(*t_range)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return ax


def plot_waterfall(
    turns_df: pd.DataFrame,
    ax: Axes | None = None,
    *,
    components: tuple[tuple[str, str], ...] = WATERFALL_COMPONENTS,
) -> Axes:
    """Per user turn, the latency components stacked from the real end of speech (ms); ``×`` marks
    the measured heard voice-to-voice latency. Negative/missing components count as 0."""
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
    ax.set_title("Latency waterfall per turn")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return ax


def plot_v2v_ecdf(turns_df: pd.DataFrame | Any, ax: Axes | None = None, *, column: str = "v2v_ms") -> Axes:
    """ECDF of a per-turn latency (default heard V2V, ms) with p50/p90/p95 lines and the
    < 800 ms (natural) / 800–1500 ms / > 1500 ms bands."""
    ax = _ax(ax, (7, 4))
    values = turns_df[column] if isinstance(turns_df, pd.DataFrame) else pd.Series(turns_df)
    v = np.sort(values.dropna().to_numpy(dtype=float))
    hi = max(2000.0, float(v.max()) * 1.1) if len(v) else 2000.0
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
    ax.set_xlim(0, hi)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"{column.removesuffix('_ms')} latency (ms)")
    ax.set_ylabel("fraction of turns")
    ax.set_title("Voice-to-voice latency ECDF" if column == "v2v_ms" else f"{column} ECDF")
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
