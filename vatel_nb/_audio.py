"""PCM16 helpers shared by every layer: WAV read/write, resampling, int16 ↔ bytes.

All audio inside vatel_nb is PCM16 little-endian; the socket's rate is 24 000 Hz mono
(:data:`vatel_nb.protocol.SAMPLE_RATE`). Arrays are ``numpy.int16``: shape ``(n,)`` for mono,
``(n, channels)`` for multi-channel.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

__all__ = ["read_wav", "resample", "to_mono_24k", "wav_bytes", "write_wav"]


def read_wav(source: str | Path | bytes) -> tuple[np.ndarray, int]:
    """Read a PCM16 WAV (path or bytes) → ``(int16 array (n,) or (n, channels), sample rate Hz)``.

    Raises ValueError, naming the file, when it is not 16-bit PCM."""
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    fh = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")
    with fh, wave.open(fh, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{name}: {8 * w.getsampwidth()}-bit WAV; vatel_nb reads 16-bit PCM WAV only")
        channels, rate = w.getnchannels(), w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
    return (data.reshape(-1, channels) if channels > 1 else data), rate


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Encode an int16 array (``(n,)`` mono or ``(n, channels)``) as a PCM16 WAV file's bytes."""
    samples = np.asarray(samples)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
    return buf.getvalue()


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> Path:
    """Write an int16 array as a PCM16 WAV file; returns the path."""
    path = Path(path)
    path.write_bytes(wav_bytes(samples, rate))
    return path


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


def to_mono_24k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Any int16 array (mono or multi-channel, any rate) → mono int16 at 24 kHz."""
    x = np.asarray(samples)
    if x.ndim == 2:
        x = x.mean(axis=1)
    y = resample(x, rate, 24_000)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)
