"""Progress of a suite run: a widget in a notebook, a bar on stderr in a terminal.

``Progress(total, mode)``: ``mode`` is ``"auto"`` (a widget inside a Jupyter kernel, else the
terminal bar), ``"widget"``, ``"bar"`` or ``"none"``. ``advance(call_id, ok)`` is thread-safe.
Not a TTY: one line every 10 % instead of a redrawn bar (readable in CI logs).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

__all__ = ["Progress"]


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


class Progress:
    """Calls done out of ``total``, failed calls, elapsed time."""

    def __init__(self, total: int, mode: str = "auto", label: str = "calls") -> None:
        if mode == "auto":
            mode = "widget" if _in_kernel() else "bar"
        self.total, self.mode, self.label = int(total), mode, label
        self.done = self.failed = 0
        self._t0 = time.perf_counter()
        self._lock = threading.Lock()
        self._last_decile = -1
        self._widget: Any = None
        if mode == "widget":
            import ipywidgets as w
            from IPython.display import display

            self._bar = w.IntProgress(min=0, max=max(1, self.total), description=label)
            self._text = w.Label(f"0/{self.total}")
            self._widget = w.HBox([self._bar, self._text])
            display(self._widget)

    def _line(self) -> str:
        el = time.perf_counter() - self._t0
        bad = f", {self.failed} failed" if self.failed else ""
        return f"{self.done}/{self.total} {self.label}{bad} · {el:.0f} s"

    def advance(self, call_id: str = "", ok: bool = True) -> None:
        """One more call finished (``ok`` False: it failed an expectation or errored)."""
        with self._lock:
            self.done += 1
            self.failed += 0 if ok else 1
            if self.mode == "widget":
                self._bar.value = self.done
                self._bar.bar_style = "danger" if self.failed else ""
                self._text.value = self._line()
            elif self.mode == "bar":
                if sys.stderr.isatty():
                    width = 30
                    fill = int(width * self.done / max(1, self.total))
                    sys.stderr.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {self._line()}  ")
                    sys.stderr.flush()
                else:
                    decile = int(10 * self.done / max(1, self.total))
                    if decile != self._last_decile:
                        self._last_decile = decile
                        print(self._line(), file=sys.stderr, flush=True)

    def close(self) -> None:
        """Finish the bar (newline on a TTY; the widget turns green when nothing failed)."""
        if self.mode == "bar" and sys.stderr.isatty():
            sys.stderr.write("\n")
            sys.stderr.flush()
        elif self.mode == "widget":
            self._bar.bar_style = "danger" if self.failed else "success"
