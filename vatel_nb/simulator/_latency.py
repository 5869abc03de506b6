"""Injected per-stage delays of the simulated agent, constants or seeded distributions.

Every delay is in seconds and is *added* by the simulator on top of what it really spends,
so a test can compare the timing it observes with the delay it asked for (the ground truth
records each sampled value, see :mod:`._truth`).

Stages, in the order a user turn goes through them:

``endpointing``
    extra wait after the VAD hangover (``vad_settings.stop_secs`` of silence) before
    ``speech_stopped`` is sent.
``transcription``
    ``speech_stopped`` sent → final ``input_audio_transcript`` sent.
``text``
    final transcript sent → first ``response_text`` (also tool output received → next text).
``audio_first_byte``
    first ``response_text`` → first ``response_audio`` chunk.
``jitter``
    per audio chunk, added to its scheduled send time (network jitter; chunks stay in order,
    the delay does not accumulate).
``audio_burst``
    seconds of each response's audio sent at once, before real-time pacing starts (TTS services
    send faster than real time at first). ``float("inf")`` sends everything at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields

__all__ = ["Constant", "Delay", "Latency", "Normal", "Uniform"]


@dataclass
class Constant:
    """Always ``value`` seconds."""

    value: float = 0.0

    def sample(self) -> float:
        return float(self.value)


@dataclass
class Uniform:
    """Uniform on ``[low, high]`` seconds; ``seed`` makes the sequence reproducible."""

    low: float
    high: float
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.high < self.low or self.low < 0:
            raise ValueError(f"Uniform needs 0 <= low <= high, got low={self.low}, high={self.high}")
        self._rng = random.Random(self.seed)

    def sample(self) -> float:
        return self._rng.uniform(self.low, self.high)


@dataclass
class Normal:
    """Normal(``mean``, ``sd``) seconds clipped to ``[minimum, ∞)``; ``seed`` for reproducibility."""

    mean: float
    sd: float
    seed: int | None = None
    minimum: float = 0.0
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.sd < 0:
            raise ValueError(f"Normal needs sd >= 0, got {self.sd}")
        self._rng = random.Random(self.seed)

    def sample(self) -> float:
        return max(self.minimum, self._rng.gauss(self.mean, self.sd))


#: A delay setting: seconds (int/float) or an object with ``.sample() -> float`` seconds.
Delay = float | int | Constant | Uniform | Normal

_STAGES = ("endpointing", "transcription", "text", "audio_first_byte", "jitter")


@dataclass
class Latency:
    """Injected delays of one agent or session (seconds; see the module docstring for stages).

    Example: ``Latency(endpointing=0.1, transcription=0.05, text=Uniform(0.2, 0.4, seed=1),
    audio_first_byte=0.15)``. The default is no added delay and real-time audio pacing.
    """

    endpointing: Delay = 0.0
    transcription: Delay = 0.0
    text: Delay = 0.0
    audio_first_byte: Delay = 0.0
    jitter: Delay = 0.0
    audio_burst: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (int, float)):
                if v < 0:
                    raise ValueError(f"Latency.{f.name} must be >= 0 seconds, got {v}")
            elif f.name == "audio_burst" or not callable(getattr(v, "sample", None)):
                hint = (
                    "" if f.name == "audio_burst" else " or an object with .sample(), e.g. Uniform(0.1, 0.3)"
                )
                raise TypeError(f"Latency.{f.name} must be seconds (a number){hint}, got {v!r}")

    def sample(self, stage: str) -> float:
        """One delay (s) for ``stage`` (one of endpointing, transcription, text, audio_first_byte, jitter)."""
        if stage not in _STAGES:
            raise ValueError(f"unknown latency stage {stage!r}; expected one of {_STAGES}")
        v = getattr(self, stage)
        return float(v) if isinstance(v, (int, float)) else max(0.0, float(v.sample()))
