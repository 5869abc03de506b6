"""The pluggable recognizer interface, and the two recognizers that need no model.

A :class:`Recognizer` turns one user utterance into text, streaming: the simulator calls
:meth:`~Recognizer.start` when the VAD detects speech, :meth:`~Recognizer.feed` with the
utterance's audio as it arrives (PCM16 mono 24 kHz, ``numpy.int16``; it begins slightly before
the VAD's onset), :meth:`~Recognizer.partial` now and then for an interim hypothesis, and
:meth:`~Recognizer.final` once the VAD has decided the speech ended. All four are plain blocking
calls made **in order from one worker thread per session**, never on the simulator's event loop,
so a recognizer may take its time (the simulator waits, it does not talk over the user).

``final`` may come before the VAD's decision: once the speaker has paused for 0.2 s, a blocking
recognizer is asked for its final transcript then (the early final of
:mod:`vatel_nb.simulator._listen`), and if the speaker goes on, :meth:`~Recognizer.start` comes
again and the utterance's audio is fed again from its beginning. So a final does not always mean
the turn is over, and the same audio should give the same transcript.

To plug in your own: give ``Simulator(asr=factory)`` a callable ``factory(phrases)`` returning a
new :class:`Recognizer` per session; ``phrases`` is the agent's list of expected phrases
(``add_agent(phrases=[…])``; the demo agent's repertoire for the demo agent) or None. Nothing in
the kit downloads a model: bring your recognizer's model with its package.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np

from ..protocol import SAMPLE_RATE

__all__ = ["PlaceholderRecognizer", "Recognizer", "RecognizerFactory", "ScriptedRecognizer"]


class Recognizer(ABC):
    """One session's recognizer, one utterance at a time (see the module docstring)."""

    #: False only for recognizers whose calls return at once (they then run on the event loop).
    blocking: bool = True

    def start(self) -> None:  # noqa: B027 — optional hook
        """A new utterance begins (the previous one, if any, was finished with :meth:`final`), or
        the same one again from its start after an early final (see the module docstring)."""

    @abstractmethod
    def feed(self, pcm: np.ndarray) -> None:
        """The next samples of the utterance: ``int16`` PCM, mono, 24 kHz, in order."""

    def partial(self) -> str | None:
        """The hypothesis for the audio fed so far, or None (no partial transcript is sent)."""
        return None

    @abstractmethod
    def final(self) -> str:
        """The utterance ended: its final transcript (the words heard; "" when nothing was)."""

    def close(self) -> None:  # noqa: B027 — optional hook
        """The session ended: release what the recognizer holds."""


#: ``factory(phrases) -> Recognizer``: what ``Simulator(asr=…)`` accepts to plug in a recognizer.
RecognizerFactory = Callable[[Sequence[str] | None], Recognizer]


class ScriptedRecognizer(Recognizer):
    """Transcripts from a scenario script: utterance *i* is heard as ``script[i]`` (partials are
    growing word prefixes, about one word per 0.3 s of audio). Past the script's end it behaves
    like :class:`PlaceholderRecognizer`. ``script`` may be replaced between utterances."""

    blocking = False

    def __init__(self, script: Sequence[str] | None = None) -> None:
        self.script = list(script or [])
        self.index = -1
        self._samples = 0

    def start(self) -> None:
        self.index += 1
        self._samples = 0

    def feed(self, pcm: np.ndarray) -> None:
        self._samples += int(pcm.size)

    def partial(self) -> str | None:
        if self.index >= len(self.script):
            return _placeholder(self._samples)
        words = self.script[self.index].split()
        k = max(1, min(len(words) - 1, int(self._samples / SAMPLE_RATE / 0.3)))
        return " ".join(words[:k]) if words else None

    def final(self) -> str:
        if 0 <= self.index < len(self.script):
            return self.script[self.index]
        return _placeholder(self._samples)


class PlaceholderRecognizer(Recognizer):
    """No recognition: every utterance is heard as ``"[speech 1.2 s]"`` (its duration)."""

    blocking = False

    def __init__(self) -> None:
        self._samples = 0

    def start(self) -> None:
        self._samples = 0

    def feed(self, pcm: np.ndarray) -> None:
        self._samples += int(pcm.size)

    def partial(self) -> str | None:
        return _placeholder(self._samples)

    def final(self) -> str:
        return _placeholder(self._samples)


def _placeholder(samples: int) -> str:
    return f"[speech {samples / SAMPLE_RATE:.1f} s]"
