"""What the call view shows, computed once in Python: the timeline (JSON) and the envelopes (bytes).

Everything comes from the public APIs: the turns and every latency from
:func:`vatel_nb.analysis.turns` (the view never computes a latency), the speaker intervals from
:func:`~vatel_nb.analysis.speech_intervals`, the audio from :func:`vatel_nb.log.stereo_recording`
(user left, agent right, *as played*), tool calls and interruptions from the events frame.

Time axis: kernel seconds since the log's ``t0`` (the events' ``t``); sample ``i`` of the
recording is time ``i / 24000`` s, so the audio element's ``currentTime`` *is* that time.

The timeline dict (sent to the page as JSON; NaN → ``null``):

``title``, ``sample_rate``, ``duration_s``, ``live`` (the call is still running), ``pending``
                 (true while the turns are being analysed: waveforms only so far)
``channels``     ``[{name: "user"|"agent", peak}]`` — ``peak``: largest |sample| (PCM16 units)
``levels``       ``[{bucket_s, n, user: [offset, length], agent: [offset, length]}]`` — where each
                 channel's envelope of that level sits in the envelope bytes (see ``_envelope``)
``turns``        one dict per row of ``turns()``: ``turn``, ``outcome``, ``start``/``end`` (s: the
                 turn's first/last speech), ``user``/``agent`` (``[start, end]`` s or null, from
                 ``speech_intervals``), ``transcript``, ``agent_text``, ``interrupted``,
                 ``t_interruption``, ``barge_in``, ``tool_names``, ``times`` (the turn's instants,
                 kernel s: vad_end, user_end, t_transcript, t_first_text, t_first_audio, t_played,
                 agent_end) and ``latency`` (every latency column of ``turns()``, ms)
``intervals``    ``[{speaker, start, end, turn}]`` (``speech_intervals``)
``tools``        ``[{t, end, name, id}]``: ``tool_call`` received → our ``tool_call_output`` (s)
``interruptions`` ``[{t, turn_id}]``: the server's ``interruption`` events (s)
``components``   ``[[column, label]]`` of the latency waterfall (``WATERFALL_COMPONENTS``)
``stats``        ``{turns, v2v_p50, v2v_p90, server_e2e_p50}`` (ms, from ``summary()``)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import LATENCY_COLUMNS, WATERFALL_COMPONENTS, speech_intervals, summary, turns
from ..log import SAMPLE_RATE, EventLog, stereo_recording
from ._envelope import DEFAULT_BUCKETS, envelope_levels, quantize

__all__ = ["TIMES", "AudioView", "ViewData", "build_audio", "build_view_data", "jsonable"]

#: The instants of a turn shown on the timeline (columns of ``turns()``, kernel s).
TIMES: tuple[str, ...] = (
    "vad_end",
    "user_end",
    "t_transcript",
    "t_first_text",
    "t_first_audio",
    "t_played",
    "agent_end",
)


@dataclass
class ViewData:
    """The view of one call: ``timeline`` (JSON-able dict, see the module doc), ``envelopes``
    (bytes), ``stereo`` (int16 ``(n, 2)``, sample 0 = kernel t 0) and the ``turns`` frame."""

    timeline: dict[str, Any]
    envelopes: bytes
    stereo: np.ndarray
    turns: pd.DataFrame

    @property
    def page_bytes(self) -> int:
        """Bytes the page gets when the view opens: the timeline JSON plus the envelopes."""
        return len(json.dumps(self.timeline, separators=(",", ":"))) + len(self.envelopes)


def jsonable(v: Any) -> Any:
    """A number/str/bool/None for JSON: NaN/NA → None, numpy scalars → Python."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else round(f, 6)
    return str(v)


def _turn_records(td: pd.DataFrame, iv: pd.DataFrame) -> list[dict[str, Any]]:
    by_turn: dict[int, dict[str, list[float]]] = {}
    for speaker, s, e, turn in iv[["speaker", "start", "end", "turn"]].itertuples(index=False):
        by_turn.setdefault(int(turn), {})[speaker] = [float(s), float(e)]
    out = []
    for r in td.to_dict("records"):
        spans = by_turn.get(int(r["turn"]), {})
        user, agent = spans.get("user"), spans.get("agent")
        ends = [x[1] for x in (user, agent) if x]
        starts = [x[0] for x in (user, agent) if x]
        if not starts:  # no audible speech: anchor on what the turn has (text, transcript, VAD)
            cand = [r[c] for c in ("user_start", "user_end", "t_first_text", "t_first_audio")]
            cand = [float(c) for c in cand if not pd.isna(c)]
            starts = ends = cand[:1]
        out.append(
            {
                "turn": int(r["turn"]),
                "outcome": str(r["outcome"]),
                "start": jsonable(min(starts)) if starts else None,
                "end": jsonable(max(ends)) if ends else None,
                "user": [jsonable(x) for x in user] if user else None,
                "agent": [jsonable(x) for x in agent] if agent else None,
                "transcript": jsonable(r["transcript"]),
                "agent_text": jsonable(r["agent_text"]),
                "interrupted": bool(r["interrupted"]),
                "t_interruption": jsonable(r["t_interruption"]),
                "barge_in": bool(r["barge_in"]),
                "tool_names": jsonable(r["tool_names"]),
                "times": {c: jsonable(r[c]) for c in TIMES},
                "latency": {c: jsonable(r[c]) for c in LATENCY_COLUMNS},
            }
        )
    return out


