"""One row per turn: user speech, the agent's response, the latency components and an outcome.

How events are grouped (``speech_started``/``speech_stopped`` carry no turn id, so by time):

1. **User speech segments** from the server VAD: a non-emulated ``speech_started`` opens a segment,
   the next ``speech_stopped`` closes it. ``emulated: true`` starts are ignored (a stop with no real
   start gives a segment with unknown start). With no server VAD events at all, the client VAD
   segments (below) stand in.
2. **Agent units**: ``response_text``/``response_audio`` grouped by ``turn_id``. After an
   ``interruption`` the turn that was playing (``detail.interrupted_turn_id``, else the turn of the
   last audio received) gets its later chunks marked *dropped*: they count nowhere but
   ``dropped_samples``.
3. **User turns**: consecutive segments are merged when no agent unit started between the first's
   ``speech_stopped`` and the end of the next (an agent that began replying before the user's
   next words were over answers the words before them), and the next ``speech_started`` came
   within ``merge_gap_s`` of the previous ``speech_stopped``.
4. Each agent unit belongs to the last user turn that started before it — unless its audio began
   while that turn was still being spoken and the turn before has no response yet: then it
   answers the turn before (and talked over the user). The first unit is the
   response; later units of the same user turn continue it when a ``tool_call`` came in between or
   they start within ``continuation_s`` of the previous unit's estimated end; otherwise, like any
   unit before the first user turn, they become an **agent-initiated** row (the greeting is one).
5. Transcripts and tool calls go to the user turn whose response carries their ``turn_id`` when
   there is one, else to the last user turn that started before they arrived.

Several calls (a session, a :class:`~vatel_nb.log.Recording`, an events frame with a ``call``
column): each call is analysed on its own clock and the rows are concatenated; ``call=`` picks one.

Client VAD (``user_audio`` given): :func:`speech_segments` over the captured mic PCM; each sample's
time is its chunk's browser capture time (``t_browser`` + offset, mapped to kernel s with the
frame's own ``t_mapped`` pairs) or, without browser times, the chunk's kernel send time.

Columns (times ``t_*``/``user_*``/``vad_*``/``agent_end`` in kernel s since t0 unless marked
*browser ms*; latencies in ms):

=====================  ==========================================================================
call                   the call's id (1, 2, … in a session; 1 for a lone log)
turn                   0-based row number in time order, within the call
outcome                responded | interrupted (its reply was cut by the user) | talked-over (the
                       agent's reply began while the user was speaking) | cut-off-by-end (the user was
                       still speaking when the call ended) | silent (no agent audio) |
                       agent-initiated
user_turn_id           ``turn_id`` of the user's final transcript, when the server sent one
turn_id                turn id of the first agent unit of the response; ``agent_turn_ids`` all
n_segments             server VAD segments merged into the user turn
user_start, user_end   first real ``speech_started`` / last ``speech_stopped`` received (kernel)
vad_start, vad_end     client VAD onset / last voiced sample before ``user_end`` (kernel)
vad_start_browser      ``vad_start`` on the browser clock (browser ms)
vad_end_browser        the same last voiced sample on the browser clock (browser ms)
transcript             final user transcript(s), joined; ``t_transcript`` last final received
agent_text             final agent text(s); ``t_first_text`` first ``response_text`` received
t_first_audio          first (non-dropped) ``response_audio`` received; ``t_last_audio`` last
t_played               ``playback-started`` mapped to kernel s; ``t_played_browser`` raw (browser ms)
playout_target_ms      the page's playout buffer target depth when the response began to play (ms;
                       adaptive, or the fixed cushion; NaN when the page did not report it)
agent_end              agent audio end: browser ``playback-stopped``/``-flushed`` (mapped), else the
                       interruption, else estimated (first audio + duration, ≥ last arrival);
                       ``agent_end_browser`` the page's stop/flush time raw (browser ms)
agent_samples          non-dropped agent samples; ``dropped_samples`` late ones after interruption
interrupted            the response was cut by an ``interruption`` at ``t_interruption``
heard_ms, heard_text   of an interrupted response: audio the page played before the flush (ms)
                       and the words of ``agent_text`` in proportion to it (an estimate)
barge_in               this user turn started while the previous response was still playing
n_tool_calls           tool calls during the turn; ``tool_names`` comma-separated
v2v_ms                 heard voice-to-voice, browser clock only: ``t_played_browser − vad_end_browser
                       + leading_silence_ms`` (playback-started includes output latency)
server_e2e_ms          ``t_first_audio − (user_end − stop_secs)`` (stop_secs 0 when unknown)
                       (both never negative: see ``_latency``; for talked-over turns they run from
                       the end of the speech the reply answers)
eou_ms                 ``user_end − vad_end`` (end-of-utterance delay, hangover + network)
transcription_ms       ``t_transcript − user_end``
text_ms                ``t_first_text − t_transcript`` (TTFT proxy)
voice_ms               ``t_first_audio − t_first_text`` (TTS first byte)
leading_silence_ms     agent audio before its first frame above ``silence_db`` dBFS
playout_ms             ``t_played − t_first_audio`` (received → audible; needs the clock offset)
tool_ms                Σ over tool calls: ``tool_call`` → first agent audio after our output
tool_exec_ms           Σ over tool calls: ``tool_call`` → our ``tool_call_output``
time_to_yield_ms       barge-in turns: user onset (``vad_start`` else ``user_start``) → the cut agent
                       audio stopped (browser flush/stop, else the ``interruption``); on the browser
                       clock alone (``agent_end_browser − vad_start_browser``) when both are known
greeting_ms            first agent-initiated row before any user turn: ``session_started`` →
                       first agent audio played (``t_played``, else received)
overlap_ms             talked-over turns: how long the agent and the user spoke at once
=====================  ==========================================================================
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ._columns import FLOAT_COLUMNS, OUTCOMES, TURN_COLUMNS
from ._frames import audio_from, browser_to_kernel, resolve, stop_secs_from, subset
from ._response import latencies, ms, respond, response_row
from ._units import agent_units, assign, client_vad, playback, server_segments
from ._vad import VadSettings

_NAN = math.nan

__all__ = ["turns"]


def turns(
    events: Any,
    *,
    user_audio: Any = None,
    agent_audio: Any = None,
    vad_settings: Any = None,
    vad: VadSettings | None = None,
    continuation_s: float = 1.5,
    merge_gap_s: float = 2.0,
    silence_db: float = -50.0,
    call: int | None = None,
) -> pd.DataFrame:
    """One row per turn (user turns and agent-initiated turns), sorted by time. See the module doc.

    ``events``: an events DataFrame (``session.events``, a loaded session's ``frame()``), or an
    EventLog / session (then its audio tracks are used unless given). ``user_audio``: the mic
    track (:class:`~vatel_nb.log.UserAudio` or a log) for the client VAD; ``agent_audio``: the agent
    track for leading silence. ``vad_settings``: the agent's server VAD (``{"stop_secs": …}``)
    when the log has no ``local``/``agent`` row. ``vad``: client VAD parameters.
    ``merge_gap_s``: the longest ``speech_stopped`` → next ``speech_started`` gap (s) merged into
    one turn when no agent unit came between (a longer one makes the first turn unanswered).
    ``continuation_s``: see rule 4. ``silence_db``: leading-silence threshold (dBFS).
    ``call``: with several calls (a session, a :class:`~vatel_nb.log.Recording`, an events frame
    with a ``call`` column), only that call; by default every call, one after the other.
    """
    kw = dict(
        vad_settings=vad_settings,
        vad=vad,
        continuation_s=continuation_s,
        merge_gap_s=merge_gap_s,
        silence_db=silence_db,
    )
    recording = _recording(events)
    if recording is not None:
        parts = [
            turns(e.log, user_audio=user_audio, agent_audio=agent_audio, call=e.call, **kw)
            for e in recording.select(call)
        ]
        return _concat(parts)
    if isinstance(events, pd.DataFrame) and "call" in events.columns:
        ids = sorted(pd.unique(events["call"].dropna()).tolist())
        if call is not None or len(ids) > 1:
            pick = ids if call is None else [call]
            parts = [
                _one_call(
                    events[events["call"] == c].drop(columns="call"), user_audio, agent_audio, int(c), kw
                )
                for c in pick
            ]
            return _concat(parts)
        events = events.drop(columns="call")
        call = int(ids[0]) if ids else None
    if call is None:
        info = (
            getattr(getattr(events, "log", events), "meta", {}).get("call")
            if not isinstance(events, pd.DataFrame)
            else None
        )
        call = int(info["call"]) if isinstance(info, dict) and "call" in info else 1
    return _one_call(events, user_audio, agent_audio, call, kw)


def _recording(source: Any) -> Any:
    from ..log import Recording

    if isinstance(source, Recording):
        return source
    rec = getattr(source, "recording", None)
    return rec if isinstance(rec, Recording) else None


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return _frame([], math.nan, 1)
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out["outcome"] = pd.Categorical(out["outcome"].astype(object), categories=list(OUTCOMES))
    out.attrs["stop_secs"] = parts[-1].attrs.get("stop_secs", math.nan)
    return out


def _one_call(events: Any, user_audio: Any, agent_audio: Any, call: int, kw: dict) -> pd.DataFrame:
    vad_settings, vad = kw["vad_settings"], kw["vad"]
    continuation_s, merge_gap_s = kw["continuation_s"], kw["merge_gap_s"]
    silence_db = kw["silence_db"]
    ev, log = resolve(events)
    if log is not None:
        user_audio = log.user_audio if user_audio is None else user_audio
        agent_audio = log.agent_audio if agent_audio is None else agent_audio
    user_audio, agent_audio = audio_from(user_audio, "user"), audio_from(agent_audio, "agent")
    stop_secs = stop_secs_from(ev, vad_settings)
    hang = 0.0 if math.isnan(stop_secs) else stop_secs
    to_kernel = browser_to_kernel(ev)

    units = agent_units(ev)
    cvad = client_vad(user_audio, vad or VadSettings(), ev, to_kernel)
    segs = server_segments(ev)
    if not segs and len(cvad):
        segs = [(float(a), float(b)) for a, b in cvad[["start", "end"]].to_numpy()]
    user_turns = _merge(segs, units, merge_gap_s)
    responses, initiated = assign(user_turns, units, ev, continuation_s, hang)
    answers = {tid: k for k, group in responses.items() for tid in group}  # agent turn id → user turn
    started, ended = playback(ev, to_kernel)

    starts = np.array([u["anchor"] for u in user_turns], dtype=float)

    def owners(frame: pd.DataFrame) -> dict[int, list[int]]:
        """Row positions of ``frame`` per user turn: the turn whose response has the row's
        ``turn_id`` when there is one (a transcript that arrived during the next turn), else the
        last turn that started before the row."""
        own = np.searchsorted(starts, frame["t"].to_numpy(), side="right") - 1
        ids = frame["turn_id"].astype(object).tolist()
        own = [
            answers.get(tid, k) if isinstance(tid, str) else k
            for k, tid in zip(own.tolist(), ids, strict=True)
        ]
        out: dict[int, list[int]] = {}
        for pos, k in enumerate(own):
            out.setdefault(k, []).append(pos)
        return out

    tr = subset(ev, "server", "input_audio_transcript")
    tr = tr[tr["is_final"].fillna(False).to_numpy(dtype=bool)]
    tr_t, tr_text, tr_tid = (
        tr["t"].tolist(),
        tr["text"].astype(object).tolist(),
        tr["turn_id"].astype(object).tolist(),
    )
    tr_by = owners(tr)
    calls = subset(ev, "server", "tool_call")
    c_t, c_id, c_name = (
        calls["t"].tolist(),
        calls["tool_call_id"].astype(object).tolist(),
        calls["tool_name"].astype(object).tolist(),
    )
    call_by = owners(calls)
    outputs = subset(ev, "client", "tool_call_output")
    out_t = dict(zip(outputs["tool_call_id"].astype(object), outputs["t"], strict=False))
    ra = units.attrs["audio_rows"]
    ra_t = ra["t"].to_numpy()[~ra["dropped"].to_numpy()]
    session_t = subset(ev, "server", "session_started")["t"]
    t_session = float(session_t.iloc[0]) if len(session_t) else _NAN
    urec = units.to_dict("index")
    cv_s, cv_e, cv_sb, cv_eb = (
        cvad[c].to_numpy(dtype=float) for c in ("start", "end", "start_browser", "end_browser")
    )

    fl = subset(ev, "browser", "playback-flushed")
    heard = {
        tid: float(n)
        for tid, n in zip(fl["turn_id"].astype(object), fl["samples"].astype(float), strict=False)
        if isinstance(tid, str) and not math.isnan(n)
    }

    rows: list[dict] = []
    for k, u in enumerate(user_turns):
        row = response_row(responses.get(k, []), urec, started, ended, agent_audio, silence_db)
        row.update(n_segments=len(u["segs"]), user_start=u["start"], user_end=u["end"])
        sel = tr_by.get(k, [])
        if sel:
            row["transcript"] = " ".join(tr_text[i] for i in sel if isinstance(tr_text[i], str))
            row["t_transcript"] = float(tr_t[sel[-1]])
            ids = [tr_tid[i] for i in sel if isinstance(tr_tid[i], str)]
            row["user_turn_id"] = ids[-1] if ids else None
        sel = call_by.get(k, [])
        tool_ms = exec_ms = 0.0
        for i in sel:
            ct, ot = c_t[i], out_t.get(c_id[i], _NAN)
            nxt = ra_t[np.searchsorted(ra_t, ot, side="right") :] if not math.isnan(ot) else ()
            exec_ms += ms(ct, ot)
            tool_ms += ms(ct, float(nxt[0])) if len(nxt) else _NAN
        row["n_tool_calls"] = len(sel)
        row["tool_names"] = ",".join(str(c_name[i]) for i in sel) or None
        if sel:
            row["tool_ms"], row["tool_exec_ms"] = tool_ms, exec_ms
        if len(cv_s):
            prev_end = user_turns[k - 1]["end"] if k else -math.inf
            lo = max(prev_end, (u["start"] if not math.isnan(u["start"]) else u["end"]) - 2.0)
            u_end = u["end"] if not math.isnan(u["end"]) else math.inf  # still speaking at the end
            m = np.flatnonzero((cv_s < u_end) & (cv_e > lo) & (cv_e <= u_end))
            if len(m):
                first = m[np.argmin(cv_s[m])]
                row["vad_start"], row["vad_start_browser"] = float(cv_s[first]), float(cv_sb[first])
                j = m[np.argmax(cv_e[m])]
                row["vad_end"], row["vad_end_browser"] = float(cv_e[j]), float(cv_eb[j])
        nxt = user_turns[k + 1] if k + 1 < len(user_turns) else None
        respond(row, u, nxt, responses.get(k, []), hang, (cv_s, cv_e, cv_eb), heard)
        if not row["agent_samples"]:
            # still speaking when the call ended (no speech_stopped came): cut off, not unanswered
            row["outcome"] = "cut-off-by-end" if math.isnan(u["end"]) else "silent"
        rows.append(row)
    for k in range(1, len(rows)):
        prev, cur = rows[k - 1], rows[k]
        onset = cur["vad_start"] if not math.isnan(cur["vad_start"]) else cur["user_start"]
        if prev["interrupted"] and not math.isnan(onset) and onset <= prev["t_interruption"] + 0.05:
            cur["barge_in"] = True
            # both ends on the browser clock when the page reported them (exact, no offset),
            # else through the kernel clock
            yield_b = cur["vad_start_browser"], prev["agent_end_browser"]
            if not any(math.isnan(x) for x in yield_b):
                cur["time_to_yield_ms"] = yield_b[1] - yield_b[0]
            else:
                cur["time_to_yield_ms"] = ms(onset, prev["agent_end"])
        elif not math.isnan(onset) and not math.isnan(prev["agent_end"]) and prev["t_first_audio"] < onset:
            cur["barge_in"] = onset < prev["agent_end"]
    first_user = starts[0] if len(starts) else math.inf
    for j, group in enumerate(initiated):
        row = response_row(group, urec, started, ended, agent_audio, silence_db)
        row["outcome"] = "agent-initiated"
        latencies(row, hang)
        heard = row["t_played"] if not math.isnan(row["t_played"]) else row["t_first_audio"]
        if j == 0 and urec[group[0]]["start"] < first_user:
            row["greeting_ms"] = ms(t_session, heard)
        rows.append(row)
    return _frame(rows, stop_secs, call)


def _merge(segs: list[tuple[float, float]], units: pd.DataFrame, merge_gap_s: float) -> list[dict]:
    """Merge consecutive speech segments with no agent unit starting between them and at most
    ``merge_gap_s`` from one ``speech_stopped`` to the next ``speech_started``."""
    ustarts = np.sort(units["start"].to_numpy()) if len(units) else np.zeros(0)
    out: list[dict] = []
    for s, e in segs:
        anchor = s if not math.isnan(s) else e
        if out:
            prev_end = out[-1]["end"]
            seg_end = e if not math.isnan(e) else math.inf
            # an agent unit that began before this segment ended answers the speech before it
            between = np.any((ustarts > prev_end) & (ustarts < seg_end)) if not math.isnan(prev_end) else True
            if not between and anchor - prev_end <= merge_gap_s:
                out[-1]["segs"].append((s, e))
                out[-1]["end"] = e
                continue
        out.append({"start": s, "end": e, "anchor": anchor, "segs": [(s, e)]})
    return out


def _frame(rows: list[dict], stop_secs: float, call: int) -> pd.DataFrame:
    if rows:
        df = pd.DataFrame(rows)
    else:
        df = pd.DataFrame({c: pd.Series([], dtype=object) for c in TURN_COLUMNS if c not in ("turn", "call")})
    if len(df):  # user turns by their start, agent-initiated rows by their first text/audio
        key = df["user_start"].fillna(df["user_end"]).fillna(df["t_first_text"]).fillna(df["t_first_audio"])
        df = df.iloc[np.argsort(key.to_numpy(dtype=float), kind="stable")].reset_index(drop=True)
    df.insert(0, "turn", np.arange(len(df), dtype=np.int64))
    df.insert(0, "call", np.full(len(df), call, dtype=np.int64))
    for c in FLOAT_COLUMNS:
        df[c] = df[c].astype(float)
    for c in ("user_turn_id", "turn_id", "transcript", "agent_text", "heard_text", "tool_names"):
        df[c] = df[c].astype(pd.StringDtype())
    for c in ("n_segments", "agent_samples", "dropped_samples", "n_tool_calls"):
        df[c] = df[c].astype(np.int64)
    for c in ("interrupted", "barge_in"):
        df[c] = df[c].astype(bool)
    df["outcome"] = pd.Categorical(df["outcome"], categories=list(OUTCOMES))
    df = df[list(TURN_COLUMNS)]
    df.attrs["stop_secs"] = stop_secs
    return df
