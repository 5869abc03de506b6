"""Streaming recognition of one session's speech segments, off the event loop.

:class:`Listener` drives a :class:`~vatel_nb.simulator._recognizer.Recognizer`: when the VAD
starts a segment it feeds the audio from just before the onset, then every chunk as it arrives;
it asks for a partial hypothesis every ``partial_interval`` seconds of audio and for the final
transcript when the segment ends.

The recognizer hears the segment up to the end of speech plus :data:`POST_ROLL_S` (0.2 s), not
the whole hangover the VAD waits through before deciding the end (``stop_secs``): audio is fed
``holdback`` = stop_secs − 0.2 s behind its arrival, so when the end is decided the recognizer
has already heard exactly up to end + 0.2 s and only has to finish. In noise the hangover is
noise the grammar search tries to explain with words, and too short a tail loses a final
consonant that the noise hid from the VAD (the "p" of "Stop!"). Offline, over the clips of
``bench/bench_asr.py`` (two noise draws, the live VAD's segments), tails of 0.15 / 0.2 / 0.25 /
0.3 s gave 91.7 / 93.8 / 96.4 / 96.9 % intent accuracy clean, 97.4 / 98.4 / 95.8 / 93.8 % at
20 dB and 85.4 / 89.6 / 88.5 / 88.0 % at 10 dB SNR: 0.2 s is best over all three, and the
spread shows how close to chance single clips are. Partial transcripts come ``holdback`` later.

**Early final.** Once the speaker has been silent for the post-roll (:meth:`Listener.pause`,
from :attr:`vatel_nb._vad.Vad.pause`), everything the recognizer will hear is there, though the
VAD waits ``stop_secs`` − 0.2 s more before it decides the end: the recognizer finishes then, on
exactly the audio it would hear at the stop, and when the stop comes at that point its transcript
is ready — the slow fallbacks (a second grammar pass, open vocabulary) get a 0.3 s head start. If
the speaker goes on instead, the early transcript is dropped and the recognizer hears the segment
again from its start (:meth:`~vatel_nb.simulator._recognizer.Recognizer.start`, then the audio so
far): the cost is recognizer time, never a different transcript. Recognizers whose calls return
at once (``blocking`` False: scripted, placeholder) gain nothing and are not finished early.

Every recognizer call runs in the session's one worker thread, in order (segments are handled
one after another), so a slow recognizer delays transcripts but never blocks the event loop.
Pending chunks are fed together when the recognizer falls behind.
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
#: Audio fed after the VAD's end of speech (the end of the last voiced frame).
POST_ROLL_S = 0.2
_POST_ROLL_SAMPLES = int(POST_ROLL_S * SAMPLE_RATE)


class _Segment:
    def __init__(self, first: int) -> None:
        self.first = first  # stream position of the segment's first sample
        self.pending: list[np.ndarray] = []
        self.heard: list[np.ndarray] = []  # fed since the recognizer's start (fed again if needed)
        self.wake = asyncio.Event()
        self.ended = False
        self.fed = 0
        self.received = 0
        self.keep: int | None = None  # samples to feed in all, once the end is known
        self.early: int | None = None  # samples to finish on now: the speaker paused after them
        self.result: asyncio.Future[str] = asyncio.get_running_loop().create_future()


class Listener:
    """One session's recognition. ``on_partial(text)`` is awaited for each non-empty partial.

    Positions given to :meth:`begin`, :meth:`pause` and :meth:`end` are sample indices in the
    session's input stream (the VAD's)."""

    def __init__(
        self,
        recognizer: Recognizer,
        on_partial: Callable[[object, str], Awaitable[None]],
        partial_interval: float = 0.4,
        stop_secs: float = POST_ROLL_S,
    ) -> None:
        self.recognizer = recognizer
        self.on_partial = on_partial
        self.partial_every = max(1, int(partial_interval * SAMPLE_RATE))
        # audio is fed this far behind its arrival: the VAD's hangover beyond the post-roll
        self.holdback = max(0, int((stop_secs - POST_ROLL_S) * SAMPLE_RATE))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vatel-nb-asr")
        self._current: _Segment | None = None
        self._previous: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        self.early_finals = 0  # recognizer finals taken at a pause
        self.early_dropped = 0  # … of which the speaker went on (heard again)

    async def _call(self, fn: Callable, *args: object) -> object:
        if not self.recognizer.blocking:  # instant (scripted, placeholder): no thread hop
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def begin(self, key: object, audio: np.ndarray, first: int = 0) -> None:
        """A segment started (``key`` is passed back to ``on_partial``); ``audio`` = its samples
        so far, pre-roll included, the first of them at stream position ``first``."""
        seg = _Segment(first)
        seg.pending.append(audio)
        seg.received = audio.size
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
            seg.received += pcm.size
            seg.wake.set()

    def _keep(self, seg: _Segment, end: int) -> int:
        """Samples of ``seg`` the recognizer hears when the speech ended at stream position ``end``."""
        return end + _POST_ROLL_SAMPLES - seg.first

    def pause(self, pause: tuple[int, int] | None) -> None:
        """The VAD's :attr:`~vatel_nb._vad.Vad.pause` after the latest chunk: ``(end, silent)``
        while the speaker is silent, None while speaking. Once ``silent`` reaches the post-roll
        the recognizer finishes early on the segment up to ``end`` + post-roll; None, or
        another ``end``, drops that early final (the speaker went on)."""
        seg = self._current
        if seg is None or seg.ended or not self.recognizer.blocking:
            return
        early = self._keep(seg, pause[0]) if pause is not None and pause[1] >= _POST_ROLL_SAMPLES else None
        if early != seg.early:
            seg.early = early
            seg.wake.set()

    def end(self, end: int | None = None) -> asyncio.Future[str]:
        """The current segment ended: a future for its final transcript. ``end``: the stream
        position where the speech ended (the VAD's stop); the recognizer hears up to there plus
        the post-roll. None = all the segment's samples."""
        seg = self._current
        self._current = None
        if seg is None:
            fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            fut.set_result("")
            return fut
        seg.keep = None if end is None else self._keep(seg, end)
        seg.ended = True
        seg.wake.set()
        return seg.result

    def _target(self, seg: _Segment) -> int:
        """Samples of ``seg`` the recognizer should have heard by now."""
        if seg.ended:
            return seg.received if seg.keep is None else min(seg.keep, seg.received)
        if seg.early is not None:
            return min(seg.early, seg.received)
        return seg.received - self.holdback

    async def _pump(self, key: object, seg: _Segment, previous: asyncio.Task | None) -> None:
        rec = self.recognizer
        try:
            if previous is not None:  # the previous segment's final comes first
                with contextlib.suppress(BaseException):
                    await asyncio.shield(previous)
            await self._call(rec.start)
            next_partial = self.partial_every
            early: tuple[int, str] | None = None  # (samples heard, transcript) of an early final
            while True:
                await seg.wake.wait()
                seg.wake.clear()
                upto = self._target(seg)
                finishing = seg.ended or seg.early is not None
                if early is not None:
                    if finishing and early[0] == upto:
                        if seg.ended:  # the stop came where the early final was taken
                            text = early[1]
                            break
                        continue
                    # the speaker went on (or stopped elsewhere): hear the segment again
                    early = None
                    self.early_dropped += 1
                    seg.pending[:0], seg.heard, seg.fed = seg.heard, [], 0
                    await self._call(rec.start)
                chunk = _take(seg, upto - seg.fed)
                if chunk.size:
                    await self._call(rec.feed, chunk)
                    seg.heard.append(chunk)
                    seg.fed += chunk.size
                if finishing and seg.fed >= upto:
                    if not seg.ended:
                        self.early_finals += 1
                    early = (seg.fed, str(await self._call(rec.final) or ""))
                    seg.wake.set()  # look again: is it the end, and the end there?
                    continue
                if seg.fed >= next_partial and not finishing:
                    next_partial = seg.fed + self.partial_every
                    text = await self._call(rec.partial)
                    if text and not seg.ended:
                        await self.on_partial(key, str(text))
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


def _take(seg: _Segment, n: int) -> np.ndarray:
    """The next ``n`` pending samples of ``seg`` (fewer if fewer are pending), removed from it."""
    if n <= 0 or not seg.pending:
        return np.zeros(0, dtype=np.int16)
    whole = np.concatenate(seg.pending) if len(seg.pending) > 1 else seg.pending[0]
    seg.pending = [whole[n:]] if whole.size > n else []
    return whole[:n]
