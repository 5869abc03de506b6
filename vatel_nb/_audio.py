"""PCM16 audio helpers shared by every layer: WAV files, resampling.

All audio inside vatel_nb is PCM16 little-endian; the socket's rate is 24 000 Hz mono
(:data:`SAMPLE_RATE`). Arrays are ``numpy.int16``: shape ``(n,)`` for mono, ``(n, channels)``
for multi-channel (e.g. the stereo recordings: user left, agent right).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from .protocol import SAMPLE_RATE

__all__ = [
    "HEADER_BYTES",
    "SAMPLE_RATE",
    "read_wav",
    "read_wav_array",
    "resample",
    "to_mono_24k",
    "wav_bytes",
    "wav_header",
    "write_wav",
]

#: Size of the header :func:`wav_header` writes (the data starts right after it).
HEADER_BYTES = 44


def wav_header(n_samples: int, channels: int = 1, rate: int = SAMPLE_RATE) -> bytes:
    """A 44-byte PCM16 WAV header for ``n_samples`` frames (for files written incrementally)."""
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


def wav_bytes(pcm: np.ndarray, rate: int = SAMPLE_RATE) -> bytes:
    """A complete PCM16 WAV file as bytes from an ``int16`` array (``(n,)`` or ``(n, channels)``)."""
    arr = np.asarray(pcm)
    if arr.dtype != np.int16:
        raise TypeError(f"WAV files here hold int16 samples, got {arr.dtype}: convert with .astype(np.int16)")
    channels = 1 if arr.ndim == 1 else arr.shape[1]
    return wav_header(arr.shape[0], channels, rate) + arr.astype("<i2", copy=False).tobytes()


def write_wav(path: str | os.PathLike, pcm: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
    """Write an ``int16`` array (``(n,)`` mono or ``(n, channels)``) as a PCM16 WAV; returns the path."""
    p = Path(path)
    p.write_bytes(wav_bytes(pcm, rate))
    return p


def read_wav(path: str | os.PathLike) -> tuple[bytes, int, int]:
    """``(pcm bytes, channels, rate)`` of a PCM16 WAV.

    Tolerant of files a crash left behind: the data chunk runs to the end of the file (stale
    sizes in the header are ignored). Raises ValueError, naming the file, for anything that is
    not 16-bit PCM WAV."""
    raw = Path(path).read_bytes()
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path} is not a WAV file")
    pos, channels, rate = 12, 1, SAMPLE_RATE
    while pos + 8 <= len(raw):
        cid, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        if cid == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", raw[pos + 8 : pos + 24])
            if fmt not in (1, 0xFFFE) or bits != 16:
                raise ValueError(
                    f"{path}: only 16-bit PCM WAV is supported (format {fmt}, {bits} bits); "
                    "convert it, e.g. `sox in.wav -b 16 out.wav`"
                )
        elif cid == b"data":
            data = raw[pos + 8 :]
            return data[: len(data) - len(data) % (2 * channels)], channels, rate
        pos += 8 + size + (size & 1)
    return b"", channels, rate


def read_wav_array(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """A PCM16 WAV as ``(int16 array (n,) or (n, channels), sample rate Hz)``."""
    data, channels, rate = read_wav(path)
    arr = np.frombuffer(data, dtype="<i2").astype(np.int16)
    return (arr.reshape(-1, channels) if channels > 1 else arr), rate


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample a mono signal (any numeric dtype) from ``rate_in`` to ``rate_out`` Hz.

    Downsampling first averages over the ratio (a box low-pass against aliasing), then
    interpolates linearly. Returns float64 samples in the input's scale."""
    x = np.asarray(x, dtype=np.float64)
    if rate_in == rate_out or len(x) == 0:
        return x.copy()
    if rate_out < rate_in:
        k = max(1, round(rate_in / rate_out))
        if k > 1:
            x = np.convolve(x, np.ones(k) / k, mode="same")
    n_out = round(len(x) * rate_out / rate_in)
    t_out = np.arange(n_out) * (rate_in / rate_out)
    return np.interp(t_out, np.arange(len(x)), x)


def to_16k(x: np.ndarray) -> np.ndarray:
    """24 kHz → 16 kHz for a whole number of 3-sample groups (a trailing partial group is
    dropped): of every 3 input samples, the first is kept and the next two are averaged. Cheap
    enough to run per 10 ms frame, streaming (240 samples → 160); float32 in the input's scale.
    The recognizer and the VAD's speech model both hear the user through it."""
    x = np.asarray(x, dtype=np.float32)
    b = x[: x.size // 3 * 3].reshape(-1, 3)
    y = np.empty((b.shape[0], 2), np.float32)
    y[:, 0] = b[:, 0]
    y[:, 1] = 0.5 * (b[:, 1] + b[:, 2])
    return y.reshape(-1)


def to_mono_24k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Any int16 array (mono or multi-channel, any rate) → mono int16 at 24 kHz."""
    x = np.asarray(samples)
    if x.ndim == 2:
        x = x.mean(axis=1)
    y = resample(x, rate, SAMPLE_RATE)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)
