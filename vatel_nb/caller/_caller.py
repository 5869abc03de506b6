"""The headless scripted caller: a front-end with no browser.

It stands where the page stands — it speaks the widget envelope (``ready``, ``control``, ``mic``,
``playback``, ``pong``) to a :class:`~vatel_nb.session.VatelSession` — so a call driven by a
script produces the same event log and analysis as a call in the notebook widget.

Microphone frames are streamed in real time (20 ms, absolute schedule): the utterances of the
script where they fall, silence elsewhere, like a live mic. What the caller cannot observe —
when agent audio would have been heard — is modelled by :class:`PlaybackModel` from the audio
as it arrives, in real time, and reported with ``clock="modelled"``. All times are on the
kernel clock (``time.perf_counter()``); browser-clock fields carry that clock in ms.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..protocol import SAMPLE_RATE
from ._playback import PlaybackEvent, PlaybackModel
from ._script import Utterance, as_utterances, load_utterance_audio, voiced_bounds

__all__ = ["ScriptedCaller", "SpokenUtterance"]

FRAME = 480  # samples per 20 ms mic frame at 24 kHz
FRAME_S = FRAME / SAMPLE_RATE


@dataclass
class SpokenUtterance:
    """Ground truth of one utterance the caller spoke (kernel clock, s since the caller's t0
    is not used: these are absolute ``perf_counter`` seconds)."""

    index: int
    text: str | None
    start: float  # first sample sent (perf_counter s)
    voice_start: float  # first voiced sample
    voice_end: float  # last voiced sample
    end: float  # last sample sent
    barge_in: bool


@dataclass
class _State:
    queue: list[tuple[int, Utterance, np.ndarray]] = field(default_factory=list)
    speaking: np.ndarray | None = None
    pos: int = 0
    current: int = -1
    start_at: float | None = None  # perf_counter when the next utterance begins
    agent_busy: bool = False
    last_agent_stop: float | None = None
    agent_started_at: float | None = None


class ScriptedCaller:
    """Drive a :class:`~vatel_nb.session.VatelSession` from a script, with no browser.

    ``script``: utterances (``Utterance``, text, or .wav paths) spoken in order; each waits
    for the agent's reply to finish (plus ``think`` s) or barges in ``barge_in`` s after the
    reply starts. ``wait_greeting``: let the agent's first message play before speaking.
    ``reply_timeout``: seconds to wait for a reply before going on (that turn is "silent").
    ``tail``: seconds to keep the call open after the last reply. ``jitter_ms``: modelled
    playback cushion, like the widget's.
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
    ) -> None:
        self.session = session
        self.script = as_utterances(script)
        self.wait_greeting = wait_greeting
        self.reply_timeout = reply_timeout
        self.tail = tail
        self.model = PlaybackModel(jitter_s=jitter_ms / 1000.0)
        self.spoken: list[SpokenUtterance] = []
        self._st = _State()
        self._ended = asyncio.Event()
        self._ready_sent = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.state: dict[str, Any] = {}

    # ----------------------------------------------------------------- front-end interface
    def send(self, envelope: dict, buffers: Sequence[bytes] = ()) -> None:
        """Called by the session (on its loop) for every envelope meant for the page."""
        kind = envelope.get("kind")
        now = time.perf_counter()
        if kind == "audio":
            pcm = buffers[0] if buffers else b""
            evs = self.model.arrive(
                str(envelope.get("turn_id")), len(pcm) // 2, bool(envelope.get("final")), now
            )
            self._emit(evs)
            self._arm_stop_timer()
        elif kind == "interrupt":
            self._emit(self.model.interrupt(envelope.get("turn_id"), now))
        elif kind == "ping":
            self._to_session(
                {"kind": "pong", "id": envelope.get("id"), "t_browser": time.perf_counter() * 1e3}
            )
        elif kind == "end":
            self._ended.set()

    def update_state(self, changes: dict[str, Any]) -> None:
        """Called by the session when UI state changes (status, transcript, latency…); kept."""
        self.state.update(changes)

    def _to_session(self, envelope: dict, buffers: Sequence[bytes] = ()) -> None:
        envelope.setdefault("clock", "modelled")
        self.session.handle_frontend(envelope, list(buffers))

    def _emit(self, events: list[PlaybackEvent]) -> None:
        for ev in events:
            delay = ev.t - time.perf_counter()
            if delay > 0 and self._loop is not None:
                self._loop.call_later(delay, self._report, ev)
            else:
                self._report(ev)

    def _report(self, ev: PlaybackEvent) -> None:
        st = self._st
        if ev.event == "started":
            st.agent_busy = True
            st.agent_started_at = ev.t
            self._maybe_barge_in(ev.t)
        elif ev.event in ("stopped", "flushed"):
            st.agent_busy = self.model.playing(ev.t) is not None
            st.last_agent_stop = ev.t
            self._schedule_next_after_reply(ev.t)
        env = {
            "kind": "playback",
            "event": ev.event,
            "turn_id": ev.turn_id,
            "t_browser": ev.t * 1e3,
            "samples": ev.samples,
            "output_latency_ms": 0.0,
        }
        if ev.event == "flushed":
            env["dropped_samples"] = ev.dropped_samples
        self._to_session(env)

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
    def _schedule_next_after_reply(self, t: float) -> None:
        st = self._st
        if st.speaking is not None or not st.queue:
            return
        u = st.queue[0][1]
        if u.barge_in is None:
            st.start_at = t + u.think

    def _maybe_barge_in(self, t: float) -> None:
        st = self._st
        if st.speaking is not None or not st.queue:
            return
        u = st.queue[0][1]
        if u.barge_in is not None:
            st.start_at = t + u.barge_in

    def _next_frame(self, t_capture: float) -> bytes:
        st = self._st
        if st.speaking is None and st.queue and st.start_at is not None and t_capture >= st.start_at:
            idx, u, pcm = st.queue.pop(0)
            st.speaking, st.pos, st.current, st.start_at = pcm, 0, idx, None
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
        if st.speaking is None:
            return bytes(FRAME * 2)
        frame = st.speaking[st.pos : st.pos + FRAME]
        st.pos += FRAME
        if st.pos >= len(st.speaking):
            st.speaking = None
            # a reply should follow; if none does, go on after the timeout
            if st.queue:
                st.start_at = t_capture + FRAME_S + self.reply_timeout
        if len(frame) < FRAME:
            frame = np.concatenate([frame, np.zeros(FRAME - len(frame), np.int16)])
        return frame.astype("<i2").tobytes()

    def _done(self) -> bool:
        st = self._st
        return not st.queue and st.speaking is None

    async def run(self) -> list[SpokenUtterance]:
        """Run the whole scripted call in real time; returns what was spoken, with timing."""
        self._loop = asyncio.get_running_loop()
        st = self._st
        st.queue = [(i, u, load_utterance_audio(u)) for i, u in enumerate(self.script)]
        self.session.attach(self)
        self._to_session(
            {
                "kind": "ready",
                "sample_rate": SAMPLE_RATE,
                "context_rate": SAMPLE_RATE,
                "base_latency_ms": 0.0,
                "output_latency_ms": 0.0,
                "user_agent": "vatel-nb headless caller",
                "processing": False,
            }
        )
        self._to_session({"kind": "control", "action": "start"})
        t_start = time.perf_counter()
        if not self.wait_greeting:
            st.start_at = t_start
        else:
            st.start_at = t_start + self.reply_timeout  # if no greeting comes, speak anyway
        seq = 0
        finished_at: float | None = None
        next_t = t_start
        while not self._ended.is_set():
            frame = self._next_frame(next_t)
            self._to_session(
                {"kind": "mic", "seq": seq, "t_browser": next_t * 1e3, "samples": FRAME}, [frame]
            )
            seq += 1
            next_t += FRAME_S
            if self._done() and not st.agent_busy:
                finished_at = finished_at or time.perf_counter()
                if time.perf_counter() - finished_at >= self.tail + (
                    self.reply_timeout if not self._replied() else 0
                ):
                    break
            else:
                finished_at = None
            delay = next_t - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        self._to_session({"kind": "control", "action": "end"})
        return self.spoken

    def _replied(self) -> bool:
        """Did the agent play something after the last utterance ended?"""
        if not self.spoken:
            return True
        last = self.spoken[-1]
        return self._st.last_agent_stop is not None and self._st.last_agent_stop > last.end
