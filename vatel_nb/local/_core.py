"""The local-audio front-end's logic, with no I/O: capture framing, the playback queue, half duplex.

It stands where the page's audio engine stands and speaks the same envelope
(:mod:`vatel_nb.envelope`), but its clock is the audio device's: every time here is **device
seconds** — PortAudio's stream time (``Pa_GetStreamTime``; ``inputBufferAdcTime`` /
``outputBufferDacTime`` in the stream callback). Envelopes carry them as ``t_browser`` in ms with
``clock="device"``; the session maps them onto the kernel clock with the same ping/pong estimate
as the page's ``performance.now()``.

The shell (:mod:`._stream`) feeds it from PortAudio's callback thread:

- :meth:`LocalAudioCore.capture` — a captured block and the ADC time of its first sample →
  ``mic`` envelopes (20 ms frames, ``t_browser`` = capture time of each frame's first sample);
- :meth:`LocalAudioCore.render` — fill an output block whose first sample reaches the DAC at
  ``t_dac`` → the samples and the ``playback`` envelopes they imply (started = first sample of a
  turn at the DAC, stopped = after its last sample, flushed on interrupt, underrun);

and from the session: :meth:`~LocalAudioCore.audio`, :meth:`~LocalAudioCore.interrupt`. It is
not thread-safe by itself: the shell holds one lock around every call.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import envelope as env
from ..envelope import FRAME_SAMPLES, SAMPLE_RATE

__all__ = ["DEVICE_CLOCK", "LocalAudioCore", "level_dbfs"]

#: The ``clock`` of every envelope this front-end sends.
DEVICE_CLOCK = "device"
#: Level reported for digital silence, dBFS.
SILENCE_DB = -120.0

Envelope = tuple[dict[str, Any], list[bytes]]


def level_dbfs(pcm: np.ndarray) -> float:
    """RMS level of int16 samples in dBFS (full scale = 32768); :data:`SILENCE_DB` for silence."""
    if pcm.size == 0:
        return SILENCE_DB
    rms = math.sqrt(float(np.mean(np.square(pcm.astype(np.float64)))))
    return max(SILENCE_DB, 20.0 * math.log10(rms / 32768.0)) if rms > 0 else SILENCE_DB


@dataclass
class _Turn:
    turn_id: str | None
    chunks: deque[np.ndarray] = field(default_factory=deque)
    queued: int = 0  # samples waiting in chunks
    received: int = 0
    played: int = 0
    final: bool = False
    started: bool = False
    flush: bool = False  # an interrupt asked to cut it
    underrun_at: float | None = None  # device s where the current run of silence began
    underrun_samples: int = 0

    def take(self, n: int) -> np.ndarray:
        """Up to ``n`` queued samples, in order."""
        parts, need = [], n
        while need and self.chunks:
            c = self.chunks[0]
            if len(c) <= need:
                parts.append(self.chunks.popleft())
                need -= len(c)
            else:
                parts.append(c[:need])
                self.chunks[0] = c[need:]
                need = 0
        out = np.concatenate(parts) if parts else np.zeros(0, np.int16)
        self.queued -= len(out)
        return out


class LocalAudioCore:
    """See the module docstring. Times are device seconds; sample counts are at 24 kHz.

    ``jitter_s``: audio buffered before a turn starts playing (like the widget's ``jitter_ms``);
    ``ramp_s``: fade-out on an interrupt; ``half_duplex``: capture sends silence while the agent
    is audible and for ``gate_tail_s`` after (the room's echo dies out) — there is no echo
    cancellation on this path, so with speakers and no half duplex the agent hears itself.
    """

    def __init__(
        self,
        *,
        jitter_s: float = 0.06,
        ramp_s: float = 0.02,
        half_duplex: bool = False,
        gate_tail_s: float = 0.3,
    ) -> None:
        self.jitter_s = float(jitter_s)
        self.ramp_s = float(ramp_s)
        self.half_duplex = bool(half_duplex)
        self.gate_tail_s = float(gate_tail_s)
        #: The output stream's latency as PortAudio reports it (s), sent with ``started`` (the
        #: DAC times already include it).
        self.output_latency_s = 0.0
        self._turns: deque[_Turn] = deque()
        self._dropped: set[str | None] = set()  # interrupted turns: later chunks are discarded
        self._pending = np.zeros(0, np.int16)  # captured samples not yet in a frame
        self._pending_t: float | None = None  # device s of _pending's first sample
        self._seq = 0
        self._audible_until = -math.inf  # device s: end of the last agent sample rendered
        self.capturing = True
        #: Level meters: RMS dBFS of the last captured / rendered block (what was sent / played).
        self.input_db = SILENCE_DB
        self.output_db = SILENCE_DB
        #: Diagnostics: mic frames replaced with silence by half duplex; chunks dropped after an interrupt.
        self.gated_frames = 0
        self.late_chunks = 0

    # ------------------------------------------------------------------ kernel → us

    def audio(self, turn_id: str | None, pcm: bytes, final: bool) -> None:
        """One ``audio`` envelope's chunk (PCM16 LE mono 24 kHz) to play after what is queued."""
        if turn_id in self._dropped:
            self.late_chunks += 1
            return
        turn = self._turns[-1] if self._turns and self._turns[-1].turn_id == turn_id else None
        if turn is None or (turn.final and turn.queued == 0 and turn.started):
            turn = _Turn(turn_id)
            self._turns.append(turn)
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
        if samples.size:
            turn.chunks.append(samples)
            turn.queued += samples.size
            turn.received += samples.size
        turn.final = turn.final or bool(final)

    def interrupt(self, turn_id: str | None) -> None:
        """``interrupt``: cut ``turn_id`` (None: every turn) at the next rendered block."""
        for turn in self._turns:
            if turn_id is None or turn.turn_id == turn_id:
                turn.flush = True
                self._dropped.add(turn.turn_id)
        if turn_id is not None:
            self._dropped.add(turn_id)

    def end(self) -> None:
        """``end``: the call is over; capture stops (playback of what is queued goes on)."""
        self.capturing = False

    def resume(self) -> None:
        """A new call on the same streams: capture again, framing from the next block."""
        self.capturing = True
        self._pending, self._pending_t = np.zeros(0, np.int16), None

    @property
    def playing(self) -> bool:
        """True while agent audio is queued or playing."""
        return bool(self._turns)

    # ------------------------------------------------------------------ capture

    def gated(self, t: float) -> bool:
        """Is the mic muted by half duplex for a frame captured at device time ``t``?"""
        return self.half_duplex and (self.playing or t < self._audible_until + self.gate_tail_s)

    def capture(self, pcm: np.ndarray, t_adc: float) -> list[Envelope]:
        """A captured block (int16 mono 24 kHz) whose first sample was captured at ``t_adc``
        (device s) → ``mic`` envelopes for every complete 20 ms frame."""
        pcm = np.asarray(pcm, dtype=np.int16).reshape(-1)
        self.input_db = level_dbfs(pcm)
        if not self.capturing:
            return []
        if self._pending_t is None or self._pending.size == 0:
            self._pending_t = t_adc
            self._pending = pcm.copy()
        else:
            expected = self._pending_t + self._pending.size / SAMPLE_RATE
            if abs(t_adc - expected) > 0.5 * FRAME_SAMPLES / SAMPLE_RATE:
                # a gap or a jump in capture (an overflow): restart framing at the new time
                self._pending, self._pending_t = pcm.copy(), t_adc
            else:
                self._pending = np.concatenate([self._pending, pcm])
        out: list[Envelope] = []
        while self._pending.size >= FRAME_SAMPLES:
            frame, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
            t = self._pending_t
            self._pending_t = t + FRAME_SAMPLES / SAMPLE_RATE
            if self.gated(t):
                self.gated_frames += 1
                frame = np.zeros(FRAME_SAMPLES, np.int16)
            out.append((env.mic(self._seq, t * 1e3, FRAME_SAMPLES, clock=DEVICE_CLOCK), [frame.tobytes()]))
            self._seq += 1
        return out

    # ------------------------------------------------------------------ playback

    def render(self, n: int, t_dac: float) -> tuple[np.ndarray, list[Envelope]]:
        """Fill an output block of ``n`` samples whose first sample reaches the DAC at ``t_dac``
        (device s); returns the block (int16) and the ``playback`` envelopes it implies."""
        out = np.zeros(n, np.int16)
        events: list[Envelope] = []
        pos = 0
        while pos < n and self._turns:
            turn = self._turns[0]
            t = t_dac + pos / SAMPLE_RATE
            if turn.flush:
                pos = self._flush(turn, out, pos, t, events)
                continue
            if not turn.started:
                if turn.queued / SAMPLE_RATE < self.jitter_s and not turn.final:
                    break  # waiting for the cushion
                turn.started = True
                events.append(self._event("started", turn, t, 0))
            if turn.queued == 0:
                if turn.final:
                    self._close_underrun(turn, events)
                    events.append(self._event("stopped", turn, t, turn.played))
                    self._turns.popleft()
                    continue
                if turn.underrun_at is None:
                    turn.underrun_at = t
                turn.underrun_samples += n - pos
                break
            self._close_underrun(turn, events)
            chunk = turn.take(n - pos)
            out[pos : pos + chunk.size] = chunk
            pos += chunk.size
            turn.played += chunk.size
            self._audible_until = t_dac + pos / SAMPLE_RATE
            if turn.queued == 0 and turn.final:
                events.append(self._event("stopped", turn, t_dac + pos / SAMPLE_RATE, turn.played))
                self._turns.popleft()
        self.output_db = level_dbfs(out)
        return out, events

    def _flush(self, turn: _Turn, out: np.ndarray, pos: int, t: float, events: list[Envelope]) -> int:
        """Cut ``turn`` at ``t``: a linear fade over ``ramp_s`` if it was playing, drop the rest."""
        self._turns.popleft()
        self._close_underrun(turn, events)
        ramp = 0
        if turn.started:
            ramp_n = min(round(self.ramp_s * SAMPLE_RATE), len(out) - pos)
            tail = turn.take(ramp_n)
            ramp = tail.size
            if ramp:
                gain = np.linspace(1.0, 0.0, ramp, endpoint=False)
                out[pos : pos + ramp] = (tail * gain).astype(np.int16)
                self._audible_until = t + ramp / SAMPLE_RATE
        turn.played += ramp
        dropped = turn.queued
        turn.chunks.clear()
        turn.queued = 0
        events.append(self._event("flushed", turn, t + ramp / SAMPLE_RATE, turn.played, dropped=dropped))
        return pos + ramp

    def _close_underrun(self, turn: _Turn, events: list[Envelope]) -> None:
        if turn.underrun_at is not None:
            events.append(self._event("underrun", turn, turn.underrun_at, turn.underrun_samples))
            turn.underrun_at, turn.underrun_samples = None, 0

    def _event(self, event: str, turn: _Turn, t: float, samples: int, dropped: int | None = None) -> Envelope:
        latency = self.output_latency_s * 1e3 if event == "started" else None
        return (
            env.playback(
                event,
                turn.turn_id,
                t * 1e3,
                samples,
                dropped_samples=dropped,
                output_latency_ms=latency,
                clock=DEVICE_CLOCK,
            ),
            [],
        )
