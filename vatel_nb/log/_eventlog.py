"""The event log of one call: every event as a row, on one kernel clock; audio kept alongside.

Rows are stored flat, ``t, source, type, fields`` one after the other in one list:
:meth:`EventLog.append` is one ``perf_counter`` read (when ``t`` is not given) and one
``list.extend`` of a 4-tuple — O(1). The tuple is temporary, so appends allocate no lasting
GC-tracked object and never trigger the cyclic garbage collector (a list of per-row tuples would:
storing flat is ~2× faster than a bare ``list.append`` of the row tuple, and ~70 B/row smaller).
Columns are built only in :meth:`EventLog.frame` (strided slices + C loops).

Thread-safety: ``list.extend`` with a tuple is atomic under the GIL (no Python code runs inside),
so the comm-handler thread (JupyterLab's comm subshell), the session's event loop and an
:class:`~vatel_nb.log.Autosaver` thread may append and read concurrently; a row is never seen
half-written and readers snapshot ``len`` first. Rows from different threads are kept in append
order; :meth:`frame` sorts them by ``t`` (stable).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd

from ._audio import AgentAudio, UserAudio
from ._clock import ClockSync
from ._frame import build_frame
from ._schema import SOURCES

__all__ = ["EventLog"]

_SOURCE_SET = frozenset(SOURCES)
_perf = time.perf_counter


class EventLog:
    """All events of one call on the kernel clock, plus the user/agent PCM tracks and the clock sync.

    Attributes: ``t0`` (``time.perf_counter()`` at creation, absolute — the simulator's ground truth
    uses the same clock), ``wall0`` (UTC datetime at ``t0``), ``user_audio`` (:class:`UserAudio`),
    ``agent_audio`` (:class:`AgentAudio`), ``clock`` (:class:`ClockSync`), ``meta`` (dict: agent,
    session_id, … saved with the session).
    """

    def __init__(
        self, *, t0: float | None = None, wall0: datetime | None = None, clock_window_s: float = 10.0
    ):
        self.t0: float = _perf() if t0 is None else float(t0)
        if wall0 is None:
            wall0 = datetime.now(timezone.utc) - timedelta(seconds=_perf() - self.t0)
        if wall0.tzinfo is None:
            raise ValueError("wall0 must be timezone-aware (UTC), e.g. datetime.now(timezone.utc)")
        self.wall0: datetime = wall0.astimezone(timezone.utc)
        self._flat: list[Any] = []  # t, source, type, fields, t, source, …
        self._extend = self._flat.extend
        self.user_audio = UserAudio()
        self.agent_audio = AgentAudio()
        self.clock = ClockSync(window_s=clock_window_s)
        self.meta: dict[str, Any] = {}

    # ------------------------------------------------------------------ recording
    def now(self) -> float:
        """Kernel seconds since ``t0`` (``time.perf_counter`` based)."""
        return _perf() - self.t0

    def append(self, source: str, type: str, t: float | None = None, **fields: Any) -> None:
        """Record one event. O(1). ``t`` = kernel s since ``t0`` (default: now).

        ``source`` is ``server`` | ``client`` | ``browser`` | ``local``; ``fields`` are the row
        fields (:data:`FIELDS`: turn_id, text, is_final, tool_call_id, tool_name, seq, samples,
        t_browser (ms), clock, detail); other keywords end up in ``detail``.
        Raises ``ValueError`` for an unknown source and ``TypeError`` for a non-numeric ``t``
        (nothing is recorded, earlier rows are kept).
        """
        if source not in _SOURCE_SET:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        if t is None:
            t = _perf() - self.t0
        elif t.__class__ is not float:
            try:
                t = float(t)
            except (TypeError, ValueError):
                raise TypeError(f"t must be kernel seconds since t0 (a number), got {t!r}") from None
        self._extend((t, source, type, fields))

    def __len__(self) -> int:
        return len(self._flat) // 4

    def rows(self, start: int = 0, stop: int | None = None) -> list[tuple[float, str, str, dict]]:
        """Raw rows ``(t, source, type, fields)`` ``start:stop`` (0 ≤ start) in append order."""
        n = len(self._flat) // 4
        stop = n if stop is None else min(stop, n)
        seg = self._flat[4 * start : 4 * stop]
        return list(zip(seg[0::4], seg[1::4], seg[2::4], seg[3::4], strict=True))

    def row(self, i: int) -> tuple[float, str, str, dict]:
        """Row ``i`` (negative counts from the end) as ``(t, source, type, fields)``."""
        n = len(self._flat) // 4
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"row {i} out of range ({n} rows)")
        f = self._flat
        return f[4 * i], f[4 * i + 1], f[4 * i + 2], f[4 * i + 3]

    def extend_rows(self, rows: Any) -> None:
        """Append many ``(t, source, type, fields)`` rows as they are (loading a saved session)."""
        for t, source, type_, fields in rows:
            self._extend((t, source, type_, fields))

    def wall(self, t: float) -> datetime:
        """UTC datetime of kernel time ``t`` (s since t0)."""
        return self.wall0 + timedelta(seconds=float(t))

    # ------------------------------------------------------------------ frame
    def frame(self) -> pd.DataFrame:
        """All rows as a tidy DataFrame, one row per event, sorted by ``t`` (stable).

        Columns (absent → NA):

        ==============  ======================  ===========================================================
        ``t``           float64                 kernel s since ``t0``
        ``wall``        datetime64[ns, UTC]     ``wall0 + t``
        ``source``      category                server | client | browser | local
        ``type``        category                wire type or local/browser event name
        ``turn_id``     string
        ``text``        string                  transcript / agent text / error / tool output
        ``is_final``    boolean
        ``tool_call_id`` string
        ``tool_name``   string
        ``seq``         Int64                   chunk / frame sequence number
        ``samples``     Int64                   PCM samples (24 kHz) in the chunk / played / missing
        ``t_browser``   float64                 raw browser ``performance.now()`` ms
        ``t_mapped``    float64                 ``t_browser`` on the kernel clock, s since t0 (ClockSync,
                                                all samples known at the time of the call)
        ``clock``       category                kernel | browser | modelled | device: where the timing
                                                came from (default: browser if ``t_browser`` is set,
                                                else kernel; device = PortAudio stream time)
        ``detail``      object                  dict of anything else (None when empty)
        ==============  ======================  ===========================================================
        """
        flat = self._flat[: len(self._flat) // 4 * 4]
        return build_frame(flat, self.wall0, self.clock)

    @property
    def events(self) -> pd.DataFrame:
        """Same as :meth:`frame` (what ``session.events`` returns)."""
        return self.frame()

    def __repr__(self) -> str:
        return (
            f"EventLog({len(self)} events, {len(self.user_audio)} user / "
            f"{len(self.agent_audio)} agent audio chunks, t0={self.t0:.6f})"
        )
