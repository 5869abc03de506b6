"""PCM16 WAV files: a header for incremental writing, whole files as bytes, tolerant reading."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from ._audio import SAMPLE_RATE

__all__ = ["HEADER_BYTES", "read_wav", "wav_bytes", "wav_header"]

#: Size of the header :func:`wav_header` writes (the data starts right after it).
HEADER_BYTES = 44


def wav_header(n_samples: int, channels: int = 1, rate: int = SAMPLE_RATE) -> bytes:
    data = n_samples * 2 * channels
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
        + b"data"
        + struct.pack("<I", data)
    )


def wav_bytes(pcm: Any, channels: int = 1, rate: int = SAMPLE_RATE) -> bytes:
    """A complete PCM16 WAV file as bytes from an ``int16`` array (``(n,)`` or ``(n, channels)``)."""
    import numpy as np

    arr = np.asarray(pcm)
    if arr.dtype != np.int16:
        raise TypeError(f"wav_bytes wants int16 samples, got {arr.dtype}")
    n = arr.shape[0]
    return wav_header(n, channels, rate) + arr.astype("<i2", copy=False).tobytes()


def read_wav(path: str | os.PathLike) -> tuple[bytes, int, int]:
    """``(pcm bytes, channels, rate)`` of a PCM16 WAV; the data chunk runs to EOF (stale sizes ignored)."""
    raw = Path(path).read_bytes()
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path} is not a WAV file")
    pos, channels, rate = 12, 1, SAMPLE_RATE
    while pos + 8 <= len(raw):
        cid, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        if cid == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", raw[pos + 8 : pos + 24])
            if fmt != 1 or bits != 16:
                raise ValueError(f"{path}: only PCM16 WAV is supported (format {fmt}, {bits} bits)")
        elif cid == b"data":
            data = raw[pos + 8 :]
            return data[: len(data) - len(data) % (2 * channels)], channels, rate
        pos += 8 + size + (size & 1)
    return b"", channels, rate
