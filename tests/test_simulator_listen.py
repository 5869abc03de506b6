"""The Listener's early final: the recognizer finishes at a pause, before the VAD decides the end,
on exactly the audio it would hear at the stop; if the speaker goes on, it hears the segment again.
Driven without sockets (the Listener and the VAD are fed directly), with recognizers that record
what they heard."""

from __future__ import annotations

import asyncio
import hashlib
import threading

import numpy as np
import pytest
from test_simulator_helpers import silence, tone

from vatel_nb._vad import FRAME_SAMPLES, Vad
from vatel_nb.simulator import Recognizer
from vatel_nb.simulator._listen import POST_ROLL_S, Listener

SR = 24_000
POST = int(POST_ROLL_S * SR)


class Recording(Recognizer):
    """Its final transcript names exactly the samples of the utterance (count and hash); it
    records when each call was made relative to the segment's end (``ended`` is set by the test)."""

    def __init__(self, blocking: bool = True, gate: threading.Event | None = None) -> None:
        self.blocking = blocking
        self.gate = gate  # final() waits for it: a slow recognizer
        self.parts: list[np.ndarray] = []
        self.starts = self.finals = self.finals_before_end = 0
        self.ended = threading.Event()

    def start(self) -> None:
        self.starts += 1
        self.parts = []

    def feed(self, pcm: np.ndarray) -> None:
        self.parts.append(np.array(pcm, dtype=np.int16))

    def final(self) -> str:
        self.finals += 1
        self.finals_before_end += not self.ended.is_set()
        if self.gate is not None:
            self.gate.wait(5)
        heard = np.concatenate(self.parts) if self.parts else np.zeros(0, np.int16)
        return f"{heard.size} {hashlib.sha1(heard.tobytes()).hexdigest()[:12]}"


def _expect(pcm: np.ndarray, n: int) -> str:
    return f"{n} {hashlib.sha1(pcm[:n].tobytes()).hexdigest()[:12]}"


async def _no_partial(key: object, text: str) -> None:
    return None


async def _settle() -> None:
    """Let the pump run until it waits for the next event."""
    for _ in range(50):
        await asyncio.sleep(0.005)


def _speech(seed: int, seconds: float) -> np.ndarray:
    return np.random.default_rng(seed).integers(-3000, 3000, int(seconds * SR)).astype(np.int16)


@pytest.mark.parametrize("blocking", [True, False])
def test_a_pause_as_long_as_the_post_roll_finishes_early_and_the_stop_there_uses_it(blocking):
    async def main() -> None:
        rec = Recording(blocking)
        listener = Listener(rec, _no_partial, stop_secs=0.5)
        pcm = _speech(1, 2.0)
        first, end = 1000, 1000 + int(1.2 * SR)  # stream positions: segment start, end of speech
        listener.begin("k", pcm[:2400], first)
        for off in range(2400, int(1.4 * SR), 480):  # up to end + post-roll, then a bit
            listener.audio(pcm[off : off + 480])
        listener.pause((end, POST - FRAME_SAMPLES))  # not silent long enough yet
        await _settle()
        assert rec.finals == 0
        listener.pause((end, POST))
        await _settle()
        assert rec.finals == (1 if blocking else 0)
        rec.ended.set()
        text = await listener.end(end)
        assert text == _expect(pcm, end + POST - first)
        assert rec.finals == 1 and rec.starts == 1
        assert (rec.finals_before_end, listener.early_finals, listener.early_dropped) == (
            (1, 1, 0) if blocking else (0, 0, 0)
        )
        listener.close()

    asyncio.run(main())


def test_when_the_speaker_goes_on_the_early_final_is_dropped_and_the_segment_heard_again():
    async def main() -> None:
        rec = Recording()
        listener = Listener(rec, _no_partial, stop_secs=0.5)
        pcm = _speech(2, 4.0)
        first = 0
        listener.begin("k", pcm[:480], first)
        fed = 480

        def feed_to(t: float) -> None:
            nonlocal fed
            while fed < int(t * SR):
                listener.audio(pcm[fed : fed + 480])
                fed += 480

        feed_to(1.3)
        listener.pause((int(1.0 * SR), int(0.3 * SR)))  # a pause after 1.0 s of speech …
        await _settle()
        assert rec.finals == 1
        listener.pause(None)  # … but the speaker goes on
        feed_to(2.5)
        await _settle()
        assert rec.starts == 2 and listener.early_dropped == 1
        listener.pause((int(2.0 * SR), POST))  # another pause, then more speech: a new end
        await _settle()
        feed_to(3.4)
        listener.pause((int(3.0 * SR), int(0.25 * SR)))
        await _settle()
        rec.ended.set()
        text = await listener.end(int(3.0 * SR))
        assert text == _expect(pcm, int(3.0 * SR) + POST)  # the same as without early finals
        assert (listener.early_finals, listener.early_dropped) == (3, 2)
        listener.close()

    asyncio.run(main())


def test_the_stop_waits_for_an_early_final_still_running_and_uses_it():
    async def main() -> None:
        gate = threading.Event()
        rec = Recording(gate=gate)
        listener = Listener(rec, _no_partial, stop_secs=0.5)
        pcm = _speech(3, 1.5)
        listener.begin("k", pcm[: int(1.3 * SR)], 0)
        listener.pause((SR, POST))
        await _settle()
        result = listener.end(SR)
        await _settle()
        assert not result.done()  # the early final is still running
        gate.set()
        assert await result == _expect(pcm, SR + POST)
        assert rec.finals == 1
        listener.close()

    asyncio.run(main())


def test_the_vad_reports_a_pause_with_the_position_its_stop_would_have():
    vad = Vad(0.1, 0.5)
    pcm = np.concatenate([silence(1.2), tone(0.6), silence(0.2), tone(0.3), silence(0.8)])
    pauses, stops = [], []
    for off in range(0, pcm.size, 480):
        stops += [e.position for e in vad.feed(pcm[off : off + 480]) if e.kind == "stop"]
        pauses.append(vad.pause)
    assert stops == [round(2.3 * SR)]
    ends = {p[0] for p in pauses if p is not None}
    assert ends == {round(1.8 * SR), round(2.3 * SR)}  # the pause inside the speech, then the end
    inside = [p[1] for p in pauses if p is not None and p[0] == round(1.8 * SR)]
    assert inside[-1] == round(0.2 * SR)  # then a voiced frame: the speaker went on
    assert pauses[pauses.index((round(1.8 * SR), round(0.2 * SR))) + 1] is None
    tail = [p[1] for p in pauses if p is not None and p[0] == round(2.3 * SR)]
    assert tail == list(range(480, round(0.5 * SR), 480))  # growing until the stop …
    assert pauses[-1] is None  # … and none once stopped
