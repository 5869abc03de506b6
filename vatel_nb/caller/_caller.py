"""The headless scripted caller: a front-end with no browser.

It stands where the page stands — it speaks the widget envelope (``ready``, ``mic``,
``playback``, ``pong``) to a :class:`~vatel_nb.session.VatelSession` — so a call driven by a
script produces the same event log and analysis as a call in the notebook widget.

Microphone frames are streamed in real time (20 ms each, on an absolute schedule; a frame is
handed over when its last sample has been "captured", like a real mic): the script's utterances
where they fall, silence elsewhere. What the caller cannot observe — when agent audio would
have been heard — is modelled by :class:`PlaybackModel` from the audio as it arrives, in real
time. Every envelope it sends carries ``clock="modelled"``, so every ``browser`` row it causes
is marked ``clock="modelled"`` in the log. Its "browser clock" is ``time.perf_counter()`` in ms
(so ``t_browser`` values are exact kernel-clock times, modelled rather than measured).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import envelope as env
from ..envelope import FRAME_SAMPLES, SAMPLE_RATE
from ._playback import PlaybackEvent, PlaybackModel
from ._script import Utterance, as_utterances, load_utterance_audio, voiced_bounds

__all__ = ["ScriptedCaller", "SpokenUtterance"]

FRAME = FRAME_SAMPLES  # samples per 20 ms mic frame at 24 kHz
FRAME_S = FRAME / SAMPLE_RATE
MODELLED = "modelled"  # the clock of every envelope the caller sends


@dataclass
class SpokenUtterance:
    """Ground truth of one utterance the caller spoke. Times are absolute ``time.perf_counter()``
    seconds (the kernel clock before subtracting ``EventLog.t0``).

    ``start``/``end``: first/last sample streamed; ``voice_start``/``voice_end``: first/last
    voiced sample (10 ms frames above an RMS of 300); ``barge_in``: spoken while the agent's
    audio was (modelled as) playing.
    """

    index: int
    text: str | None
    start: float
    voice_start: float
    voice_end: float
    end: float
    barge_in: bool


@dataclass
class _State:
    queue: list[tuple[int, Utterance, np.ndarray]] = field(default_factory=list)
    speaking: np.ndarray | None = None
    pos: int = 0
    start_at: float | None = None  # perf_counter when the next utterance begins
    agent_busy: bool = False
    last_agent_stop: float | None = None
    last_utterance_end: float = -np.inf  # end of the last utterance fully streamed


class ScriptedCaller:
    """Drive a :class:`~vatel_nb.session.VatelSession` from a script, with no browser.

    ``script``: utterances (:class:`Utterance`, text to synthesize, or .wav paths) spoken in
    order. Each waits for the agent's reply to finish playing, then ``think`` s; or, with
    ``barge_in``, starts ``barge_in`` s after that reply *starts* playing (talking over it).
    ``wait_greeting``: let the agent's first message play before the first utterance (no wait when
    the agent has no first message).
    ``reply_timeout``: seconds to wait for a reply (or the greeting) before going on.
    ``tail``: seconds the call stays open after the last reply finished playing.
    ``jitter_ms``: modelled playback cushion (ms), like the widget's ``jitter_ms``.
    ``max_duration``: hard limit on the whole call (s), then it is ended.
    ``progress``: called with one line of text per step (utterance spoken, reply heard).

    ``await caller.run()`` starts a call on the session (``session.start()``, raising what went
    wrong), streams the script in real time, ends the call and returns what was spoken. Run it
    again for another call on the same session (``session.calls`` gets a row per run).
    """

    def __init__(
        self,
        session: Any,
        script: Sequence[Utterance | str | Path],
        *,
        wait_greeting: bool = True,
        reply_timeout: float = 10.0,
        tail: float = 1.0,
        jitter_ms: float = 60.0,
        max_duration: float = 300.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.session = session
        self.script = as_utterances(script)
        self.wait_greeting = wait_greeting
        self.reply_timeout = float(reply_timeout)
        self.tail = float(tail)
        self.max_duration = float(max_duration)
        self.progress = progress
        #: The playback model (kernel clock, perf_counter s).
        self.model = PlaybackModel(jitter_s=jitter_ms / 1000.0)
        #: What was spoken so far, with its timing (perf_counter s).
        self.spoken: list[SpokenUtterance] = []
        #: The last UI state the session pushed (status, transcript, last_latency_ms, …).
        self.state: dict[str, Any] = {}
        self._st = _State()
        self._ended = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._started_at: dict[str, float] = {}  # agent turn id → modelled playback start

    # ----------------------------------------------------------------- front-end interface
    def send(self, envelope: dict[str, Any], buffers: Sequence[bytes] = ()) -> None:
        """Called by the session (on its loop) for every kernel → page envelope."""
        kind = envelope.get("kind")
        now = time.perf_counter()
        if kind == "audio":
            pcm = buffers[0] if buffers else b""
            n = len(memoryview(pcm).cast("B")) // 2
            turn = str(envelope.get("turn_id"))
            self._emit(self.model.arrive(turn, n, bool(envelope.get("final")), now))
            self._arm_stop_timer()
        elif kind == "interrupt":
            turn = envelope.get("turn_id")
            self._emit(self.model.interrupt(None if turn is None else str(turn), now))
        elif kind == "ping":
            self._to_session(env.pong(int(envelope["id"]), now * 1e3, clock=MODELLED))
        elif kind == "end":
            self._ended.set()

    def update_state(self, changes: dict[str, Any]) -> None:
        """Called by the session when UI state changes; kept in :attr:`state`."""
        self.state.update(changes)

    def _to_session(self, envelope: dict[str, Any], buffers: Sequence[bytes] = ()) -> None:
        self.session.handle_frontend(envelope, list(buffers))

    def _say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)

    # ----------------------------------------------------------------- modelled playback
    def _emit(self, events: list[PlaybackEvent]) -> None:
        for ev in events:
            delay = ev.t - time.perf_counter()
            if delay > 0 and self._loop is not None:
                self._loop.call_later(delay, self._report, ev)
            else:
                self._report(ev)

    def _is_reply(self, turn_id: str) -> bool:
        """Did this agent turn start playing after the last utterance was spoken (= its reply)?"""
        start = self._started_at.get(turn_id)
        return start is not None and start >= self._st.last_utterance_end

    def _report(self, ev: PlaybackEvent) -> None:
        st = self._st
        if ev.event == "started":
            self._started_at[ev.turn_id] = ev.t
            st.agent_busy = True
            if self._is_reply(ev.turn_id):
                self._maybe_barge_in(ev.t)
        elif ev.event in ("stopped", "flushed"):
            st.agent_busy = self.model.playing(ev.t + 1e-6) is not None
            if ev.event == "stopped" or self._is_reply(ev.turn_id):
                # a reply that played out, or was cut; not the flush of the reply the user barged
                # into, which can land after the barge-in ended when the machine is slow
                st.last_agent_stop = ev.t
            if self._is_reply(ev.turn_id):
                self._schedule_after_reply(ev.t)
                self._say(f"  agent audio {ev.event} after {ev.samples / SAMPLE_RATE:.1f} s")
        self._to_session(
            env.playback(
                ev.event,
                ev.turn_id,
                ev.t * 1e3,
                ev.samples,
                dropped_samples=ev.dropped_samples if ev.event == "flushed" else None,
                output_latency_ms=self.model.output_latency_s * 1e3,
                target_ms=self.model.jitter_s * 1e3,  # the modelled playout is a fixed cushion
                clock=MODELLED,
            )
        )

    def _arm_stop_timer(self) -> None:
        due = self.model.next_stop_time()
        if due is None or self._loop is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(max(0.0, due - time.perf_counter()), self._fire_stops)

    def _fire_stops(self) -> None:
        self._timer = None
        for ev in self.model.due_stops(time.perf_counter()):
            self._report(ev)
        self._arm_stop_timer()

    # ----------------------------------------------------------------------- the script
    def _schedule_after_reply(self, t: float) -> None:
        st = self._st
        nxt = st.queue[0][1] if st.queue else None
        if st.speaking is None and nxt is not None and nxt.barge_in is None and nxt.pause is None:
            st.start_at = t + st.queue[0][1].think

    def _maybe_barge_in(self, t: float) -> None:
        st = self._st
        if (
            st.speaking is None
            and st.queue
            and st.queue[0][1].barge_in is not None
            and st.queue[0][1].pause is None
        ):
            st.start_at = t + float(st.queue[0][1].barge_in)

    def _next_frame(self, t_capture: float) -> bytes:
        """The mic frame whose first sample is captured at ``t_capture`` (perf_counter s)."""
        st = self._st
        if st.speaking is None and st.queue and st.start_at is not None and t_capture >= st.start_at:
            idx, u, pcm = st.queue.pop(0)
            st.speaking, st.pos, st.start_at = pcm, 0, None
            vb = voiced_bounds(pcm) or (0, len(pcm))
            self.spoken.append(
                SpokenUtterance(
                    idx,
                    u.text,
                    t_capture,
                    t_capture + vb[0] / SAMPLE_RATE,
                    t_capture + vb[1] / SAMPLE_RATE,
                    t_capture + len(pcm) / SAMPLE_RATE,
                    st.agent_busy,
                )
            )
            what = repr(u.text) if u.text else f"{len(pcm) / SAMPLE_RATE:.1f} s of audio"
            over = " (barging in)" if st.agent_busy else ""
            self._say(f"user {idx + 1}/{len(self.script)}: {what}{over}")
        if st.speaking is None:
            return bytes(FRAME * 2)
        frame = st.speaking[st.pos : st.pos + FRAME]
        st.pos += FRAME
        if st.pos >= len(st.speaking):
            st.speaking = None
            st.last_utterance_end = self.spoken[-1].end
            if st.queue:  # a reply should follow; if none does, go on after the timeout
                nxt = st.queue[0][1]
                wait = nxt.pause if nxt.pause is not None else self.reply_timeout
                st.start_at = self.spoken[-1].end + wait
        if len(frame) < FRAME:
            frame = np.concatenate([frame, np.zeros(FRAME - len(frame), np.int16)])
        return frame.astype("<i2").tobytes()

    def _finished(self) -> bool:
        """Script done, nothing playing, and the last reply (if any) has played."""
        st = self._st
        return not st.queue and st.speaking is None and not st.agent_busy

    def _replied(self) -> bool:
        """Did agent audio stop playing after the last utterance ended?"""
        if not self.spoken:
            return True
        stop = self._st.last_agent_stop
        return stop is not None and stop > self.spoken[-1].end

    async def run(self) -> list[SpokenUtterance]:
        """Run the whole scripted call in real time; returns what was spoken, with timing.

        Raises what ``session.start()`` raises (bad key, unreachable server…) before anything
        is streamed; a call that fails later ends early and shows in the log and
        ``session.status``/``session.error``."""
        self._loop = asyncio.get_running_loop()
        # a fresh run: each run() is a new call on the session (its own log, t from 0)
        self.model = PlaybackModel(jitter_s=self.model.jitter_s, output_latency_s=self.model.output_latency_s)
        self.spoken, self.state, self._started_at = [], {}, {}
        self._st = st = _State()
        self._ended = asyncio.Event()
        st.queue = [(i, u, load_utterance_audio(u)) for i, u in enumerate(self.script)]
        self.session.attach(self)
        self._to_session(
            env.ready(
                output_latency_ms=self.model.output_latency_s * 1e3,
                user_agent="vatel-nb headless scripted caller",
                processing=False,
                clock=MODELLED,
                headless=True,
            )
        )
        await self.session.start()
        meta = getattr(getattr(self.session, "log", None), "meta", None)
        if isinstance(meta, dict):
            meta["frontend"] = {
                "kind": "headless scripted caller",
                "modelled": "mic capture and playback times (clock=modelled)",
                "jitter_ms": self.model.jitter_s * 1e3,
                "script": [u.text for u in self.script],
            }
        self._say(f"connected ({getattr(self.session, 'backend', '?')}); {len(self.script)} utterance(s)")
        t_start = time.perf_counter()
        agent = meta.get("agent") if isinstance(meta, dict) else None
        greets = not isinstance(agent, dict) or bool(agent.get("first_message", True))
        st.start_at = t_start + (self.reply_timeout if self.wait_greeting and greets else 0.0)
        seq, idle_since, t_capture = 0, None, t_start
        try:
            while not self._ended.is_set():
                delay = t_capture + FRAME_S - time.perf_counter()  # the frame is complete
                if delay > 0:
                    await asyncio.sleep(delay)
                if self._ended.is_set():
                    break
                frame = self._next_frame(t_capture)
                self._to_session(env.mic(seq, t_capture * 1e3, FRAME, clock=MODELLED), [frame])
                seq += 1
                t_capture += FRAME_S
                now = time.perf_counter()
                if now - t_start > self.max_duration:
                    self._say(f"stopping: the call reached max_duration={self.max_duration:g} s")
                    break
                if self._finished():
                    idle_since = idle_since or now
                    wait = self.tail + (0.0 if self._replied() else self.reply_timeout)
                    if now - idle_since >= wait:
                        break
                else:
                    idle_since = None
        finally:
            if self._timer is not None:
                self._timer.cancel()
            await self.session.end("the scripted call is over")
        self._say("call ended")
        return self.spoken
