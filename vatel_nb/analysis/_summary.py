"""Per-call statistics: latency percentiles and turn-taking measures, plus the live last-turn latency.

:func:`summary` returns one row per metric with columns ``n, p50, p90, p95, min, max, mean`` (the
latencies and the floor-transfer offsets, in ms) and ``value`` (scalar turn-taking measures, in
the unit given by ``unit``). Stage percentiles don't add up to the total's percentile.

Speech intervals used for turn-taking (kernel s): user = ``vad_start``–``vad_end`` when the client
VAD ran, else ``user_start``–``user_end − stop_secs``; agent = ``t_played`` (else ``t_first_audio``)
–``agent_end``. A multi-segment user turn counts as one interval (its inner pauses included).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ._columns import LATENCY_COLUMNS

__all__ = ["floor_transfers", "speech_intervals", "summary"]


def _calls(turns_df: pd.DataFrame) -> list[pd.DataFrame]:
    """``turns_df`` split by its ``call`` column (one part when there is none)."""
    if "call" not in turns_df.columns or turns_df["call"].nunique() <= 1:
        return [turns_df]
    return [g for _, g in turns_df.groupby("call", sort=True)]


def _per_call(turns_df: pd.DataFrame, fn: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    """``fn`` applied to each call's turns, with a ``call`` column (1 when there is none), concatenated."""
    parts = []
    for part in _calls(turns_df):
        out = fn(part)
        out["call"] = int(part["call"].iloc[0]) if "call" in part.columns and len(part) else 1
        parts.append(out)
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def speech_intervals(turns_df: pd.DataFrame) -> pd.DataFrame:
    """``speaker`` (user | agent), ``start``, ``end`` (kernel s since the call's start), ``turn``,
    ``call`` — sorted by call, then start. A user turn still open when the call ended (outcome
    ``cut-off-by-end`` with no ``user_end``) runs to its client-VAD end."""
    return _per_call(turns_df, _intervals)


def _intervals(turns_df: pd.DataFrame) -> pd.DataFrame:
    hang = turns_df.attrs.get("stop_secs", math.nan)
    hang = 0.0 if hang is None or math.isnan(hang) else hang
    rows = []
    for r in turns_df.itertuples(index=False):
        if r.outcome != "agent-initiated":
            s = r.vad_start if not math.isnan(r.vad_start) else r.user_start
            e = r.vad_end if not math.isnan(r.vad_end) else r.user_end - hang
            if not (math.isnan(s) or math.isnan(e)) and e > s:
                rows.append(("user", s, e, r.turn))
        s = r.t_played if not math.isnan(r.t_played) else r.t_first_audio
        e = r.agent_end
        if r.agent_samples and not (math.isnan(s) or math.isnan(e)) and e > s:
            rows.append(("agent", s, e, r.turn))
    df = pd.DataFrame(rows, columns=["speaker", "start", "end", "turn"])
    return df.sort_values("start", kind="stable").reset_index(drop=True)


def floor_transfers(turns_df: pd.DataFrame) -> pd.DataFrame:
    """Speaker changes: ``from``, ``to``, ``t`` (onset of the next speaker, kernel s) and ``fto_ms``
    = next onset − previous speaker's offset (> 0 gap, < 0 overlap); within each call, never
    across two calls (``call`` column)."""
    return _per_call(turns_df, _transfers)


def _transfers(turns_df: pd.DataFrame) -> pd.DataFrame:
    iv = _intervals(turns_df)
    out = []
    last: dict[str, float] = {}
    prev_speaker = None
    for r in iv.itertuples(index=False):
        if prev_speaker is not None and r.speaker != prev_speaker:
            out.append((prev_speaker, r.speaker, r.start, (r.start - last[prev_speaker]) * 1000.0))
        last[r.speaker] = max(last.get(r.speaker, -math.inf), r.end)
        prev_speaker = r.speaker
    return pd.DataFrame(out, columns=["from", "to", "t", "fto_ms"])


def _union(iv: np.ndarray) -> float:
    total, cur_s, cur_e = 0.0, None, None
    for s, e in iv[np.argsort(iv[:, 0])] if len(iv) else []:
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    return total + (cur_e - cur_s if cur_e is not None else 0.0)


def _stats(values: Any) -> dict:
    v = pd.Series(values, dtype=float).dropna().to_numpy()
    if not len(v):
        return {
            "n": 0,
            "p50": math.nan,
            "p90": math.nan,
            "p95": math.nan,
            "min": math.nan,
            "max": math.nan,
            "mean": math.nan,
        }
    p50, p90, p95 = np.percentile(v, [50, 90, 95])
    return {"n": len(v), "p50": p50, "p90": p90, "p95": p95, "min": v.min(), "max": v.max(), "mean": v.mean()}


