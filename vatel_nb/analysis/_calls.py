"""Join the server's call record (``GET /v1/calls/{id}``: ``transcript.entries``) to local turns.

Accepts the spec's Call as a mapping (``{"transcript": {"entries": [...]}}``), a typed object
with ``.transcript.entries`` (attributes or mappings), or the entries list itself.

Joining, per entry kind:

* ``message`` rows with role ``user`` → the local user turn whose ``user_turn_id`` equals the
  entry's ``turnId``; entries without a match are joined by order (the k-th unmatched user message
  ↔ the k-th user turn that no entry matched by id; turns in time order, entries in
  ``index``/``createdAt`` order).
* ``message`` rows with role ``assistant`` → the turn whose ``agent_turn_ids`` contains the
  ``turnId``; else by order over turns that have agent text/audio (agent-initiated ones included).
* ``tool_call`` rows are counted per turn through ``turnId`` when it matches (``call_tool_calls``).

Added columns: ``call_user_message``, ``call_agent_message`` (strings, joined with a space when
several entries land on one turn), ``call_user_created_at``, ``call_agent_created_at`` (UTC
datetimes of the first entry), ``call_join`` (``turn_id`` | ``order`` | ``mixed``; NA when nothing
joined), ``call_tool_calls`` (Int64).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = ["call_entries", "join_call_record"]


def _get(obj: Any, *names: str) -> Any:
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj:
                return obj[name]
        elif hasattr(obj, name):
            return getattr(obj, name)
    return None


def call_entries(call: Any) -> pd.DataFrame:
    """Transcript entries as a frame: index, role, type, message, turn_id, created_at (UTC)."""
    if isinstance(call, (list, tuple)):
        entries = call
    else:
        tr = _get(call, "transcript")
        entries = _get(tr, "entries") if tr is not None else None
        if entries is None:
            raise ValueError(
                "the call record has no transcript.entries (was the transcript stored for the call?)"
            )
    rows = []
    for pos, e in enumerate(entries):
        rows.append(
            {
                "index": _get(e, "index") if _get(e, "index") is not None else pos,
                "role": _get(e, "role") or "",
                "type": _get(e, "type") or "message",
                "message": _get(e, "message"),
                "turn_id": _get(e, "turnId", "turn_id"),
                "created_at": pd.to_datetime(_get(e, "createdAt", "created_at"), utc=True, errors="coerce"),
            }
        )
    df = pd.DataFrame(rows, columns=["index", "role", "type", "message", "turn_id", "created_at"])
    return df.sort_values(["index", "created_at"], kind="stable").reset_index(drop=True)


def join_call_record(turns_df: pd.DataFrame, call: Any) -> pd.DataFrame:
    """``turns_df`` plus the server transcript's user/assistant messages per turn (see module doc)."""
    ent = call_entries(call)
    out = turns_df.copy()
    n = len(out)
    user_msg: list[list[str]] = [[] for _ in range(n)]
    agent_msg: list[list[str]] = [[] for _ in range(n)]
    user_at: list[Any] = [pd.NaT] * n
    agent_at: list[Any] = [pd.NaT] * n
    how: list[set] = [set() for _ in range(n)]
    tools = [0] * n
    by_user_id = {tid: i for i, tid in enumerate(out["user_turn_id"].astype(object)) if isinstance(tid, str)}
    by_agent_id = {tid: i for i, ids in enumerate(out["agent_turn_ids"]) for tid in (ids or [])}
    is_user = (out["outcome"].astype(str) != "agent-initiated").to_numpy()
    has_agent = (out["agent_text"].notna() | (out["agent_samples"] > 0)).to_numpy()
    pending_user: list[int] = []
    pending_agent: list[int] = []
    for j, e in ent.iterrows():
        tid = e["turn_id"]
        if e["type"] == "tool_call":
            if tid in by_agent_id:
                tools[by_agent_id[tid]] += 1
            elif tid in by_user_id:
                tools[by_user_id[tid]] += 1
            continue
        if e["type"] != "message" or not isinstance(e["message"], str):
            continue
        if e["role"] == "user":
            if tid in by_user_id:
                _put(by_user_id[tid], e, user_msg, user_at, how, "turn_id")
            else:
                pending_user.append(j)
        elif e["role"] == "assistant":
            if tid in by_agent_id:
                _put(by_agent_id[tid], e, agent_msg, agent_at, how, "turn_id")
            else:
                pending_agent.append(j)
    free_user = [i for i in range(n) if is_user[i] and not user_msg[i]]
    free_agent = [i for i in range(n) if has_agent[i] and not agent_msg[i]]
    for j, i in zip(pending_user, free_user, strict=False):
        _put(i, ent.loc[j], user_msg, user_at, how, "order")
    for j, i in zip(pending_agent, free_agent, strict=False):
        _put(i, ent.loc[j], agent_msg, agent_at, how, "order")
    out["call_user_message"] = pd.array([" ".join(m) or None for m in user_msg], dtype=pd.StringDtype())
    out["call_agent_message"] = pd.array([" ".join(m) or None for m in agent_msg], dtype=pd.StringDtype())
    out["call_user_created_at"] = pd.to_datetime(pd.Series(user_at, dtype=object), utc=True)
    out["call_agent_created_at"] = pd.to_datetime(pd.Series(agent_at, dtype=object), utc=True)
    out["call_join"] = pd.array(
        [None if not h else next(iter(h)) if len(h) == 1 else "mixed" for h in how], dtype=pd.StringDtype()
    )
    out["call_tool_calls"] = pd.array(tools, dtype="Int64")
    return out


def _put(i: int, e: pd.Series, msgs: list, ats: list, how: list, kind: str) -> None:
    msgs[i].append(e["message"])
    if pd.isna(ats[i]):
        ats[i] = e["created_at"]
    how[i].add(kind)
