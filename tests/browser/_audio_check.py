"""Compare what the page captured from the fake mic with the script that was played into it."""

from __future__ import annotations

import numpy as np

from ._fake_mic import FRAME, RATE, THRESHOLD

__all__ = ["align", "voiced_runs"]


def align(captured: np.ndarray, reference: np.ndarray, window_s: float = 4.0) -> tuple[int, float]:
    """Where ``captured[0]`` sits in the looped ``reference`` (samples, signed: negative when the
    capture started before the file did) and the normalized correlation there.

    ``reference`` is one pass of the looped file (int16, 24 kHz); the first ``window_s`` of
    ``captured`` is matched against three passes, so loop wrap-around is handled.
    """
    a = captured[: int(window_s * RATE)].astype(np.float64)
    b = np.tile(reference.astype(np.float64), 3)
    n = 1 << int(np.ceil(np.log2(a.size + b.size)))
    corr = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)[: b.size - a.size]
    lag = int(np.argmax(corr))
    seg = b[lag : lag + a.size]
    denom = np.sqrt((a**2).sum() * (seg**2).sum()) or 1.0
    half = reference.size // 2
    return (lag + half) % reference.size - half, float(corr[lag] / denom)


def voiced_runs(pcm: np.ndarray, merge_gap_s: float = 0.3) -> list[tuple[int, int]]:
    """Voiced spans [start, end) in samples by the VAD rule (10 ms frames, RMS ≥ 0.01 full scale);
    spans closer than ``merge_gap_s`` are merged (pauses inside an utterance)."""
    frames = pcm[: pcm.size // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME) / 32768.0
    voiced = np.sqrt((frames**2).mean(axis=1)) >= THRESHOLD
    runs: list[list[int]] = []
    gap = int(merge_gap_s * RATE / FRAME)
    for i in np.flatnonzero(voiced):
        if runs and i - runs[-1][1] <= gap:
            runs[-1][1] = i + 1
        else:
            runs.append([int(i), int(i) + 1])
    return [(a * FRAME, b * FRAME) for a, b in runs]


def locate(
    captured: np.ndarray, segment: np.ndarray, around: int, search_s: float = 0.3
) -> tuple[int, float]:
    """Find ``segment`` in ``captured`` near index ``around`` (± ``search_s``): (index, normalized corr).

    Chromium on a loaded machine can lose a few ms of fake-mic audio between utterances, so each
    utterance is located on its own rather than trusting one global offset.
    """
    lo = max(0, around - int(search_s * RATE))
    hi = min(captured.size, around + int(search_s * RATE) + segment.size)
    region = captured[lo:hi].astype(np.float64)
    seg = segment.astype(np.float64)
    if region.size < seg.size:
        return around, 0.0
    n = 1 << int(np.ceil(np.log2(region.size + seg.size)))
    corr = np.fft.irfft(np.fft.rfft(region, n) * np.conj(np.fft.rfft(seg, n)), n)[
        : region.size - seg.size + 1
    ]
    k = int(np.argmax(corr))
    window = region[k : k + seg.size]
    denom = np.sqrt((seg**2).sum() * (window**2).sum()) or 1.0
    return lo + k, float(corr[k] / denom)


def locate_edges(
    captured: np.ndarray, reference: np.ndarray, start: int, end: int, lag: int, window_s: float = 0.2
) -> tuple[int, int, float]:
    """Find where the utterance ``reference[start:end]`` begins and ends in ``captured`` (expected
    near ``start - lag``), each from a ``window_s`` window at that edge, so a glitch inside the
    utterance does not move the edges. Returns (start, end, lower of the two correlations)."""
    w = int(window_s * RATE)
    a, ca = locate(captured, reference[start : start + w], start - lag)
    b, cb = locate(captured, reference[end - w : end], end - w - lag)
    return a, b + w, min(ca, cb)


def fidelity(captured: np.ndarray, reference: np.ndarray, start: int, end: int, lag: int) -> dict[str, float]:
    """How intact an utterance arrived: correlation of each 100 ms window (best shift ±2.5 ms) —
    ``min``/``median`` — and how many windows needed a shift (audio lost or repeated before them)."""
    w = RATE // 10
    corrs, shifted = [], 0
    for k in range(start, end - w, w):
        seg = reference[k : k + w].astype(np.float64)
        if np.abs(seg).max() < 300:
            continue  # pause: nothing to compare
        pos, c = locate(captured, reference[k : k + w], k - lag, search_s=0.0025)
        corrs.append(c)
        shifted += pos != k - lag
    if not corrs:
        return {"min": 0.0, "median": 0.0, "shifted_windows": 0}
    return {"min": float(min(corrs)), "median": float(np.median(corrs)), "shifted_windows": shifted}
