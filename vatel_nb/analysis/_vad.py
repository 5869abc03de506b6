"""Energy VAD over captured PCM16 24 kHz audio: where the user really spoke, on the mic's own clock.

Frames of ``frame_ms`` (default 10 ms = 240 samples). A frame is voiced when its RMS level in
dBFS is above ``max(threshold_db, noise_floor_db + snr_db)``, the noise floor being the
``noise_percentile``-th percentile of the frame levels. Voiced runs separated by less than
``min_silence_ms`` are merged (pauses inside a word/phrase), and runs shorter than
``min_speech_ms`` are dropped (clicks). Boundaries are frame edges: an onset/offset is exact to
one frame. Work is done block-wise in ``float32``, so an hour of audio needs little memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["VadSettings", "frame_levels_db", "leading_silence_samples", "speech_segments"]

_SR = 24_000


@dataclass(frozen=True)
class VadSettings:
    """Client-side VAD parameters (ms, dBFS)."""

    frame_ms: float = 10.0
    threshold_db: float = -45.0
    snr_db: float = 15.0
    noise_percentile: float = 10.0
    min_speech_ms: float = 60.0
    min_silence_ms: float = 250.0

    @property
    def frame_samples(self) -> int:
        """Samples per frame at 24 kHz."""
        return max(1, round(self.frame_ms * _SR / 1000.0))


def frame_levels_db(pcm: np.ndarray, frame_samples: int, block_frames: int = 1 << 15) -> np.ndarray:
    """RMS level (dBFS, −120 floor) of each frame of ``pcm`` (int16); a partial last frame counts too."""
    pcm = np.asarray(pcm)
    n = len(pcm)
    nf = -(-n // frame_samples) if n else 0
    out = np.empty(nf, dtype=np.float32)
    step = block_frames * frame_samples
    for b in range(0, n, step):
        block = pcm[b : b + step].astype(np.float32)
        m = len(block) // frame_samples
        ms = np.empty(-(-len(block) // frame_samples), dtype=np.float32)
        if m:
            x = block[: m * frame_samples].reshape(m, frame_samples)
            ms[:m] = np.einsum("ij,ij->i", x, x) / frame_samples
        if len(block) > m * frame_samples:
            tail = block[m * frame_samples :]
            ms[m] = float(np.dot(tail, tail)) / len(tail)
        out[b // frame_samples : b // frame_samples + len(ms)] = ms
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(out / (32768.0 * 32768.0))
    return np.maximum(db, -120.0)


def speech_segments(pcm: np.ndarray, settings: VadSettings | None = None) -> np.ndarray:
    """Speech segments of ``pcm`` as an ``(n, 2)`` int64 array of ``[start, end)`` sample indices."""
    s = settings or VadSettings()
    fs = s.frame_samples
    levels = frame_levels_db(pcm, fs)
    if len(levels) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    floor = float(np.percentile(levels, s.noise_percentile))
    voiced = levels > max(s.threshold_db, floor + s.snr_db)
    if not voiced.any():
        return np.zeros((0, 2), dtype=np.int64)
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    gap = max(1, round(s.min_silence_ms / s.frame_ms))
    keep = np.concatenate([[True], (starts[1:] - ends[:-1]) >= gap])
    run = np.cumsum(keep) - 1
    m_starts = starts[keep]
    m_ends = np.zeros(len(m_starts), dtype=np.int64)
    np.maximum.at(m_ends, run, ends)
    long_enough = (m_ends - m_starts) * s.frame_ms >= s.min_speech_ms
    seg = np.stack([m_starts[long_enough] * fs, np.minimum(m_ends[long_enough] * fs, len(pcm))], axis=1)
    return seg.astype(np.int64)


def leading_silence_samples(
    pcm: np.ndarray, threshold_db: float = -50.0, frame_samples: int = 240
) -> int | None:
    """Samples before the first frame above ``threshold_db`` dBFS (the agent's leading silence).

    ``None`` if the audio never gets above the threshold (all silence) or is empty.
    """
    levels = frame_levels_db(pcm, frame_samples)
    loud = np.flatnonzero(levels > threshold_db)
    return int(loud[0]) * frame_samples if len(loud) else None
