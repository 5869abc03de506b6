"""Transcription of the user's speech segments, from one of three sources.

``"pocketsphinx"``: real offline English recognition (the ``pocketsphinx`` package ships its
model). Decoding holds the GIL for seconds, which would stall every thread of the process — a
notebook kernel's included — so it runs in ONE worker process (spawned on first use, ≈ 90 MB,
0.5 s to load, shared by all sessions of the process and stopped at exit); callers wait for it
from a worker thread. It decodes the whole segment (resampled 24 → 16 kHz); partials decode the
audio so far.
``"scripted"``: the next line of a scenario script (the user utterances a test expects, one per
VAD segment); partials are growing word prefixes. When the script runs out → placeholder.
``"placeholder"``: ``"[speech 1.2 s]"``, naming the segment's duration.
``"auto"`` picks pocketsphinx when importable, else scripted when a script is given, else placeholder.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ..protocol import SAMPLE_RATE

__all__ = ["Transcriber", "pocketsphinx_available"]

_PS_LOCK = threading.Lock()
_ps_decoder = None  # in the worker process only
_pool: ProcessPoolExecutor | None = None


def pocketsphinx_available() -> bool:
    """True when the ``pocketsphinx`` package can be imported."""
    try:
        import pocketsphinx  # noqa: F401
    except Exception:
        return False
    return True


def _decoder():  # type: ignore[no-untyped-def]
    global _ps_decoder
    if _ps_decoder is None:
        from pocketsphinx import Decoder  # optional dependency: vatel-nb[asr]

        _ps_decoder = Decoder(samprate=16000, loglevel="FATAL")
    return _ps_decoder


def _decode_16k(pcm: bytes) -> str:
    """In the worker process: decode PCM16 16 kHz mono bytes → text."""
    if not pcm:
        return ""
    d = _decoder()
    d.start_utt()
    try:
        d.process_raw(pcm, False, True)
    finally:
        d.end_utt()
    hyp = d.hyp()
    return hyp.hypstr.strip() if hyp is not None else ""


def _worker() -> ProcessPoolExecutor:
    global _pool
    with _PS_LOCK:
        if _pool is None:
            # spawn: never fork a process that runs threads and event loops (a kernel, a server)
            ctx = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_decoder)
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def warm_pocketsphinx() -> None:
    """Start the worker process and load its decoder now (hides the ≈ 1 s start at first use)."""
    _worker().submit(_decode_16k, b"").result()


def _recognize(audio: np.ndarray) -> str:
    n = int(audio.size * 16000 / SAMPLE_RATE)
    if n < 160:
        return ""
    y = np.interp(np.arange(n) * (SAMPLE_RATE / 16000), np.arange(audio.size), audio.astype(np.float32))
    pcm = np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()
    return _worker().submit(_decode_16k, pcm).result()


def _placeholder(audio: np.ndarray) -> str:
    return f"[speech {audio.size / SAMPLE_RATE:.1f} s]"


class Transcriber:
    """Per-session transcriber. ``blocking`` is True when calls should run in a thread."""

    def __init__(self, source: str = "auto", script: list[str] | None = None) -> None:
        if source not in ("auto", "pocketsphinx", "scripted", "placeholder"):
            raise ValueError(
                f"asr must be 'auto', 'pocketsphinx', 'scripted' or 'placeholder', got {source!r}"
            )
        self.script = list(script or [])
        if source == "auto":
            source = (
                "pocketsphinx" if pocketsphinx_available() else ("scripted" if self.script else "placeholder")
            )
        elif source == "pocketsphinx" and not pocketsphinx_available():
            raise RuntimeError(
                "asr='pocketsphinx' needs the pocketsphinx package: pip install 'vatel-nb[asr]'"
            )
        self.source = source
        self.blocking = source == "pocketsphinx"

    def partial(self, audio: np.ndarray, index: int) -> str | None:
        """Interim hypothesis for segment ``index`` (0-based) given its audio so far, or None."""
        if self.source == "pocketsphinx":
            return _recognize(audio) or None
        if self.source == "scripted" and index < len(self.script):
            words = self.script[index].split()
            k = max(1, min(len(words) - 1, int(audio.size / SAMPLE_RATE / 0.3)))
            return " ".join(words[:k]) if words else None
        return _placeholder(audio)

    def final(self, audio: np.ndarray, index: int) -> str:
        """Final transcript of segment ``index`` given all its audio."""
        if self.source == "pocketsphinx":
            return _recognize(audio)
        if self.source == "scripted" and index < len(self.script):
            return self.script[index]
        return _placeholder(audio)