def _tools(ev: pd.DataFrame) -> list[dict[str, Any]]:
    src, typ = ev["source"].astype(str).to_numpy(), ev["type"].astype(str).to_numpy()
    calls = ev[(src == "server") & (typ == "tool_call")]
    outs = ev[(src == "client") & (typ == "tool_call_output")]
    done = dict(zip(outs["tool_call_id"].astype(object), outs["t"], strict=False))
    return [
        {"t": jsonable(t), "end": jsonable(done.get(cid)), "name": jsonable(name), "id": jsonable(cid)}
        for t, cid, name in zip(
            calls["t"], calls["tool_call_id"].astype(object), calls["tool_name"].astype(object), strict=False
        )
    ]


def _interruptions(ev: pd.DataFrame) -> list[dict[str, Any]]:
    m = (ev["source"].astype(str) == "server") & (ev["type"].astype(str) == "interruption")
    rows = ev[m.to_numpy(dtype=bool)]
    out = []
    for t, detail in zip(rows["t"], rows["detail"], strict=False):
        tid = detail.get("interrupted_turn_id") if isinstance(detail, dict) else None
        out.append({"t": jsonable(t), "turn_id": jsonable(tid)})
    return out


@dataclass
class AudioView:
    """The recording and its envelopes (the first thing the view shows): ``stereo`` int16
    ``(n, 2)``, ``envelopes`` bytes, and the ``levels`` / ``channels`` / ``duration_s`` entries
    of the timeline."""

    stereo: np.ndarray
    envelopes: bytes
    levels: list[dict[str, Any]]
    channels: list[dict[str, Any]]

    @property
    def duration_s(self) -> float:
        """Length of the recording (s)."""
        return len(self.stereo) / SAMPLE_RATE

    def skeleton(self, title: str = "", live: bool = False) -> dict[str, Any]:
        """A timeline with the waveforms only (``pending: True``: the turns are being analysed)."""
        return {
            "version": 1,
            "title": title,
            "sample_rate": SAMPLE_RATE,
            "duration_s": round(self.duration_s, 6),
            "live": bool(live),
            "pending": True,
            "channels": self.channels,
            "levels": self.levels,
            "turns": [],
            "intervals": [],
            "tools": [],
            "interruptions": [],
            "components": [list(c) for c in WATERFALL_COMPONENTS],
            "stats": {"turns": 0, "v2v_p50": None, "v2v_p90": None, "server_e2e_p50": None},
        }


def build_audio(log: EventLog, buckets: tuple[int, ...] = DEFAULT_BUCKETS) -> AudioView:
    """The stereo recording of ``log`` (``stereo_recording``, sample 0 = kernel t 0) and its
    envelopes at ``buckets`` (samples at 24 kHz)."""
    stereo = stereo_recording(log)
    parts: list[bytes] = []
    offset = 0
    levels: list[dict[str, Any]] = [{"bucket_s": b / SAMPLE_RATE} for b in buckets]
    channels = []
    for ch, name in enumerate(("user", "agent")):
        env = envelope_levels(stereo[:, ch], buckets)
        mm = env[-1].mm
        peak = max(-int(mm[:, 0].min()), int(mm[:, 1].max())) if len(mm) else 0
        channels.append({"name": name, "peak": peak})
        for lvl, e in zip(levels, env, strict=True):
            data = quantize(e.mm, peak)
            lvl["n"] = e.n
            lvl[name] = [offset, len(data)]
            parts.append(data)
            offset += len(data)
    return AudioView(stereo, b"".join(parts), levels, channels)


def build_view_data(
    log: EventLog,
    *,
    title: str = "",
    live: bool = False,
    buckets: tuple[int, ...] = DEFAULT_BUCKETS,
    events: pd.DataFrame | None = None,
    audio: AudioView | None = None,
) -> ViewData:
    """Everything the view needs for ``log`` (see the module doc). ``events``: the log's frame, if
    already built; ``audio``: :func:`build_audio` of the log, if already built; ``buckets``:
    envelope bucket lengths (samples at 24 kHz)."""
    av = build_audio(log, buckets) if audio is None else audio
    ev = log.frame() if events is None else events
    td = turns(ev, user_audio=log.user_audio, agent_audio=log.agent_audio)
    iv = speech_intervals(td)
    t_last = float(ev["t"].max()) if len(ev) else 0.0
    sm = summary(td)
    timeline = av.skeleton(title, live)
    timeline.update(
        pending=False,
        duration_s=round(max(av.duration_s, t_last, 0.0), 6),
        turns=_turn_records(td, iv),
        intervals=[
            {"speaker": s, "start": jsonable(a), "end": jsonable(b), "turn": int(k)}
            for s, a, b, k in iv[["speaker", "start", "end", "turn"]].itertuples(index=False)
        ],
        tools=_tools(ev),
        interruptions=_interruptions(ev),
        stats={
            "turns": int((td["outcome"].astype(str) != "agent-initiated").sum()),
            "v2v_p50": jsonable(sm.loc["v2v_ms", "p50"]),
            "v2v_p90": jsonable(sm.loc["v2v_ms", "p90"]),
            "server_e2e_p50": jsonable(sm.loc["server_e2e_ms", "p50"]),
        },
    )
    return ViewData(timeline, av.envelopes, av.stereo, td)
