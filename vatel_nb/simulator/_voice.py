"""The simulated agent's voice: text → PCM16 mono 24 kHz samples (numpy int16).

``"espeak"``: real synthesized English speech from libespeak-ng (the ``espeakng_loader``
package ships the library and its data). Synthesised at espeak's 22 050 Hz in synchronous
mode through ctypes, resampled to 24 kHz (linear interpolation). espeak starts with ~10–15 ms
of near-silence: the ground truth records each response's leading silence.

``"synthetic"``: deterministic speech-like audio — one voiced syllable per ~3 characters
(harmonic tone at 120–160 Hz with a raised-cosine envelope, ≈ 60 ms per character, 40 ms
between words), audible from the first sample. Used when espeak is unavailable, or on request.

Results are cached per text. espeak's global state is guarded by a lock; call from a thread.
"""

from __future__ import annotations

import asyncio
import ctypes
import threading
import zlib

import numpy as np

from ..protocol import SAMPLE_RATE

__all__ = ["Voice", "espeak_available", "leading_silence", "speak"]

_ESPEAK_LOCK = threading.Lock()
_espeak: tuple | None = None  # (lib, sample_rate, callback, buffer)


def espeak_available() -> bool:
    """True when libespeak-ng can be loaded (``espeakng_loader`` installed)."""
    try:
        _load_espeak()
    except Exception:
        return False
    return True


def _load_espeak() -> tuple:
    global _espeak
    if _espeak is not None:
        return _espeak
    import espeakng_loader  # optional dependency: vatel-nb[voice]

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    rate = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)  # 2 = synchronous
    if rate <= 0:
        raise RuntimeError(f"espeak_Initialize failed ({rate})")
    chunks: list[np.ndarray] = []
    callback_type = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
    )

    def _collect(wav, n, _events):  # type: ignore[no-untyped-def]
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    callback = callback_type(_collect)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(b"en") != 0:
        raise RuntimeError("espeak has no 'en' voice")
    _espeak = (lib, rate, callback, chunks)
    return _espeak


def _espeak_synth(text: str, voice: str = "en", rate: int | None = None) -> np.ndarray:
    """espeak-ng speech at 24 kHz. ``voice``: an espeak voice name (``"en"``, ``"en-us+f3"``,
    ``"en-gb-x-rp+m2"``, …); ``rate``: words per minute (espeak's default ≈ 175)."""
    with _ESPEAK_LOCK:
        lib, rate_hz, _cb, chunks = _load_espeak()
        chunks.clear()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            lib.espeak_SetVoiceByName(b"en")
            raise ValueError(f"espeak-ng has no voice {voice!r} (try 'en', 'en-us', 'en-us+f3')")
        try:
            lib.espeak_SetParameter(1, int(rate or 175), 0)  # espeakRATE, absolute
            data = text.encode("utf-8")
            lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 1, None, None)  # POS_CHARACTER, espeakCHARS_UTF8
            lib.espeak_Synchronize()
        finally:
            if voice != "en" or rate is not None:
                lib.espeak_SetVoiceByName(b"en")
                lib.espeak_SetParameter(1, 175, 0)
        x = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        chunks.clear()
    if x.size == 0:
        return x.astype(np.int16)
    n = round(x.size * SAMPLE_RATE / rate_hz)
    y = np.interp(np.arange(n) * (rate_hz / SAMPLE_RATE), np.arange(x.size), x.astype(np.float32))
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def speak(text: str, voice: str = "en", rate: int | None = None) -> np.ndarray:
    """espeak-ng speech for ``text`` in ``voice`` at ``rate`` words per minute: int16, 24 kHz.

    For generating test and benchmark utterances (needs ``vatel-nb[voice]``); not cached."""
    return _espeak_synth(text, voice, rate)


def _synthetic(text: str) -> np.ndarray:
    parts: list[np.ndarray] = []
    gap = np.zeros(int(0.04 * SAMPLE_RATE), dtype=np.float32)
    for word in text.split() or [text]:
        seed = zlib.crc32(word.encode())
        syllables = max(1, round(len(word) / 3))
        syl_len = max(1, int(len(word) * 0.06 * SAMPLE_RATE / syllables))
        t = np.arange(syl_len) / SAMPLE_RATE
        env = np.sin(np.pi * (np.arange(syl_len) + 0.5) / syl_len) ** 0.5
        for k in range(syllables):
            f0 = 120 + (seed >> (k % 24)) % 40
            tone = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
            parts.append((0.25 * env * tone).astype(np.float32))
        parts.append(gap)
    x = np.concatenate(parts[:-1]) if len(parts) > 1 else parts[0]
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def leading_silence(pcm: np.ndarray, threshold: float = 0.01) -> int:
    """Samples before the first one whose magnitude reaches ``threshold`` (full scale 1.0)."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) >= threshold * 32768)
    return int(loud[0]) if loud.size else int(pcm.size)


class Voice:
    """``Voice("auto" | "espeak" | "synthetic")``; :meth:`synthesize` returns int16 samples at 24 kHz."""

    def __init__(self, kind: str = "auto", cache_size: int = 256) -> None:
        if kind not in ("auto", "espeak", "synthetic"):
            raise ValueError(f"voice must be 'auto', 'espeak' or 'synthetic', got {kind!r}")
        if kind == "auto":
            kind = "espeak" if espeak_available() else "synthetic"
        elif kind == "espeak" and not espeak_available():
            raise RuntimeError(
                "voice='espeak' needs the espeakng-loader package: pip install 'vatel-nb[voice]'"
            )
        self.kind = kind
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size
        self._inflight: dict[str, asyncio.Future] = {}

    def synthesize(self, text: str) -> np.ndarray:
        """Samples (read-only int16, 24 kHz) for ``text``; cached. Blocking: a few ms per sentence."""
        pcm = self._cache.get(text)
        if pcm is None:
            pcm = _espeak_synth(text) if self.kind == "espeak" else _synthetic(text)
            pcm.setflags(write=False)
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[text] = pcm
        return pcm

    async def synthesize_async(self, text: str) -> np.ndarray:
        """:meth:`synthesize` off the event loop; concurrent requests for one text share one run."""
        pcm = self._cache.get(text)
        if pcm is not None:
            return pcm
        fut = self._inflight.get(text)
        if fut is None:
            fut = asyncio.ensure_future(asyncio.to_thread(self.synthesize, text))
            self._inflight[text] = fut
            fut.add_done_callback(lambda _f: self._inflight.pop(text, None))
        return await asyncio.shield(fut)
