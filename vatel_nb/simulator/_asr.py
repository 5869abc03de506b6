"""The kit's own recognizer: pocketsphinx, constrained to the agent's phrases, streaming.

The ``pocketsphinx`` package (extra ``vatel-nb[asr]``) ships its English model; nothing is
downloaded. Decoding holds the GIL, which would stall every thread of the process — a notebook
kernel's included — so all decoding runs in ONE worker process (spawned on first use, shared by
every session of the process, stopped at exit). Each session's :class:`PocketsphinxRecognizer`
streams its utterance there as it arrives, so at the end of speech only the last few hundred
milliseconds remain to decode.

With ``phrases`` (the demo agent's repertoire, or a registered agent's list) an utterance is
decoded against a JSGF grammar of exactly those phrases, which hears them reliably from any voice.
When the streamed grammar pass does not end on a complete phrase, the whole utterance is decoded
again with the grammar and utterance-level normalisation, then with wider beams; when neither
ends on a phrase, with the open-vocabulary language model, and that text is the transcript
(:func:`vatel_nb.simulator._ps_worker.final`). Speech outside the phrases that the grammar
nonetheless matches to a phrase is heard as that phrase: there is no out-of-grammar check.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from . import _ps_worker as ps
from ._recognizer import PlaceholderRecognizer, Recognizer, RecognizerFactory, ScriptedRecognizer

__all__ = ["PocketsphinxRecognizer", "make_recognizer_factory", "pocketsphinx_available", "warm_pocketsphinx"]

_POOL_LOCK = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_ids = itertools.count(1)


def pocketsphinx_available() -> bool:
    """True when the ``pocketsphinx`` package can be imported."""
    try:
        import pocketsphinx  # noqa: F401
    except Exception:
        return False
    return True


def _worker() -> ProcessPoolExecutor:
    global _pool
    with _POOL_LOCK:
        if _pool is None:
            # spawn: never fork a process that runs threads and event loops (a kernel, a server)
            ctx = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=ctx, initializer=ps.start, initargs=(os.getpid(),)
            )
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def warm_pocketsphinx(phrases: Sequence[str] | None = None) -> None:
    """Start the worker process and load its decoder (and ``phrases``' grammar) now, hiding the
    ≈ 1 s start-up from the first utterance."""
    _worker().submit(ps.warm, tuple(phrases) if phrases else None).result()


class PocketsphinxRecognizer(Recognizer):
    """Streams each utterance to the shared pocketsphinx worker process (blocking calls)."""

    def __init__(self, phrases: Sequence[str] | None = None) -> None:
        self.phrases = tuple(phrases) if phrases else None
        self._id = next(_ids)
        self._pending: list[np.ndarray] = []
        self._open = False

    def start(self) -> None:
        _worker().submit(ps.open_stream, self._id, self.phrases).result()
        self._open = True

    def feed(self, pcm: np.ndarray) -> None:
        if not self._open:
            self.start()
        _worker().submit(ps.feed, self._id, np.asarray(pcm, dtype=np.int16).tobytes()).result()

    def partial(self) -> str | None:
        if not self._open:
            return None
        return _worker().submit(ps.partial, self._id).result() or None

    def final(self) -> str:
        if not self._open:
            return ""
        self._open = False
        return _worker().submit(ps.final, self._id).result()

    def close(self) -> None:
        self._open = False
        if _pool is not None:  # the stream's decoder goes back to the worker's idle pool
            with contextlib.suppress(RuntimeError):  # the pool is already shut down (exit)
                _pool.submit(ps.drop, self._id)


def make_recognizer_factory(asr: str | RecognizerFactory) -> tuple[str, RecognizerFactory]:
    """``(source name, factory)`` for ``Simulator(asr=…)``. Names: ``"auto"`` (pocketsphinx when
    importable, else placeholder), ``"pocketsphinx"``, ``"scripted"``, ``"placeholder"``; or a
    callable ``factory(phrases) -> Recognizer`` (source name ``"custom"``).

    The scripted source needs the session's script: its factory returns a
    :class:`ScriptedRecognizer` with an empty script that the session fills in.
    """
    if callable(asr):
        return "custom", asr
    if asr not in ("auto", "pocketsphinx", "scripted", "placeholder"):
        raise ValueError(
            "asr must be 'auto', 'pocketsphinx', 'scripted', 'placeholder' or a factory "
            f"(phrases) -> Recognizer, got {asr!r}"
        )
    if asr == "auto":
        asr = "pocketsphinx" if pocketsphinx_available() else "placeholder"
    elif asr == "pocketsphinx" and not pocketsphinx_available():
        raise RuntimeError("asr='pocketsphinx' needs the pocketsphinx package: pip install 'vatel-nb[asr]'")
    if asr == "pocketsphinx":
        return asr, PocketsphinxRecognizer
    if asr == "scripted":
        return asr, lambda phrases: ScriptedRecognizer()
    return asr, lambda phrases: PlaceholderRecognizer()
