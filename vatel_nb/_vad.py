"""The kit's one voice activity detector: an energy VAD over an adaptive noise floor.

Used live by the simulator (:class:`Vad`, fed the user's stream chunk by chunk) and offline by
the analysis (:func:`speech_segments` over captured mic PCM). Both apply the same rule:

- the audio (PCM16 mono 24 kHz) is cut into 10 ms frames (:data:`FRAME_SAMPLES` = 240 samples);
  each frame's level is its RMS in dBFS (:func:`frame_levels_db`, −120 dB floor);
- the **noise floor** is the lowest 50 ms-smoothed level over the last ``floor_window_s``
  seconds (minimum statistics: the pauses between words reach it even while someone talks, and
  steady hiss or hum raises it). Live it looks back only, and for the first second of a stream
  (no floor known yet: speech may start at once) only the absolute threshold applies — noise
  present from the first sample then yields at most one short segment. Offline the window is
  centred;
- a frame is **voiced** when its level is above ``max(threshold_db, floor + snr_db)``: above an
  absolute floor (a quiet room never triggers) *and* ``snr_db`` above the noise. A fixed
  threshold alone turns a noisy microphone into one endless utterance; this does not;
- speech **starts** once ``start_secs`` of voiced frames have accumulated since an onset (gaps
  shorter than 60 ms inside the onset do not reset the count) and **stops** after ``stop_secs``
  of unvoiced frames.

With a **speech model** (live only, ``Vad(model=…)``: Silero VAD, see :mod:`._speech_model`) a
frame is voiced when the model hears speech *and* its level is above ``max(threshold_db, floor +
model_snr_db)`` (3 dB): the model rejects noise however loud, the level keeps the edges exact.
Quiet frames the model hears as speech count towards the start of an onset in progress (a short
"Stop!" in 10 dB noise is 0.11 s above the level, and 0.16 s more of it speech to the model) but
move no edge. The model lags a speech onset by a window or two, so an onset it confirms is moved
back over the run of frames just before it that were above that level (gaps under 60 ms bridged,
at most 0.5 s): ``speech_started`` is as early, and ``speech_stopped`` as late, as with energy
alone. In 10 dB SNR hiss and hum, energy alone misses most utterances once it knows the noise
floor; with the model every one is found (``bench/bench_asr.py``).

Positions are sample indices in the stream (seconds = samples / 24000); decisions happen at
frame boundaries, so every position is exact to one 10 ms frame.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from ._speech_model import SpeechModel
from .protocol import SAMPLE_RATE

__all__ = [
    "FRAME_SAMPLES",
    "Vad",
    "VadEvent",
    "VadSettings",
    "frame_levels_db",
    "leading_silence_samples",
    "speech_segments",
]

#: VAD frame: 10 ms at 24 kHz.
FRAME_SAMPLES = 240
_FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
_GAP_TOLERANCE = 6  # frames (60 ms) of silence allowed inside an onset before it resets
_SMOOTH = 5  # frames (50 ms) averaged (in power) before the noise-floor minimum
_MIN_DB = -120.0
_PRIME_FRAMES = 100  # live: the floor is unknown for the first second, only the absolute threshold holds
_MODEL_ON, _MODEL_OFF = 0.5, 0.35  # speech probability hysteresis (Silero's usual thresholds)
_MAX_BACK = 50  # frames (0.5 s) an onset confirmed by the model may move back


@dataclass(frozen=True)
class VadSettings:
    """Offline VAD parameters for :func:`speech_segments` (ms, dBFS, s).

    ``min_speech_ms`` / ``min_silence_ms`` are the live VAD's ``start_secs`` / ``stop_secs``:
    shorter bursts (clicks) are dropped, shorter pauses are bridged."""

    frame_ms: float = 10.0
    threshold_db: float = -45.0
    snr_db: float = 9.0
    floor_window_s: float = 3.0
    min_speech_ms: float = 60.0
    min_silence_ms: float = 250.0

    @property
    def frame_samples(self) -> int:
        """Samples per frame at 24 kHz (the VAD works on 10 ms frames)."""
        return FRAME_SAMPLES


@dataclass(frozen=True)
class VadEvent:
    """``kind`` "start": speech began at sample ``position`` (onset), decided at ``decided_at``.
    ``kind`` "stop": speech ended at ``position`` (end of last voiced frame), decided at ``decided_at``."""

    kind: str
    position: int
    decided_at: int


def frame_levels_db(
    pcm: np.ndarray, frame_samples: int = FRAME_SAMPLES, block_frames: int = 1 << 15
) -> np.ndarray:
    """RMS level (dBFS, −120 floor) of each frame of ``pcm`` (int16); a partial last frame counts too."""
    pcm = np.asarray(pcm)
    n = len(pcm)
    nf = -(-n // frame_samples) if n else 0
    out = np.empty(nf, dtype=np.float32)
    step = block_frames * frame_samples
    for b in range(0, n, step):
        block = pcm[b : b + step].astype(np.float32)
        m = len(block) // frame_samples
        ms = np.empty(-(-len(block) // frame_samples), dtype=np.float32)
        if m:
            x = block[: m * frame_samples].reshape(m, frame_samples)
            ms[:m] = np.einsum("ij,ij->i", x, x) / frame_samples
        if len(block) > m * frame_samples:
            tail = block[m * frame_samples :]
            ms[m] = float(np.dot(tail, tail)) / len(tail)
        out[b // frame_samples : b // frame_samples + len(ms)] = ms
    with np.errstate(divide="ignore"):
        db = 10.0 * np.log10(out / (32768.0 * 32768.0))
    return np.maximum(db, _MIN_DB)


def _smoothed(levels_db: np.ndarray, history: np.ndarray | None = None) -> np.ndarray:
    """50 ms power average ending at each frame (``history``: the frames before, for streaming)."""
    p = np.power(10.0, np.asarray(levels_db, dtype=np.float64) / 10.0)
    if history is None or not history.size:
        history = np.full(1, p[0] if p.size else 0.0)
    h = np.concatenate(
        [np.full(_SMOOTH - 1 - min(history.size, _SMOOTH - 1), history[0]), history[-(_SMOOTH - 1) :]]
    )
    c = np.cumsum(np.concatenate([[0.0], h, p]))
    avg = (c[_SMOOTH:] - c[:-_SMOOTH]) / _SMOOTH
    with np.errstate(divide="ignore"):
        return np.maximum(10.0 * np.log10(np.maximum(avg[-p.size :] if p.size else avg[:0], 1e-12)), _MIN_DB)


def _voiced(levels_db: np.ndarray, floor_db: np.ndarray, threshold_db: float, snr_db: float) -> np.ndarray:
    """THE rule: voiced when above the absolute threshold and ``snr_db`` above the noise floor."""
    return levels_db > np.maximum(threshold_db, floor_db + snr_db)


class Vad:
    """Live VAD: feed PCM16 samples with :meth:`feed`; get start/stop :class:`VadEvent` s back.

    ``threshold_db``: absolute level a frame must exceed (dBFS; −40 ≈ RMS 0.01 full scale).
    ``snr_db``: how far above the running noise floor. ``floor_window_s``: the floor's memory.
    ``model``: a speech model (:func:`vatel_nb._speech_model.speech_model`); with it a frame is
    voiced when the model hears speech and the level is ``model_snr_db`` above the floor.
    """

    def __init__(
        self,
        start_secs: float = 0.2,
        stop_secs: float = 0.5,
        *,
        threshold_db: float = -40.0,
        snr_db: float = 9.0,
        floor_window_s: float = 3.0,
        model: SpeechModel | None = None,
        model_snr_db: float = 3.0,
    ) -> None:
        self.start_frames = max(1, round(start_secs / _FRAME_S))
        self.stop_frames = max(1, round(stop_secs / _FRAME_S))
        self.gap_tolerance = min(_GAP_TOLERANCE, self.stop_frames)
        self.threshold_db = threshold_db
        self.snr_db = snr_db
        self.position = 0  # samples consumed into whole frames
        self.speaking = False
        self.noise_floor_db = _MIN_DB  # after the last frame fed
        self._window = max(1, round(floor_window_s / _FRAME_S))
        # monotonic deque of (frame index, level); the first second counts as quiet (see below)
        self._mins: deque[tuple[int, float]] = deque([(_PRIME_FRAMES - self._window, _MIN_DB)])
        self._power_hist = np.zeros(0)
        self._frame = 0
        self._rest = np.zeros(0, dtype=np.int16)
        self._onset: int | None = None
        self._voiced = 0
        self._silent = 0
        self._last_voiced_end = 0
        self.model = model
        self.model_snr_db = model_snr_db
        self._model_on = False
        self._loud: deque[bool] = deque(maxlen=_MAX_BACK)  # model mode: recent frames above the level

    def _floor(self, smooth_db: np.ndarray) -> np.ndarray:
        out = np.empty(smooth_db.size)
        mins = self._mins
        for i, v in enumerate(smooth_db.tolist()):
            k = self._frame + i
            while mins and mins[-1][1] >= v:
                mins.pop()
            mins.append((k, v))
            if mins[0][0] <= k - self._window:
                mins.popleft()
            out[i] = mins[0][1]
        return out

    def feed(self, samples: np.ndarray) -> list[VadEvent]:
        """Consume int16 samples; return the events decided in them (in order)."""
        buf = np.concatenate([self._rest, samples]) if self._rest.size else np.asarray(samples)
        n = buf.size // FRAME_SAMPLES
        self._rest = buf[n * FRAME_SAMPLES :].copy()
        if n == 0:
            return []
        levels = frame_levels_db(buf[: n * FRAME_SAMPLES])
        smooth = _smoothed(levels, self._power_hist)
        power = np.power(10.0, levels.astype(np.float64) / 10.0)
        self._power_hist = np.concatenate([self._power_hist, power])[-(_SMOOTH - 1) :]
        floor = self._floor(smooth)
        self._frame += n
        self.noise_floor_db = float(floor[-1])
        if self.model is None:
            return self.step(_voiced(levels, floor, self.threshold_db, self.snr_db))
        loud = _voiced(levels, floor, self.threshold_db, self.model_snr_db)
        speech = np.empty(n, dtype=bool)
        for i, p in enumerate(self.model.frame_probs(buf[: n * FRAME_SAMPLES]).tolist()):
            self._model_on = p > (_MODEL_OFF if self._model_on else _MODEL_ON)
            speech[i] = self._model_on
        return self.step(speech & loud, loud, speech)

    def step(
        self, voiced: np.ndarray, loud: np.ndarray | None = None, held: np.ndarray | None = None
    ) -> list[VadEvent]:
        """Advance the start/stop state machine by one decision per 10 ms frame. Model mode:
        ``loud`` = frames above the level alone, over which a new onset moves back; ``held`` =
        frames the model hears as speech, which never reset an onset in progress (the closure of
        "what time" is as quiet as the noise, yet speech)."""
        events: list[VadEvent] = []
        louds = loud.tolist() if loud is not None else None
        helds = held.tolist() if held is not None else None
        for i, v in enumerate(voiced.tolist()):
            start, end = self.position, self.position + FRAME_SAMPLES
            self.position = end
            if not self.speaking:
                held_only = not v and self._onset is not None and helds is not None and helds[i]
                if v or held_only:  # held only: speech to the model, below the level — counts, moves no edge
                    if self._onset is None:
                        back = self._loud_run() if louds is not None else 0
                        self._onset, self._voiced = start - back * FRAME_SAMPLES, back
                    self._voiced += 1
                    if v:
                        self._silent = 0
                        self._last_voiced_end = end
                    if self._voiced >= self.start_frames:
                        self.speaking = True
                        events.append(VadEvent("start", self._onset, end))
                elif self._onset is not None:
                    self._silent += 1
                    if self._silent >= self.gap_tolerance:
                        self._onset, self._voiced, self._silent = None, 0, 0
            elif v:
                self._silent = 0
                self._last_voiced_end = end
            else:
                self._silent += 1
                if self._silent >= self.stop_frames:
                    events.append(VadEvent("stop", self._last_voiced_end, end))
                    self.speaking = False
                    self._onset, self._voiced, self._silent = None, 0, 0
                    self._loud.clear()  # an onset never moves back into the segment before
                    continue
            if louds is not None:
                self._loud.append(louds[i])
        return events

    def _loud_run(self) -> int:
        """How many frames back the onset goes: over the frames just before this one that were
        above the level, bridging quiet gaps shorter than the onset's gap tolerance (60 ms: the
        closure before a stop consonant) — to the first loud frame of that run."""
        k = gap = 0
        for i, x in enumerate(reversed(self._loud), 1):
            if x:
                k, gap = i, 0
            else:
                gap += 1
                if gap >= self.gap_tolerance:
                    break
        return k

    @property
    def pause(self) -> tuple[int, int] | None:
        """While speaking and the latest frame was unvoiced: ``(end, silent)`` — the speech may
        be ending at sample ``end`` (the end of the last voiced frame, the position a stop would
        report) and ``silent`` samples of unvoiced frames have followed it. None otherwise. A
        voiced frame before ``stop_secs`` of silence resets it (the speaker went on)."""
        if not self.speaking or not self._silent:
            return None
        return self._last_voiced_end, self._silent * FRAME_SAMPLES

    def force_stop(self) -> VadEvent | None:
        """End an ongoing speech segment now (input stalled or the stream ends)."""
        if not self.speaking:
            return None
        self.speaking = False
        self._onset, self._voiced, self._silent = None, 0, 0
        self._loud.clear()
        return VadEvent("stop", self._last_voiced_end, self.position)


def speech_segments(pcm: np.ndarray, settings: VadSettings | None = None) -> np.ndarray:
    """Speech segments of ``pcm`` (int16, 24 kHz) as an ``(n, 2)`` int64 array of ``[start, end)``
    sample indices: the live rule applied to a whole recording, with the noise floor's window
    centred on each frame (the recording's future is known offline)."""
    s = settings or VadSettings()
    pcm = np.asarray(pcm)
    levels = frame_levels_db(pcm)
    if len(levels) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    smooth = _smoothed(levels)
    w = max(1, round(s.floor_window_s / _FRAME_S))
    half = w // 2
    padded = np.concatenate([np.full(half, np.inf), smooth, np.full(w - 1 - half, np.inf)])
    floor = np.lib.stride_tricks.sliding_window_view(padded, w).min(axis=1)
    vad = Vad(max(s.min_speech_ms, 1.0) / 1000.0, max(s.min_silence_ms, 1.0) / 1000.0)
    events = vad.step(_voiced(levels, floor, s.threshold_db, s.snr_db))
    last = vad.force_stop()
    if last is not None:
        events.append(last)
    starts = [e.position for e in events if e.kind == "start"]
    ends = [min(e.position, len(pcm)) for e in events if e.kind == "stop"]
    if not starts:
        return np.zeros((0, 2), dtype=np.int64)
    return np.array(list(zip(starts, ends, strict=True)), dtype=np.int64)


def leading_silence_samples(
    pcm: np.ndarray, threshold_db: float = -50.0, frame_samples: int = 240
) -> int | None:
    """Samples before the first frame above ``threshold_db`` dBFS (e.g. the agent's leading silence).

    ``None`` if the audio never gets above the threshold (all silence) or is empty.
    """
    levels = frame_levels_db(pcm, frame_samples)
    loud = np.flatnonzero(levels > threshold_db)
    return int(loud[0]) * frame_samples if len(loud) else None


def db(linear: float) -> float:
    """Full-scale linear amplitude (1.0 = full scale) → dBFS."""
    return 20.0 * math.log10(max(linear, 1e-6))
