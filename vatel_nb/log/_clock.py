"""Browser ↔ kernel clock offset, estimated NTP-style from kernel-initiated pings.

The kernel sends ``ping`` at kernel time ``k_send`` (s since ``EventLog.t0``), the page answers
``pong`` with its ``performance.now()`` reading ``t_browser`` (ms), the kernel receives the pong at
``k_recv`` (s since t0). For one sample::

    rtt_s     = k_recv − k_send
    offset_ms = t_browser − 1000 · (k_send + k_recv) / 2        (browser ms − kernel ms)

The true offset lies within ± rtt/2 of the sample's offset whatever the path asymmetry, so the
lowest-RTT samples are the trustworthy ones. Estimation:

* the samples are split into consecutive windows of ``window_s`` seconds (kernel clock);
  in each window the minimum-RTT sample is an *anchor* ``(k_mid, offset_ms, rtt_ms)``;
* :meth:`ClockSync.to_kernel` maps a browser time with the offset linearly interpolated between
  the anchors around it (flat before the first / after the last anchor). Re-estimation is
  therefore continuous during the call and a drifting offset is followed; a past browser time is
  always mapped with all samples known *now* (the best estimate for that moment), so a frame
  rebuilt later can only get better.
* the bound on the error of a mapped time is about ``rtt_min/2`` of the nearest anchors plus the
  drift over half a window (:attr:`ClockSync.uncertainty_ms`).

Thread-safety: :meth:`add_sample` appends to lists (atomic under the GIL); anchors are rebuilt
lazily on read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["ClockSync"]


class ClockSync:
    """Offset between the browser's ``performance.now()`` (ms) and the kernel clock (s since t0)."""

    def __init__(self, window_s: float = 10.0) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0 seconds, got {window_s!r}")
        self.window_s = float(window_s)
        self._k_send: list[float] = []
        self._t_browser: list[float] = []
        self._k_recv: list[float] = []
        self._anchors: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._anchors_n = -1

    # ------------------------------------------------------------------ input
    def add_sample(self, k_send: float, t_browser: float, k_recv: float) -> None:
        """Add one ping/pong sample: kernel send/receive times in s since t0, browser time in ms.

        Raises ``ValueError`` when ``k_recv < k_send`` (swap the arguments) or a value is not finite.
        """
        k_send, t_browser, k_recv = float(k_send), float(t_browser), float(k_recv)
        if not (math.isfinite(k_send) and math.isfinite(t_browser) and math.isfinite(k_recv)):
            raise ValueError("clock sample values must be finite numbers (k_send s, t_browser ms, k_recv s)")
        if k_recv < k_send:
            raise ValueError(f"k_recv ({k_recv}) < k_send ({k_send}): pass (k_send, t_browser, k_recv)")
        self._k_send.append(k_send)
        self._t_browser.append(t_browser)
        self._k_recv.append(k_recv)

    def __len__(self) -> int:
        return len(self._k_recv)

    def samples(self) -> list[tuple[float, float, float]]:
        """All samples as ``(k_send s, t_browser ms, k_recv s)`` tuples, in arrival order."""
        n = len(self._k_recv)
        return list(zip(self._k_send[:n], self._t_browser[:n], self._k_recv[:n], strict=False))

    def extend(self, samples: Iterable[tuple[float, float, float]]) -> None:
        """Add many ``(k_send, t_browser, k_recv)`` samples (used when loading a saved session)."""
        for s in samples:
            self.add_sample(*s)

    # ------------------------------------------------------------------ estimate
    def anchors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-window min-RTT anchors: ``(k_mid s, offset_ms, rtt_ms)`` arrays sorted by ``k_mid``."""
        n = len(self._k_recv)
        if self._anchors is not None and self._anchors_n == n:
            return self._anchors
        ks = np.asarray(self._k_send[:n], dtype=float)
        kr = np.asarray(self._k_recv[:n], dtype=float)
        tb = np.asarray(self._t_browser[:n], dtype=float)
        mid = (ks + kr) / 2.0
        rtt = (kr - ks) * 1000.0
        off = tb - mid * 1000.0
        if n == 0:
            out = (mid, off, rtt)
        else:
            order = np.argsort(mid, kind="stable")
            mid, off, rtt = mid[order], off[order], rtt[order]
            win = np.floor((mid - mid[0]) / self.window_s).astype(np.int64)
            by = np.lexsort((rtt, win))  # per window, lowest RTT first
            p = by[np.r_[True, win[by][1:] != win[by][:-1]]]
            out = (mid[p], off[p], rtt[p])
        self._anchors, self._anchors_n = out, n
        return out

    @property
    def offset_ms(self) -> float:
        """Latest estimate of ``browser ms − kernel ms`` (last window's min-RTT sample); NaN if none."""
        _, off, _ = self.anchors()
        return float(off[-1]) if len(off) else math.nan

    @property
    def rtt_ms(self) -> float:
        """RTT of the sample behind :attr:`offset_ms` (ms); NaN if no sample."""
        _, _, rtt = self.anchors()
        return float(rtt[-1]) if len(rtt) else math.nan

    @property
    def uncertainty_ms(self) -> float:
        """Error bound of the latest estimate from path asymmetry alone: ``rtt/2`` (ms)."""
        return self.rtt_ms / 2.0

    def offset_at(self, k: float | np.ndarray) -> float | np.ndarray:
        """Offset (browser ms − kernel ms) valid at kernel time ``k`` (s), interpolated between anchors."""
        mid, off, _ = self.anchors()
        if len(off) == 0:
            return np.full(np.shape(k), np.nan) if np.ndim(k) else math.nan
        res = np.interp(k, mid, off)
        return res if np.ndim(k) else float(res)

    def to_kernel(self, t_browser_ms: float | np.ndarray) -> float | np.ndarray:
        """Browser ``performance.now()`` ms → kernel seconds since t0. NaN when no sample yet or NaN in."""
        mid, off, _ = self.anchors()
        tb = np.asarray(t_browser_ms, dtype=float)
        if len(off) == 0:
            out = np.full(tb.shape, np.nan)
        else:
            # first guess with the nearest-in-browser-time offset, then one refinement at that time
            k = (tb - np.interp(tb, mid * 1000.0 + off, off)) / 1000.0
            out = (tb - np.interp(k, mid, off)) / 1000.0
        return out if np.ndim(t_browser_ms) else float(out)

    def to_browser(self, k: float | np.ndarray) -> float | np.ndarray:
        """Kernel seconds since t0 → browser ``performance.now()`` ms (NaN when no sample yet)."""
        kk = np.asarray(k, dtype=float)
        out = kk * 1000.0 + np.asarray(self.offset_at(kk))
        return out if np.ndim(k) else float(out)
