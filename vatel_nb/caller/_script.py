"""What a scripted caller says: utterances from WAV files, arrays or text, with timing rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._audio import read_wav_array, to_mono_24k
from .._vad import frame_levels_db
from ..protocol import SAMPLE_RATE

__all__ = ["Utterance", "load_utterance_audio", "voiced_bounds"]


@dataclass(frozen=True)
class Utterance:
    """One thing the user says.

    ``audio``: a WAV path (any rate, 16-bit), an int16 array at 24 kHz, or text (spoken by the
    simulator's voice — espeak-ng when installed, else speech-like synthetic audio).
    ``think``: seconds of silence after the agent's reply finished playing before speaking.
    ``barge_in``: if set, speak this many seconds after the agent's next reply *starts* playing,
    talking over it (an interruption) instead of waiting for it to finish.
    ``pause``: if set, speak this many seconds after the previous utterance ended, whether or not
    the agent replied (a user who pauses briefly and goes on talking).
    ``text``: what the utterance says, when known (used as the scripted transcript).
    """

    audio: str | Path | np.ndarray
    think: float = 0.6
    barge_in: float | None = None
    text: str | None = None
    pause: float | None = None

    @classmethod
    def say(
        cls, text: str, *, think: float = 0.6, barge_in: float | None = None, pause: float | None = None
    ) -> Utterance:
        """An utterance synthesized from ``text``."""
        return cls(audio=text, think=think, barge_in=barge_in, text=text, pause=pause)


_VOICE: Any = None


def _synthesize(text: str) -> np.ndarray:
    """``text`` in the simulator's voice (espeak-ng when installed, else speech-like synthetic audio)."""
    global _VOICE
    if _VOICE is None:
        from ..simulator import Voice  # the simulator's voice, shared so both sides sound alike

        _VOICE = Voice("auto")
    return np.asarray(_VOICE.synthesize(text), dtype=np.int16)


def load_utterance_audio(u: Utterance, synthesize: Callable[[str], np.ndarray] | None = None) -> np.ndarray:
    """The utterance as mono int16 PCM at 24 kHz (reads, resamples or synthesizes)."""
    a = u.audio
    if isinstance(a, np.ndarray):
        if a.dtype != np.int16:
            raise TypeError(f"utterance arrays must be int16 PCM at {SAMPLE_RATE} Hz, got {a.dtype}")
        return a.reshape(-1) if a.ndim == 1 else to_mono_24k(a, SAMPLE_RATE)
    if isinstance(a, Path) or (isinstance(a, str) and a.lower().endswith(".wav")):
        path = Path(a)
        if not path.exists():
            raise FileNotFoundError(f"utterance WAV not found: {path} (give a path to a 16-bit PCM WAV)")
        samples, rate = read_wav_array(path)
        return to_mono_24k(samples, rate)
    return (synthesize or _synthesize)(str(a))


def voiced_bounds(pcm: np.ndarray, *, frame: int = 240, threshold: float = 300.0) -> tuple[int, int] | None:
    """First and last voiced sample (by 10 ms frame RMS above ``threshold``, int16 units), or None
    if silent. Levels come from the kit's one VAD (:func:`vatel_nb._vad.frame_levels_db`)."""
    n = len(pcm) // frame
    if n == 0:
        return None
    levels = frame_levels_db(pcm[: n * frame], frame)
    voiced = np.flatnonzero(levels > 20.0 * np.log10(max(threshold, 1e-3) / 32768.0))
    if len(voiced) == 0:
        return None
    return int(voiced[0] * frame), int((voiced[-1] + 1) * frame)


def as_utterances(items: Sequence[Utterance | str | Path]) -> list[Utterance]:
    """Accept plain strings (text to say, or a .wav path) and paths as utterances."""
    out = []
    for it in items:
        if isinstance(it, Utterance):
            out.append(it)
        elif isinstance(it, Path) or str(it).lower().endswith(".wav"):
            out.append(Utterance(audio=Path(it)))
        else:
            out.append(Utterance.say(str(it)))
    return out
