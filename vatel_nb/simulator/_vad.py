"""Energy VAD over the user's PCM16 24 kHz stream, honouring ``start_secs`` / ``stop_secs``.

The stream is cut into 10 ms frames (240 samples). A frame is *voiced* when its RMS is at least
``threshold`` (full scale = 1.0; default 0.01 ≈ −40 dBFS, well under normal speech at −30…−15
dBFS and well over a quiet room). Speech *starts* once ``start_secs`` of voiced frames have
accumulated since an onset (gaps shorter than 60 ms do not reset the count); it *stops* after
``stop_secs`` of unvoiced frames. Positions are sample indices in the user's input stream
(seconds of audio = samples / 24000); decisions are made at frame boundaries, so every position
is exact to one 10 ms frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..protocol import SAMPLE_RATE

__all__ = ["FRAME_SAMPLES", "EnergyVad", "VadEvent"]

#: VAD frame: 10 ms at 24 kHz.
FRAME_SAMPLES = 240
_GAP_TOLERANCE = 6  # frames (60 ms) of silence allowed inside an onset before it resets


@dataclass(frozen=True)
class VadEvent:
    """``kind`` "start": speech began at sample ``position`` (onset), decided at ``decided_at``.
    ``kind`` "stop": speech ended at ``position`` (end of last voiced frame), decided at ``decided_at``."""

    kind: str
    position: int
    decided_at: int


class EnergyVad:
    """Feed PCM16 samples with :meth:`feed`; get start/stop :class:`VadEvent` s back."""

    def __init__(self, start_secs: float = 0.2, stop_secs: float = 0.5, threshold: float = 0.01) -> None:
        self.start_frames = max(1, round(start_secs * SAMPLE_RATE / FRAME_SAMPLES))
        self.stop_frames = max(1, round(stop_secs * SAMPLE_RATE / FRAME_SAMPLES))
        self.threshold = threshold * 32768.0
        self.position = 0  # samples consumed into whole frames
        self.speaking = False
        self._rest = np.zeros(0, dtype=np.int16)
        self._onset: int | None = None
        self._voiced = 0
        self._silent = 0
        self._last_voiced_end = 0

    def feed(self, samples: np.ndarray) -> list[VadEvent]:
        """Consume int16 samples; return the events decided in them (in order)."""
        buf = np.concatenate([self._rest, samples]) if self._rest.size else samples
        n = buf.size // FRAME_SAMPLES
        self._rest = buf[n * FRAME_SAMPLES :].copy()
        if n == 0:
            return []
        frames = buf[: n * FRAME_SAMPLES].astype(np.float32).reshape(n, FRAME_SAMPLES)
        voiced = np.sqrt(np.mean(frames * frames, axis=1)) >= self.threshold
        events: list[VadEvent] = []
        for v in voiced.tolist():
            start, end = self.position, self.position + FRAME_SAMPLES
            self.position = end
            if not self.speaking:
                if v:
                    if self._onset is None:
                        self._onset, self._voiced = start, 0
                    self._voiced += 1
                    self._silent = 0
                    self._last_voiced_end = end
                    if self._voiced >= self.start_frames:
                        self.speaking = True
                        events.append(VadEvent("start", self._onset, end))
                elif self._onset is not None:
                    self._silent += 1
                    if self._silent >= _GAP_TOLERANCE:
                        self._onset, self._voiced, self._silent = None, 0, 0
            elif v:
                self._silent = 0
                self._last_voiced_end = end
            else:
                self._silent += 1
                if self._silent >= self.stop_frames:
                    events.append(VadEvent("stop", self._last_voiced_end, end))
                    self.speaking = False
                    self._onset, self._voiced, self._silent = None, 0, 0
        return events

    def force_stop(self) -> VadEvent | None:
        """End an ongoing speech segment now (input stalled or the session ends)."""
        if not self.speaking:
            return None
        self.speaking = False
        self._onset, self._voiced, self._silent = None, 0, 0
        return VadEvent("stop", self._last_voiced_end, self.position)
