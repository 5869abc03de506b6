"""A model of the page's playback ring buffer, for the headless caller.

With no browser there is no speaker to ask when audio was heard, so the headless caller models
it: the same rules as the page's ring-buffer worklet (a jitter cushion before a turn starts,
underruns when the buffer runs dry mid-turn, a flush with a short gain ramp on ``interrupt``).
Every time here is on the kernel clock in seconds (``time.perf_counter()``); the events it
produces are marked ``clock="modelled"`` in the log.

The model is pure: callers feed it arrivals and interrupts with their times and read back the
playback events it implies; scheduling those events in real time is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..protocol import SAMPLE_RATE

__all__ = ["PlaybackEvent", "PlaybackModel"]


@dataclass(frozen=True, slots=True)
class PlaybackEvent:
    """One modelled playback report: ``event`` is started | stopped | flushed | underrun.

    ``t`` is when it happens (kernel clock, s); ``samples`` is samples played of the turn
    (started: 0; underrun: samples of silence inserted); ``dropped_samples`` only for flushed.
    """

    event: str
    turn_id: str
    t: float
    samples: int = 0
    dropped_samples: int = 0


@dataclass(slots=True)
class _Turn:
    turn_id: str
    first_arrival: float
    start: float | None = None  # when its first sample plays
    end: float = 0.0  # when the buffered audio runs out
    samples: int = 0  # samples received (and scheduled)
    final: bool = False
    stopped: bool = False
    flushed: bool = False
    pending_samples: int = 0  # received before start (waiting for the cushion)


@dataclass
class PlaybackModel:
    """Ring-buffer playback rules on a virtual clock.

    ``jitter_s``: cushion of audio buffered before a turn starts playing (s);
    ``ramp_s``: fade length on flush (s); ``output_latency_s``: added to every start (s).
    """

    jitter_s: float = 0.06
    ramp_s: float = 0.02
    output_latency_s: float = 0.0
    _turns: dict[str, _Turn] = field(default_factory=dict)
    _busy_until: float = 0.0
    _interrupted: set[str] = field(default_factory=set)

    def arrive(self, turn_id: str, samples: int, final: bool, t: float) -> list[PlaybackEvent]:
        """A chunk of ``samples`` for ``turn_id`` arrived at ``t``; returns events it implies.

        Chunks of a turn that was flushed are dropped (no events)."""
        if turn_id in self._interrupted:
            return []
        out: list[PlaybackEvent] = []
        turn = self._turns.get(turn_id)
        if turn is None:
            turn = self._turns[turn_id] = _Turn(turn_id, t)
        turn.final = turn.final or final
        dur = samples / SAMPLE_RATE
        if turn.start is None:
            turn.pending_samples += samples
            cushion_full = turn.pending_samples / SAMPLE_RATE >= self.jitter_s
            if cushion_full or turn.final:
                start = max(t, self._busy_until) + self.output_latency_s
                turn.start = start
                turn.end = start + turn.pending_samples / SAMPLE_RATE
                turn.samples = turn.pending_samples
                self._busy_until = max(self._busy_until, turn.end)
                out.append(PlaybackEvent("started", turn_id, start))
            return out
        if t + self.output_latency_s > turn.end:
            gap = t + self.output_latency_s - turn.end
            out.append(PlaybackEvent("underrun", turn_id, turn.end, round(gap * SAMPLE_RATE)))
            turn.end += gap
        turn.end += dur
        turn.samples += samples
        self._busy_until = max(self._busy_until, turn.end)
        return out

    def due_stops(self, now: float) -> list[PlaybackEvent]:
        """``stopped`` events of turns whose final chunk has fully played by ``now``."""
        out = []
        for turn in self._turns.values():
            if turn.final and turn.start is not None and not turn.stopped and not turn.flushed:
                if turn.end <= now:
                    turn.stopped = True
                    out.append(PlaybackEvent("stopped", turn.turn_id, turn.end, turn.samples))
        return out

    def next_stop_time(self) -> float | None:
        """When the next ``stopped`` event falls due (kernel s), or None."""
        ends = [
            t.end
            for t in self._turns.values()
            if t.final and t.start is not None and not (t.stopped or t.flushed)
        ]
        return min(ends) if ends else None

    def playing(self, now: float) -> str | None:
        """The turn audible at ``now``, if any."""
        for turn in self._turns.values():
            if turn.start is not None and not turn.flushed and turn.start <= now < turn.end:
                return turn.turn_id
        return None

    def interrupt(self, turn_id: str | None, t: float) -> list[PlaybackEvent]:
        """Flush at ``t`` (all turns when ``turn_id`` is None); later chunks of them are dropped."""
        out = []
        for turn in list(self._turns.values()):
            if turn_id is not None and turn.turn_id != turn_id:
                continue
            self._interrupted.add(turn.turn_id)
            if turn.stopped or turn.flushed:
                continue
            turn.flushed = True
            if turn.start is None:
                played = 0
                total = turn.pending_samples
            else:
                played_s = min(max(t + self.ramp_s - turn.start, 0.0), turn.end - turn.start)
                played = min(turn.samples, round(played_s * SAMPLE_RATE))
                total = turn.samples
            out.append(PlaybackEvent("flushed", turn.turn_id, t + self.ramp_s, played, total - played))
        self._busy_until = min(self._busy_until, t + self.ramp_s)
        return out