def summary(
    turns_df: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    long_silence_s: float = 3.0,
) -> pd.DataFrame:
    """Latency percentiles and turn-taking measures of one call or several (index: metric). With a
    ``call`` column, speech and floor transfers are measured within each call and summed.

    Rows: every latency column of :func:`turns` (ms), ``fto_ms`` (signed floor-transfer offsets),
    ``overlap_ms`` (talked-over turns), then scalar measures in ``value``: turns, responded,
    interrupted, talked_over, cut_off_by_end, silent (= unanswered turns),
    agent_initiated, interruptions_by_user, interruptions_by_agent (agent onset while the user
    speaks), gaps, overlaps, long_silences (gaps > ``long_silence_s``), user_speech_s,
    agent_speech_s, talk_ratio (user / agent speech), overlap_ratio (overlapped / total speech),
    naturalness (mean exp(−|Δ|/τ), τ 2.5 s gaps, 2.0 s user barge-in, 0.6 s agent overlap),
    call_duration_s (from ``events`` when given).
    """
    rows: dict[str, dict] = {}
    for c in LATENCY_COLUMNS:
        rows[c] = {**_stats(turns_df[c]), "unit": "ms"}
    ft = floor_transfers(turns_df)
    rows["fto_ms"] = {**_stats(ft["fto_ms"]), "unit": "ms"}
    rows["overlap_ms"] = {**_stats(turns_df["overlap_ms"]), "unit": "ms"}
    outcome = turns_df["outcome"].astype(str)
    u_s = a_s = overlap = 0.0
    for part in _calls(turns_df):  # speech per call: two calls' clocks never overlap
        iv = _intervals(part)
        user = iv.loc[iv["speaker"] == "user", ["start", "end"]].to_numpy(dtype=float)
        agent = iv.loc[iv["speaker"] == "agent", ["start", "end"]].to_numpy(dtype=float)
        pu, pa = _union(user), _union(agent)
        both = _union(np.concatenate([user, agent])) if len(user) + len(agent) else 0.0
        u_s, a_s, overlap = u_s + pu, a_s + pa, overlap + pu + pa - both
    fto = ft["fto_ms"].to_numpy(dtype=float)
    to_agent = (ft["to"] == "agent").to_numpy()
    tau = np.where(fto >= 0, 2500.0, np.where(to_agent, 600.0, 2000.0))
    scalars = {
        "turns": (float((outcome != "agent-initiated").sum()), "count"),
        "responded": (float((outcome == "responded").sum()), "count"),
        "interrupted": (float((outcome == "interrupted").sum()), "count"),
        "talked_over": (float((outcome == "talked-over").sum()), "count"),
        "cut_off_by_end": (float((outcome == "cut-off-by-end").sum()), "count"),
        "silent": (float((outcome == "silent").sum()), "count"),
        "agent_initiated": (float((outcome == "agent-initiated").sum()), "count"),
        "interruptions_by_user": (float(turns_df["interrupted"].sum()), "count"),
        "interruptions_by_agent": (float(np.sum(to_agent & (fto < 0))), "count"),
        "gaps": (float(np.sum(fto > 0)), "count"),
        "overlaps": (float(np.sum(fto < 0)), "count"),
        "long_silences": (float(np.sum(fto > long_silence_s * 1000.0)), "count"),
        "user_speech_s": (u_s, "s"),
        "agent_speech_s": (a_s, "s"),
        "talk_ratio": (u_s / a_s if a_s else math.nan, "ratio"),
        "overlap_ratio": (overlap / (u_s + a_s) if u_s + a_s else math.nan, "ratio"),
        "naturalness": (float(np.mean(np.exp(-np.abs(fto) / tau))) if len(fto) else math.nan, "score"),
    }
    if events is not None and len(events):
        groups = events.groupby("call")["t"] if "call" in events.columns else [(1, events["t"])]
        scalars["call_duration_s"] = (float(sum(float(t.max() - t.min()) for _, t in groups)), "s")
    for name, (v, unit) in scalars.items():
        rows[name] = {"value": v, "unit": unit}
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "metric"
    df["n"] = df["n"].astype("Int64")
    return df[["n", "p50", "p90", "p95", "min", "max", "mean", "value", "unit"]]
