"""Waveform envelopes: min/max of the samples in each time bucket, at a few zoom levels.

The page never gets samples: it draws each channel from the level whose bucket is just finer than
one pixel. Level 0 is computed from the PCM in one pass per channel (blocks of ``block_buckets``,
so an hour of audio needs little extra memory); each coarser level is ``factor`` buckets of the
level below merged (min of mins, max of maxes), so every level agrees with the samples exactly.

Values are sent as ``int8``: each channel is scaled so that its own peak is 127 (the page draws
shape, not loudness; the scale ``peak`` — the channel's largest |sample| — goes along, so the true
level can be shown). A bucket with sound never rounds to a flat line: a non-zero max (min) stays
≥ 1 (≤ −1).

Byte layout of one level of one channel: ``[min₀, max₀, min₁, max₁, …]`` (``2 n`` bytes, ``n =
ceil(samples / bucket)``); the last bucket may be partial.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["DEFAULT_BUCKETS", "Envelope", "envelope_levels", "minmax", "quantize"]

#: Bucket lengths (samples at 24 kHz) of the levels sent to the page: 10 ms, 100 ms, 1 s.
DEFAULT_BUCKETS: tuple[int, ...] = (240, 2400, 24000)


@dataclass(frozen=True)
class Envelope:
    """One zoom level of one channel: ``bucket`` samples per value pair; ``mm`` int16 ``(n, 2)``
    (min, max) in raw PCM16 units."""

    bucket: int
    mm: np.ndarray

    @property
    def n(self) -> int:
        """Number of buckets."""
        return int(self.mm.shape[0])


def minmax(pcm: np.ndarray, bucket: int, block_buckets: int = 1 << 16) -> np.ndarray:
    """``(ceil(len/bucket), 2)`` int16 array: min and max of each ``bucket`` samples of ``pcm``."""
    if bucket < 1:
        raise ValueError(f"bucket must be ≥ 1 sample, got {bucket}")
    x = np.asarray(pcm)
    n = len(x)
    nb = -(-n // bucket)
    out = np.zeros((nb, 2), dtype=np.int16)
    full = n // bucket
    step = block_buckets
    for b in range(0, full, step):
        e = min(full, b + step)
        blk = x[b * bucket : e * bucket].reshape(e - b, bucket)
        out[b:e, 0] = blk.min(axis=1)
        out[b:e, 1] = blk.max(axis=1)
    if nb > full:
        tail = x[full * bucket :]
        out[full] = (tail.min(), tail.max())
    return out


def _merge(mm: np.ndarray, factor: int) -> np.ndarray:
    n = len(mm)
    nb = -(-n // factor)
    pad = nb * factor - n
    lo = np.concatenate([mm[:, 0], np.full(pad, np.iinfo(np.int16).max, np.int16)]).reshape(nb, factor)
    hi = np.concatenate([mm[:, 1], np.full(pad, np.iinfo(np.int16).min, np.int16)]).reshape(nb, factor)
    return np.stack([lo.min(axis=1), hi.max(axis=1)], axis=1)


def envelope_levels(pcm: np.ndarray, buckets: tuple[int, ...] = DEFAULT_BUCKETS) -> list[Envelope]:
    """The envelopes of one channel (int16 PCM) at each bucket length (samples, increasing; each a
    multiple of the previous)."""
    if not buckets or any(b2 % b1 for b1, b2 in itertools.pairwise(buckets)):
        raise ValueError(f"buckets must be increasing multiples of each other, got {buckets}")
    mm = minmax(pcm, buckets[0])
    out = [Envelope(buckets[0], mm)]
    for b1, b2 in itertools.pairwise(buckets):
        mm = _merge(mm, b2 // b1)
        out.append(Envelope(b2, mm))
    return out


def quantize(mm: np.ndarray, peak: int) -> bytes:
    """``mm`` (int16 min/max pairs) as ``int8`` bytes scaled so that ``peak`` → 127 (see the module
    doc: non-zero values never round to 0)."""
    scale = 127.0 / max(1, int(peak))
    q = np.rint(mm.astype(np.float32) * scale)
    q = np.where((mm > 0) & (q < 1), 1, q)
    q = np.where((mm < 0) & (q > -1), -1, q)
    return np.clip(q, -127, 127).astype(np.int8).tobytes()
