"""PCM tracks of a call: what the user sent and what the agent sent, with the timing of every chunk.

All audio is PCM16 little-endian, mono, 24 kHz (the Vatel wire format). A track keeps the chunks
as received (bytes; no copy, no conversion on append) plus parallel lists of their timing, so
appending costs a few list appends. :meth:`AudioTrack.pcm` concatenates to one ``int16`` array;
:meth:`AudioTrack.index` gives one row per chunk with its first-sample position in that array.

* :class:`UserAudio` — mic chunks as sent: ``t`` (kernel s since t0, when handed to the socket),
  ``t_browser`` (browser ``performance.now()`` ms of the chunk's first captured sample, if known),
  ``seq`` (the page's frame counter).
Appends are lock-free: each track expects one writer (the session's receive loop for the agent,
the mic handler for the user); any number of readers (analysis, autosave) may run concurrently.

* :class:`AgentAudio` — agent chunks as received: ``t`` (kernel s at arrival), ``turn_id``.
  :meth:`AgentAudio.interrupt` records an ``interruption``: chunks of the turn that was playing
  which arrive later are flagged ``dropped`` (they are kept, never played).
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from ..protocol import SAMPLE_RATE

__all__ = ["SAMPLE_RATE", "AgentAudio", "AudioTrack", "UserAudio"]


def _as_bytes(pcm: bytes | bytearray | memoryview | np.ndarray) -> bytes:
    if isinstance(pcm, bytes):
        return pcm
    if isinstance(pcm, np.ndarray):
        if pcm.dtype != np.int16:
            raise TypeError(
                f"PCM arrays must be int16 (PCM16), got {pcm.dtype}; convert with .astype('int16')"
            )
        return pcm.astype("<i2", copy=False).tobytes()
    if isinstance(pcm, (bytearray, memoryview)):
        return bytes(pcm)
    raise TypeError(f"pcm must be PCM16 bytes or an int16 numpy array, got {type(pcm).__name__}")


class AudioTrack:
    """Chunks of PCM16 24 kHz mono audio with their kernel arrival/send time ``t`` (s since t0)."""

    sample_rate: int = SAMPLE_RATE

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._t: list[float] = []

    def __len__(self) -> int:
        """Complete chunks (``t`` is appended last, so a chunk being appended is not counted)."""
        return len(self._t)

    @property
    def n_samples(self) -> int:
        """Total samples in the track (sum over chunks)."""
        return sum(len(c) for c in self._chunks[: len(self._t)]) // 2

    @property
    def duration_s(self) -> float:
        """Total audio duration in seconds."""
        return self.n_samples / self.sample_rate

    def pcm(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Chunks ``start:stop`` concatenated as one ``int16`` array (a copy)."""
        n = len(self._t)
        chunks = self._chunks[:n][start:stop]
        if not chunks:
            return np.zeros(0, dtype=np.int16)
        return np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.int16, copy=False)

    def chunk(self, i: int) -> np.ndarray:
        """Chunk ``i`` as an ``int16`` array (no copy)."""
        return np.frombuffer(self._chunks[i], dtype="<i2")

    def chunk_bytes(self, i: int) -> bytes:
        """Chunk ``i`` as raw PCM16 bytes."""
        return self._chunks[i]

    def sample_counts(self, stop: int | None = None, *, start: int = 0) -> np.ndarray:
        """Samples per chunk (``int64`` array) for chunks ``start:stop``."""
        n = len(self._t) if stop is None else min(stop, len(self._t))
        start = max(0, min(start, n))
        return np.fromiter((len(c) // 2 for c in self._chunks[start:n]), dtype=np.int64, count=n - start)

    def times(self) -> np.ndarray:
        """Kernel time ``t`` of each chunk (s since t0)."""
        return np.asarray(self._t[: len(self._t)], dtype=float)

    def search(self, t: float) -> int:
        """Index of the first chunk with ``t_chunk >= t`` (chunks are appended in time order)."""
        return bisect.bisect_left(self._t, t)


class UserAudio(AudioTrack):
    """The user's mic audio as sent, with kernel send time, browser capture time and sequence number."""

    def __init__(self) -> None:
        super().__init__()
        self._t_browser: list[float] = []
        self._seq: list[int | None] = []

    def append(
        self,
        t: float,
        pcm: bytes | bytearray | memoryview | np.ndarray,
        t_browser: float | None = None,
        seq: int | None = None,
    ) -> None:
        """Add one chunk: ``t`` kernel s since t0; ``t_browser`` ms of its first captured sample."""
        data = pcm if pcm.__class__ is bytes else _as_bytes(pcm)  # bytes: as is (50 a second)
        if len(data) % 2:
            raise ValueError(f"PCM16 chunk has an odd number of bytes ({len(data)}); nothing was recorded")
        self._chunks.append(data)
        self._t_browser.append(math.nan if t_browser is None else float(t_browser))
        self._seq.append(seq)
        self._t.append(float(t))  # last: len(self._t) is the number of complete chunks

    def t_browser(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Browser capture time (ms) of the first sample of chunks ``start:stop``; NaN where unknown."""
        n = len(self._t) if stop is None else min(stop, len(self._t))
        return np.asarray(self._t_browser[start:n], dtype=float)

    def seqs(self) -> list[int | None]:
        """The page's sequence number of each chunk (None where unknown)."""
        return self._seq[: len(self._t)]

    def index(self):
        """One row per chunk: ``t`` (s), ``t_browser`` (ms), ``seq``, ``start`` and ``samples`` (samples)."""
        import pandas as pd

        counts = self.sample_counts()
        return pd.DataFrame(
            {
                "t": self.times(),
                "t_browser": self.t_browser(),
                "seq": pd.array(self.seqs(), dtype="Int64"),
                "start": np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
                "samples": counts,
            }
        )


class AgentAudio(AudioTrack):
    """The agent's audio as received, per turn; late chunks after an interruption are flagged dropped."""

    def __init__(self) -> None:
        super().__init__()
        self._turn: list[str | None] = []
        self._dropped: list[bool] = []
        self._interrupted: dict[str | None, float] = {}

    def append(
        self, t: float, pcm: bytes | bytearray | memoryview | np.ndarray, turn_id: str | None = None
    ) -> None:
        """Add one received chunk: ``t`` kernel s since t0 at arrival, ``turn_id`` from the server."""
        data = _as_bytes(pcm)
        if len(data) % 2:
            raise ValueError(f"PCM16 chunk has an odd number of bytes ({len(data)}); nothing was recorded")
        self._chunks.append(data)
        self._turn.append(turn_id)
        self._dropped.append(turn_id in self._interrupted and t > self._interrupted[turn_id])
        self._t.append(float(t))

    def interrupt(self, t: float, turn_id: str | None = None) -> str | None:
        """Record an interruption at kernel time ``t``: later chunks of the turn are flagged dropped.

        ``turn_id`` defaults to the turn of the last chunk received (the one playing). Returns it.
        """
        if turn_id is None:
            n = len(self._t)
            if n == 0:
                return None
            turn_id = self._turn[n - 1]
        self._interrupted.setdefault(turn_id, float(t))
        return turn_id

    @property
    def interrupted(self) -> dict[str | None, float]:
        """``{turn_id: kernel t of its interruption}``."""
        return dict(self._interrupted)

    def turn_ids(self) -> list[str | None]:
        """Turn id of each chunk."""
        return self._turn[: len(self._t)]

    def dropped(self) -> np.ndarray:
        """Boolean per chunk: arrived for its turn after the turn's interruption (never played)."""
        return np.asarray(self._dropped[: len(self._t)], dtype=bool)

    def index(self):
        """One row per chunk: ``t`` (s), ``turn_id``, ``start``/``samples`` (samples), ``dropped``."""
        import pandas as pd

        counts = self.sample_counts()
        return pd.DataFrame(
            {
                "t": self.times(),
                "turn_id": pd.array(self.turn_ids(), dtype=pd.StringDtype()),
                "start": np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
                "samples": counts,
                "dropped": self.dropped(),
            }
        )

    def turn_pcm(self, turn_id: str | None, include_dropped: bool = False, *, start: int = 0) -> np.ndarray:
        """All samples of one turn (in arrival order) as ``int16``; dropped chunks excluded by default.
        ``start``: look only at chunks from that index on (a live caller's recent turn)."""
        n = len(self._t)
        parts = [
            self._chunks[i]
            for i in range(max(0, start), n)
            if self._turn[i] == turn_id and (include_dropped or not self._dropped[i])
        ]
        return np.frombuffer(b"".join(parts), dtype="<i2") if parts else np.zeros(0, dtype=np.int16)
