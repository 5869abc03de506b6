"""Building blocks of :func:`turns`: server VAD segments, agent units, client VAD, assignment, playback."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._frames import SAMPLE_RATE, subset
from ._vad import VadSettings, speech_segments

__all__ = ["agent_units", "assign", "client_vad", "playback", "server_segments"]


def server_segments(ev: pd.DataFrame) -> list[tuple[float, float]]:
    """``[(start, stop)]`` kernel s from non-emulated ``speech_started`` → next ``speech_stopped``.

    A stop with no real start gives ``(nan, stop)``; a start never stopped gives ``(start, nan)``.
    """
    m = (ev["source"] == "server") & ev["type"].isin(["speech_started", "speech_stopped"])
    rows = ev.loc[m.to_numpy(dtype=bool), ["t", "type", "detail"]]
    out: list[tuple[float, float]] = []
    open_t: float | None = None
    for t, typ, detail in rows.itertuples(index=False):
        if typ == "speech_started":
            if isinstance(detail, dict) and detail.get("emulated"):
                continue
            if open_t is None:
                open_t = float(t)
        else:
            out.append((math.nan if open_t is None else open_t, float(t)))
            open_t = None
    if open_t is not None:
        out.append((open_t, math.nan))
    return out


def agent_units(ev: pd.DataFrame) -> pd.DataFrame:
    """One row per agent ``turn_id``: start, first_text, first_audio, last_audio (kernel s), samples,
    dropped_samples, text, t_interruption. ``attrs['audio_rows']``: the response_audio rows with a
    ``dropped`` column (arrived after the turn's interruption)."""
    ra = subset(ev, "server", "response_audio")[["t", "turn_id", "samples"]].copy()
    rt = subset(ev, "server", "response_text")[["t", "turn_id", "text", "is_final"]]
    intr = subset(ev, "server", "interruption")
    cut: dict[Any, float] = {}
    ra_t, ra_turn = ra["t"].to_numpy(), ra["turn_id"].astype(object).to_numpy()
    for t, detail in zip(intr["t"], intr["detail"], strict=False):
        tid = detail.get("interrupted_turn_id") if isinstance(detail, dict) else None
        if tid is None:
            i = np.searchsorted(ra_t, t, side="right") - 1
            tid = ra_turn[i] if i >= 0 else None
        if tid is not None:
            cut.setdefault(tid, float(t))
    t_cut = (
        np.array([cut.get(x, math.inf) for x in ra_turn], dtype=float) if cut else np.full(len(ra), math.inf)
    )
    ra["dropped"] = ra_t > t_cut
    ra["samples"] = ra["samples"].fillna(0).astype(np.int64)
    ra["turn_id"] = ra_turn
    kept = ra[~ra["dropped"]]
    audio = kept.groupby("turn_id", sort=False).agg(
        first_audio=("t", "min"), last_audio=("t", "max"), samples=("samples", "sum")
    )
    dropped = ra[ra["dropped"]].groupby("turn_id", sort=False)["samples"].sum().rename("dropped_samples")
    rtx = rt.assign(turn_id=rt["turn_id"].astype(object))
    first_text = rtx.groupby("turn_id", sort=False)["t"].min().rename("first_text")
    texts = {}
    for tid, g in rtx.groupby("turn_id", sort=False):
        fin = g[g["is_final"].fillna(False).to_numpy(dtype=bool)]
        src = fin if len(fin) else g.tail(1)
        texts[tid] = " ".join(x for x in src["text"].astype(object) if isinstance(x, str))
    ids = list(dict.fromkeys([*audio.index, *first_text.index, *dropped.index]))
    u = pd.DataFrame(index=pd.Index(ids, dtype=object, name="turn_id"))
    u = u.join(audio).join(first_text).join(dropped)
    u["samples"] = u["samples"].fillna(0).astype(np.int64)
    u["dropped_samples"] = u["dropped_samples"].fillna(0).astype(np.int64)
    u["text"] = [texts.get(i) for i in u.index]
    u["t_interruption"] = [cut.get(i, math.nan) for i in u.index]
    first_any = ra.groupby("turn_id", sort=False)["t"].min().reindex(u.index)
    u["start"] = np.fmin(u["first_text"].to_numpy(dtype=float), first_any.to_numpy(dtype=float))
    u["end_est"] = np.fmax(
        u["first_audio"].to_numpy(dtype=float) + u["samples"].to_numpy() / SAMPLE_RATE,
        u["last_audio"].to_numpy(dtype=float),
    )
    u = u.sort_values("start", kind="stable")
    u.attrs["audio_rows"] = ra
    return u


def assign(
    user_turns: list[dict], units: pd.DataFrame, ev: pd.DataFrame, continuation_s: float, hang: float = 0.0
) -> tuple[dict[int, list], list[list]]:
    """Responses ``{user turn index: [unit ids]}`` and agent-initiated groups ``[[unit ids]]``.

    A unit whose audio starts while a user turn is still in progress (before its real end,
    ``speech_stopped − hang``) cannot answer that turn: it answers the turn before, when that one
    has no response yet (the agent talked over the user's next words)."""
    anchors = np.array([u["anchor"] for u in user_turns], dtype=float)
    real_end = np.array([u["end"] - hang if not math.isnan(u["end"]) else math.inf for u in user_turns])
    call_t = np.sort(subset(ev, "server", "tool_call")["t"].to_numpy())
    responses: dict[int, list] = {}
    initiated: list[list] = []
    owner_group: dict[int, list] = {}  # owner (-1 = before any user turn) → the current group
    for tid, start in zip(units.index, units["start"], strict=False):
        k = int(np.searchsorted(anchors, start, side="right")) - 1
        heard = units.loc[tid, "first_audio"]
        heard = start if math.isnan(heard) else heard
        if k >= 1 and heard < real_end[k] and k - 1 not in owner_group and real_end[k - 1] <= heard:
            k -= 1
        group = owner_group.get(k)
        if group is not None:
            prev = units.loc[group[-1]]
            tool_between = np.any((call_t >= prev["start"]) & (call_t <= start))
            prev_end = prev["end_est"] if not math.isnan(prev["end_est"]) else prev["start"]
            if tool_between or start <= prev_end + continuation_s:
                group.append(tid)
                continue
        group = [tid]
        owner_group[k] = group
        if k >= 0 and k not in responses:
            responses[k] = group
        else:
            initiated.append(group)
    return responses, initiated


def playback(ev: pd.DataFrame, to_kernel) -> tuple[dict, dict]:
    """``{turn_id: (kernel s, browser ms, playout target ms)}`` of the first ``playback-started``
    (the target depth from its ``detail.target_ms``, NaN when the page did not report one), and
    ``{turn_id: kernel s}`` of the last ``playback-stopped``/``-flushed`` (mapped, else report arrival)."""
    m = (ev["source"] == "browser") & ev["type"].isin(
        ["playback-started", "playback-stopped", "playback-flushed"]
    )
    rows = ev.loc[m.to_numpy(dtype=bool)]
    started: dict = {}
    ended: dict = {}
    for t, typ, tid, tb, tm, detail in zip(
        rows["t"],
        rows["type"],
        rows["turn_id"].astype(object),
        rows["t_browser"],
        rows["t_mapped"],
        rows["detail"] if "detail" in rows else [None] * len(rows),
        strict=False,
    ):
        if not isinstance(tid, str):
            continue
        k = tm if not math.isnan(tm) else (to_kernel(tb) if not math.isnan(tb) else math.nan)
        if typ == "playback-started":
            target = detail.get("target_ms") if isinstance(detail, dict) else None
            started.setdefault(tid, (float(k), float(tb), float(target) if target is not None else math.nan))
        else:
            ended[tid] = (float(k) if not math.isnan(k) else float(t), float(tb))
    return started, ended


def client_vad(user_audio: Any, settings: VadSettings, ev: pd.DataFrame, to_kernel) -> pd.DataFrame:
    """Client VAD segments of the mic track.

    Columns ``start``/``end`` (kernel s) and ``start_browser``/``end_browser`` (browser ms).
    """
    cols = ["start", "end", "start_browser", "end_browser"]
    if user_audio is None or len(user_audio) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=float) for c in cols})
    n = len(user_audio)  # one snapshot: a live track may grow while we read it
    counts = user_audio.sample_counts(n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    t_k = user_audio.times()[:n]
    t_b = user_audio.t_browser()[:n]
    if np.isnan(t_b).any():  # fill capture times from mic-captured rows by seq
        mic = subset(ev, "browser", "mic-captured")
        if len(mic):
            by_seq = dict(zip(mic["seq"].astype(object), mic["t_browser"], strict=False))
            seqs = user_audio.seqs()[:n]
            t_b = np.array(
                [
                    tb if not math.isnan(tb) else by_seq.get(s, math.nan)
                    for tb, s in zip(t_b, seqs, strict=False)
                ]
            )
    segs = speech_segments(user_audio.pcm(0, n), settings)
    if len(segs) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=float) for c in cols})

    def at(sample: np.ndarray, edge_is_end: bool) -> tuple[np.ndarray, np.ndarray]:
        ref = sample - 1 if edge_is_end else sample
        c = np.clip(np.searchsorted(starts, ref, side="right") - 1, 0, len(starts) - 1)
        off = (sample - starts[c]) / SAMPLE_RATE
        browser = t_b[c] + off * 1000.0
        kernel = np.asarray(to_kernel(browser), dtype=float)
        kernel = np.where(np.isnan(kernel), t_k[c] + off, kernel)
        return kernel, browser

    ks, bs = at(segs[:, 0], False)
    ke, be = at(segs[:, 1], True)
    return pd.DataFrame({"start": ks, "end": ke, "start_browser": bs, "end_browser": be})
