"""Building the events DataFrame from the flat row list, column by column in C loops."""

from __future__ import annotations

import math
from datetime import datetime
from itertools import compress, repeat

import numpy as np
import pandas as pd

from ._clock import ClockSync
from ._schema import CLOCKS, FIELDS, SOURCES, STR, empty_frame

__all__ = ["build_frame"]


def _field_columns(flds: list[dict], keys: list[str]) -> dict[str, np.ndarray]:
    """One object array per key (missing → None or NaN). pandas' C ``dicts_to_array`` when
    available, else ``map(dict.get)`` per key (also C loops, ~3× slower)."""
    n = len(flds)
    if not keys:
        return {}
    try:
        from pandas._libs.lib import dicts_to_array

        arr = dicts_to_array(flds, list(keys))
        return {k: arr[:, j] for j, k in enumerate(keys)}
    except Exception:  # private API moved: the portable path
        out = {}
        for k in keys:
            col = np.empty(n, dtype=object)
            col[:] = list(map(dict.get, flds, repeat(k)))
            out[k] = col
        return out


def build_frame(flat: list, wall0: datetime, clock: ClockSync) -> pd.DataFrame:
    """Columns from the flat row list ``[t, source, type, fields, …]`` (see :meth:`EventLog.frame`).
    Field extraction runs in C."""
    n = len(flat) // 4
    if n == 0:
        return empty_frame()
    ts, srcs, types, flds = flat[0::4], flat[1::4], flat[2::4], flat[3::4]
    used = set().union(*flds)
    cols = _field_columns(flds, [k for k in FIELDS if k in used])
    unknown = used.difference(FIELDS)
    detail = _objects(cols.get("detail"), n)
    for k in sorted(unknown):
        has = list(map(dict.__contains__, flds, repeat(k)))
        for i in compress(range(n), has):
            v, d = flds[i][k], detail[i]
            detail[i] = {**d, k: v} if isinstance(d, dict) else {k: v} if d is None else {"detail": d, k: v}
    t = np.fromiter(ts, dtype=float, count=n)
    order = None
    if n > 1 and bool(np.any(t[1:] < t[:-1])):
        order = np.argsort(t, kind="stable")
    tb = _floats(cols.get("t_browser"), n)
    wall_ns = pd.Timestamp(wall0).value + np.round(t * 1e9).astype(np.int64)
    df = pd.DataFrame(
        {
            "t": t,
            "wall": pd.DatetimeIndex(wall_ns.astype("datetime64[ns]")).tz_localize("UTC"),
            "source": _categorical(srcs, SOURCES),
            "type": _categorical(types),
            "turn_id": _strings(cols.get("turn_id"), n),
            "text": _strings(cols.get("text"), n),
            "is_final": _booleans(cols.get("is_final"), n),
            "tool_call_id": _strings(cols.get("tool_call_id"), n),
            "tool_name": _strings(cols.get("tool_name"), n),
            "seq": _int64(cols.get("seq"), n),
            "samples": _int64(cols.get("samples"), n),
            "t_browser": tb,
            "t_mapped": clock.to_kernel(tb) if len(clock) else np.full(n, math.nan),
            "clock": _clock_column(cols.get("clock"), tb),
            "detail": pd.Series(detail, dtype=object),
        }
    )
    if order is not None:
        df = df.iloc[order].reset_index(drop=True)
    return df


def _objects(col: np.ndarray | None, n: int) -> np.ndarray:
    """Object column with None for missing (a copy)."""
    if col is None:
        return np.full(n, None, dtype=object)
    out = col.copy()
    out[pd.isna(out)] = None
    return out


def _floats(col: np.ndarray | None, n: int) -> np.ndarray:
    if col is None:
        return np.full(n, math.nan)
    try:
        return col.astype(float)  # missing keys are NaN already; fails on an explicit None
    except (TypeError, ValueError):
        mask = pd.isna(col)
        return np.where(mask, math.nan, col).astype(float)


def _categorical(values: list, categories: tuple[str, ...] | None = None) -> pd.Categorical:
    cats = sorted(set(values), key=str) if categories is None else list(categories)
    lookup = {c: i for i, c in enumerate(cats)}
    codes = np.fromiter(map(lookup.__getitem__, values), dtype=np.int32, count=len(values))
    return pd.Categorical.from_codes(codes, categories=cats)


def _clock_column(explicit: np.ndarray | None, tb: np.ndarray) -> pd.Categorical:
    codes = np.where(np.isnan(tb), 0, 1).astype(np.int8)  # kernel / browser
    if explicit is not None:
        lookup = {c: i for i, c in enumerate(CLOCKS)}
        for i in np.flatnonzero(~pd.isna(explicit)).tolist():
            c = explicit[i]
            if c not in lookup:
                raise ValueError(f"row {i}: clock must be one of {CLOCKS}, got {c!r}")
            codes[i] = lookup[c]
    return pd.Categorical.from_codes(codes, categories=list(CLOCKS))


def _strings(col: np.ndarray | None, n: int) -> pd.arrays.StringArray:
    if col is None:
        return pd.arrays.StringArray(np.full(n, pd.NA, dtype=object))
    arr = col.copy()
    arr[pd.isna(arr)] = pd.NA
    try:
        return pd.arrays.StringArray(arr)
    except ValueError:  # non-str values (e.g. an int turn id): convert them
        return pd.array(arr, dtype=STR)


def _booleans(col: np.ndarray | None, n: int) -> pd.arrays.BooleanArray:
    if col is None:
        return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    mask = pd.isna(col)
    return pd.arrays.BooleanArray(np.where(mask, False, col).astype(bool), mask)


def _int64(col: np.ndarray | None, n: int) -> pd.arrays.IntegerArray:
    if col is None:
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    f = _floats(col, n)
    mask = np.isnan(f)
    return pd.arrays.IntegerArray(np.where(mask, 0.0, f).astype(np.int64), mask)
