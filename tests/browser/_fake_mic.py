"""The fake microphone: a WAV of speech-like utterances with known boundaries, for Chromium's
``--use-file-for-fake-audio-capture``.

Chromium loops the file forever, so the script ends with a long silence and tests analyse only
the first pass (``Script.first_pass_s``). Utterances are synthesized with the simulator's voice
(espeak-ng when available, else its deterministic voiced syllables). Boundaries are measured on
the synthesized audio with the simulator VAD's own rule (10 ms frames, RMS ≥ 0.01 full scale), so
"where speech is" means the same thing on both sides.

Positions: samples at 24 kHz from the start of the file (seconds = samples / 24000).
"""

from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "RATE",
    "Script",
    "Utterance",
    "burst_script",
    "conversation_script",
    "plumbing_script",
    "write_wav",
]

RATE = 24_000
FILE_RATE = RATE  # the WAV is written at 24 kHz, untouched (Chromium resamples for the device)
FRAME = 240  # 10 ms at 24 kHz, the simulator VAD's frame
THRESHOLD = 0.01  # the simulator VAD's RMS threshold (full scale 1.0)


@dataclass(frozen=True)
class Utterance:
    """One user utterance: ``text`` and the voiced span [start, end) in samples at 24 kHz."""

    text: str
    start: int
    end: int

    @property
    def start_s(self) -> float:
        return self.start / RATE

    @property
    def end_s(self) -> float:
        return self.end / RATE


@dataclass
class Script:
    """The first pass of the fake-mic file: ``pcm`` (int16, 24 kHz) and its utterances."""

    pcm: np.ndarray
    utterances: list[Utterance] = field(default_factory=list)
    #: Utterances that are meant to start while the agent is still speaking (indices).
    barge_in: tuple[int, ...] = ()

    @property
    def first_pass_s(self) -> float:
        return self.pcm.size / RATE


def _synthesize(text: str) -> np.ndarray:
    try:
        from vatel_nb.simulator._voice import Voice

        return np.asarray(Voice("auto").synthesize(text), dtype=np.int16)
    except ImportError:
        return _syllables(text)


def _syllables(text: str) -> np.ndarray:
    """Fallback: voiced syllables (harmonics of 130 Hz, raised-cosine envelopes), 0.18 s each."""
    n = max(2, len(text.split()) * 2)
    syl = int(0.18 * RATE)
    t = np.arange(syl) / RATE
    env = np.sin(np.pi * (np.arange(syl) + 0.5) / syl) ** 0.5
    tone = sum(np.sin(2 * np.pi * 130 * h * t) / h for h in range(1, 6))
    one = (0.25 * env * tone).astype(np.float32)
    gap = np.zeros(int(0.03 * RATE), np.float32)
    x = np.concatenate([np.concatenate([one, gap]) for _ in range(n)])
    return np.round(x * 32767).astype(np.int16)


def voiced_span(pcm: np.ndarray) -> tuple[int, int]:
    """[first voiced frame start, last voiced frame end) by the VAD rule, in samples."""
    frames = pcm[: pcm.size // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME) / 32768.0
    voiced = np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) >= THRESHOLD)
    if voiced.size == 0:
        raise ValueError("synthesized utterance is silent")
    return int(voiced[0] * FRAME), int((voiced[-1] + 1) * FRAME)


def _assemble(parts: list[tuple[str, float]], tail_s: float) -> Script:
    """``parts``: (text, seconds of silence before it). Returns the first pass with boundaries."""
    chunks: list[np.ndarray] = []
    utterances: list[Utterance] = []
    pos = 0
    for text, gap_s in parts:
        gap = np.zeros(round(gap_s * RATE / FRAME) * FRAME, np.int16)
        speech = _synthesize(text)
        speech = np.concatenate([speech, np.zeros((-speech.size) % FRAME, np.int16)])
        a, b = voiced_span(speech)
        chunks += [gap, speech]
        pos += gap.size
        utterances.append(Utterance(text, pos + a, pos + b))
        pos += speech.size
    chunks.append(np.zeros(int(tail_s * RATE), np.int16))
    return Script(np.concatenate(chunks), utterances)


def conversation_script() -> Script:
    """Three user turns for the scripted agent in the browser test:

    0. a greeting (the agent answers briefly), 1. a request (the agent answers at length),
    2. an interruption that starts 3 s after utterance 1 ends, while the ≈7 s answer plays.
    The gaps leave room for slow replies on a loaded machine (the test asserts behaviour, not speed).
    Ends with 10 s of silence (the call is ended before the file loops).
    """
    script = _assemble(
        [
            ("Hello there how are you today", 1.5),
            ("Please tell me a long story", 4.5),
            ("Wait stop stop", 3.0),
        ],
        tail_s=10.0,
    )
    script.barge_in = (2,)
    return script


def repeating_script() -> Script:
    """One short utterance, then 4.5 s of silence: wherever a call starts in the loop, it hears the
    utterance within ≈6 s and has time to be answered (for Start … End, Start … End)."""
    return _assemble([("Hello there how are you today", 1.0)], tail_s=4.5)


def plumbing_script() -> Script:
    """For the plumbing check: 2.5 s silence (the probe skips its first 1.5 s of capture), 0.75 s of
    voiced syllables, 1 s silence, 0.6 s, then 4 s tail."""
    return _assemble([("one two three", 2.5), ("nine more", 1.0)], tail_s=4.0)


def burst_script(
    n: int, burst_s: float = 0.2, gap_s: float = 1.0, lead_s: float = 1.0, drift_s: float = 0.0
) -> Script:
    """``n`` steady voiced bursts (harmonics of 150 Hz, 5 ms ramps, no pause inside, so a VAD with a
    one-frame hangover sees exactly one segment each), ``gap_s`` apart, then 6 s of silence.
    For the latency bench: the agent's reply has to fit in the gap. ``drift_s``: each gap is that
    much longer (not rounded to 20 ms frames), so successive bursts end at every phase of the
    page's 20 ms mic frames instead of all at one phase set by when the page started capturing."""
    m = round(burst_s * RATE / FRAME) * FRAME
    t = np.arange(m) / RATE
    ramp = np.minimum(1.0, np.minimum(np.arange(m), m - 1 - np.arange(m)) / (0.005 * RATE))
    tone = sum(np.sin(2 * np.pi * 150 * h * t) / h for h in range(1, 6)) * ramp
    burst = np.round(0.25 * tone * 32767).astype(np.int16)
    gap = np.zeros(round(gap_s * RATE / FRAME) * FRAME, np.int16)
    lead = np.zeros(round(lead_s * RATE / FRAME) * FRAME, np.int16)
    chunks, utterances, pos = [lead], [], lead.size
    for i in range(n):
        a, b = voiced_span(burst)
        utterances.append(Utterance(f"burst {i + 1}", pos + a, pos + b))
        pad = np.zeros(round(drift_s * RATE), np.int16)
        chunks += [burst, gap, pad]
        pos += burst.size + gap.size + pad.size
    chunks.append(np.zeros(6 * RATE, np.int16))
    return Script(np.concatenate(chunks), utterances)


def write_wav(script: Script, path: Path | str) -> Path:
    """Write the first pass as a 24 kHz mono PCM16 WAV (the samples of ``script.pcm`` as they are)."""
    path = Path(path)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(FILE_RATE)
        w.writeframes(script.pcm.astype("<i2").tobytes())
    return path
