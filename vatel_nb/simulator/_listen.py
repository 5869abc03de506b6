"""Streaming recognition of one session's speech segments, off the event loop.

:class:`Listener` drives a :class:`~vatel_nb.simulator._recognizer.Recognizer`: when the VAD
starts a segment it feeds the audio from just before the onset, then every chunk as it arrives;
it asks for a partial hypothesis every ``partial_interval`` seconds of audio and for the final
transcript when the segment ends. Every recognizer call runs in the session's one worker thread,
in order (segments are handled one after another), so a slow recognizer delays transcripts but
never blocks the event loop. Pending chunks are fed together when the recognizer falls behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..protocol import SAMPLE_RATE
from ._recognizer import Recognizer

__all__ = ["Listener"]

#: Audio fed before the VAD onset (the onset is decided on energy; soft consonants come earlier).
PREROLL_SAMPLES = int(0.15 * SAMPLE_RATE)


class _Segment:
    def __init__(self) -> None:
        self.pending: list[np.ndarray] = []
        self.wake = asyncio.Event()
        self.ended = False
        self.fed = 0
        self.result: asyncio.Future[str] = asyncio.get_running_loop().create_future()


class Listener:
    """One session's recognition. ``on_partial(text)`` is awaited for each non-empty partial."""

    def __init__(
        self,
        recognizer: Recognizer,
        on_partial: Callable[[object, str], Awaitable[None]],
        partial_interval: float = 0.4,
    ) -> None:
        self.recognizer = recognizer
        self.on_partial = on_partial
        self.partial_every = max(1, int(partial_interval * SAMPLE_RATE))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vatel-nb-asr")
        self._current: _Segment | None = None
        self._previous: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._closed = False

    async def _call(self, fn: Callable, *args: object) -> object:
        if not self.recognizer.blocking:  # instant (scripted, placeholder): no thread hop
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def begin(self, key: object, audio: np.ndarray) -> None:
        """A segment started (``key`` is passed back to ``on_partial``); ``audio`` = its samples
        so far, pre-roll included."""
        seg = _Segment()
        seg.pending.append(audio)
        seg.wake.set()
        self._current = seg
        task = asyncio.get_running_loop().create_task(self._pump(key, seg, self._previous))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._previous = task

    def audio(self, pcm: np.ndarray) -> None:
        """More samples of the current segment (ignored between segments)."""
        seg = self._current
        if seg is not None and not seg.ended:
            seg.pending.append(pcm)
            seg.wake.set()

    def end(self) -> asyncio.Future[str]:
        """The current segment ended: a future for its final transcript."""
        seg = self._current
        self._current = None
        if seg is None:
            fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            fut.set_result("")
            return fut
        seg.ended = True
        seg.wake.set()
        return seg.result

    async def _pump(self, key: object, seg: _Segment, previous: asyncio.Task | None) -> None:
        rec = self.recognizer
        try:
            if previous is not None:  # the previous segment's final comes first
                with contextlib.suppress(BaseException):
                    await asyncio.shield(previous)
            await self._call(rec.start)
            next_partial = self.partial_every
            while True:
                await seg.wake.wait()
                seg.wake.clear()
                if seg.pending:
                    chunk = np.concatenate(seg.pending) if len(seg.pending) > 1 else seg.pending[0]
                    seg.pending = []
                    await self._call(rec.feed, chunk)
                    seg.fed += chunk.size
                if seg.ended and not seg.pending:
                    break
                if seg.fed >= next_partial and not seg.ended:
                    next_partial = seg.fed + self.partial_every
                    text = await self._call(rec.partial)
                    if text and not seg.ended:
                        await self.on_partial(key, str(text))
            text = await self._call(rec.final)
            if not seg.result.done():
                seg.result.set_result(str(text or "").strip())
        except BaseException as e:
            if not seg.result.done():
                if isinstance(e, asyncio.CancelledError):
                    seg.result.cancel()
                else:
                    seg.result.set_exception(e)
            if not isinstance(e, Exception):
                raise

    def close(self) -> None:
        """Stop: cancel pending work and release the recognizer (in its thread). Idempotent."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        self._pool.submit(self.recognizer.close)
        self._pool.shutdown(wait=False)
