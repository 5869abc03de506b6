"""When each output sample reaches the DAC: PortAudio's per-callback DAC times, made consistent.

PortAudio reports ``outputBufferDacTime`` for each output callback. Measured through ALSA's
PulseAudio plugin (PortAudio 19.6, the CI's virtual devices, a null sink recorded by ``parec``):

- the stream first fills its buffer in a burst of callbacks whose DAC times assume playback
  starts at once; the server then stalls ~0.8 s before it consumes anything;
- for the next ~0.4 s the reported delay ramps from ~0 to its steady ~200 ms in 60 ms steps,
  while the callbacks come in real time and no underflow is flagged. Under load a step of the
  ramp can hold for a few hundred ms (a fresh-clone CI run settled on the 0 ms step at 0.25 s:
  the greeting was stamped 200 ms early), so the offsets must agree for a whole second.

The samples stay contiguous throughout: the speaker plays sample ``n`` of the stream at
``anchor + n / rate`` with one anchor, the one the callbacks report once the delay is steady. A
turn that began during the start-up was stamped up to 200 ms early (the local-audio device test
caught it: greeting → reply gap 200 ms longer than in the speaker's recording).

:class:`DacClock` keeps that anchor. Per callback ``offset = dac − n / rate``. Until the offsets
have agreed within ``tolerance_s`` over ``settle_s`` of stream time (1 s; a single reading off
is ignored, two in a row start the count again) or ``max_wait_s`` (4 s) passed,
the clock is not :attr:`~DacClock.settled`: :meth:`DacClock.block` returns a provisional time and
the anchor it used, so that the caller can hold what it stamped and move it by
``final anchor − anchor used`` when the clock settles. Afterwards the anchor is the median offset of
the last few callbacks: per-callback noise is ignored, and a real step (an underflow that delayed
everything after it) is taken up within a few callbacks. Device seconds (PortAudio's stream time);
no I/O: unit-tested.
"""

from __future__ import annotations

import statistics
from collections import deque

__all__ = ["DacClock"]


class DacClock:
    """Device time (s) of output sample ``n`` of one stream: ``anchor + n / rate``.

    ``settle_s``: stream time (s) the offsets must agree over before the anchor is trusted;
    ``tolerance_s``: how closely; ``max_wait_s``: trust it anyway after this long (s since the
    first callback); ``window``: callbacks in the running median once settled."""

    def __init__(
        self,
        rate: int,
        settle_s: float = 1.0,
        tolerance_s: float = 0.002,
        max_wait_s: float = 4.0,
        window: int = 5,
    ) -> None:
        self.rate = rate
        self.settle_s = settle_s
        self.tolerance_s = tolerance_s
        self.max_wait_s = max_wait_s
        self._recent: deque[float] = deque(maxlen=window)
        self._stable: list[tuple[float, float]] = []  # (stream time, offset) agreeing so far
        self._outlier: tuple[float, float] | None = None  # the last reading off the agreement
        self._first_now: float | None = None
        self.anchor: float | None = None
        #: True once the offsets are steady (the anchor is no longer provisional).
        self.settled = False

    def block(self, n: int, dac: float, now: float) -> tuple[float, float]:
        """A callback for samples ``n…`` with PortAudio DAC time ``dac`` of sample ``n`` at stream
        time ``now``: ``(DAC time to use for sample n, the anchor it used)``, seconds."""
        offset = dac - n / self.rate
        if self._first_now is None:
            self._first_now = now
        if self.settled:
            self._recent.append(offset)
            self.anchor = statistics.median(self._recent)
            return self.anchor + n / self.rate, self.anchor
        if self._stable and abs(offset - statistics.median(o for _, o in self._stable)) > self.tolerance_s:
            if self._outlier is None:  # one reading off: ignored (per-callback noise)
                self._outlier = (now, offset)
                return offset + n / self.rate, offset
            self._stable = [self._outlier]  # two in a row: the offset moved, start again
        self._outlier = None
        self._stable.append((now, offset))
        steady = now - self._stable[0][0] >= self.settle_s
        if steady or now - self._first_now >= self.max_wait_s:
            self.settled = True
            offsets = [o for _, o in self._stable]
            self.anchor = statistics.median(offsets)
            self._recent.extend(offsets)  # the deque keeps the last `window`
        else:
            self.anchor = offset  # provisional: this callback's own
        return self.anchor + n / self.rate, self.anchor
