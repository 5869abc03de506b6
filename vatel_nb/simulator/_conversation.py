"""One voice session: input audio → VAD → transcripts → reply → tools → text → paced audio.

A :class:`Session` owns one accepted WebSocket. Its receive loop decodes ``input_audio``
(base64 PCM16 24 kHz), feeds the VAD, and sends ``speech_started`` / ``speech_stopped`` /
``input_audio_transcript``; each finished speech segment becomes a user turn answered by the
agent's reply function (:mod:`._responder`). Bad client frames (invalid JSON, unknown types,
invalid base64, odd byte counts, unknown tool call ids) are logged, recorded in the ground truth
(``client_errors``) and survived. Everything sent and detected goes into :class:`SessionTruth`
and the :class:`CallRecord`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import contextlib
import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._speech_model import speech_model
from .._vad import Vad, VadEvent, db
from ..protocol import (
    SAMPLE_RATE,
    InputAudio,
    InputAudioTranscript,
    InvalidMessage,
    ServerMessage,
    SessionEnded,
    SessionStarted,
    SpeechStarted,
    SpeechStopped,
    ToolCallOutput,
    parse_client_message,
)
from ._agents import AgentSpec
from ._asr import make_recognizer_factory
from ._latency import Latency
from ._listen import PREROLL_SAMPLES, Listener
from ._profiles import PROFILES, WireProfile
from ._recognizer import Recognizer, RecognizerFactory, ScriptedRecognizer
from ._records import CallRecord, utc_iso
from ._responder import Responder
from ._truth import SentMessage, SessionTruth, SpeechSegment, TurnTruth
from ._voice import Voice

__all__ = ["Session", "SessionConfig"]

log = logging.getLogger("vatel_nb.simulator")


@dataclass
class SessionConfig:
    """Simulator-wide settings a session needs (seconds unless noted)."""

    voice: Voice
    asr: str | RecognizerFactory = "auto"
    idle_timeout: float = 120.0
    tool_timeout: float = 10.0
    chunk_ms: int = 20
    vad_threshold: float = 0.01
    partial_interval: float = 0.4
    text_word_interval: float = 0.03
    profile: WireProfile = PROFILES["vendor"]
    #: Seeds every session's random chunk sizes (None: each session's id seeds its own).
    seed: int | None = None


class Session(Responder):
    """A live session on ``ws`` (a Starlette WebSocket, not yet accepted)."""

    def __init__(
        self, ws: Any, agent: AgentSpec, params: dict[str, Any], config: SessionConfig, latency: Latency
    ) -> None:
        self.ws = ws
        self.agent = agent
        self.config = config
        self.latency = latency
        self.id = str(uuid.uuid4())
        self.t0 = time.perf_counter()
        wall0 = dt.datetime.now(dt.timezone.utc)
        self.asr_source, self.recognizer = _recognizer(config.asr, agent)
        vad = agent.vad_settings
        self.listener = Listener(
            self.recognizer, self._send_partial, config.partial_interval, vad["stop_secs"]
        )
        self.vad = Vad(
            vad["start_secs"], vad["stop_secs"], threshold_db=db(config.vad_threshold),
            model=speech_model(agent.vad_model),
        )  # fmt: skip
        self.truth = SessionTruth(
            self.id, agent.id, self.t0, utc_iso(wall0), self.asr_source, config.voice.kind, dict(vad)
        )
        self.record = CallRecord(self.id, agent.id, self.t0, wall0)
        first = params.get("first_message")
        self.first_message = agent.first_message if first is None else first
        self.prompt = params.get("prompt") or agent.prompt
        self.idle_timeout = agent.idle_timeout if agent.idle_timeout is not None else config.idle_timeout
        self.tool_timeout = agent.tool_timeout if agent.tool_timeout is not None else config.tool_timeout
        self.closed = False
        self.ended = asyncio.Event()
        self._ending = False
        self._tasks: set[asyncio.Task] = set()
        self._input: list[tuple[int, np.ndarray]] = []  # (start sample, pcm) of the input stream
        self._input_starts: list[int] = []
        self._in_samples = 0
        self._last_audio_t = self.t0
        self._last_activity = self.t0
        self._seg: SpeechSegment | None = None  # segment in progress (speech_started sent)
        self._seg_first = 0  # its first sample given to the recognizer (pre-roll included)
        self._pending_stop: tuple[SpeechSegment, asyncio.Event] | None = None
        self._carry = ""  # words of a turn left unanswered because the user went on talking
        Responder.__init__(self)

    # ------------------------------------------------------------------ plumbing

    def spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("session %s: task failed", self.id, exc_info=task.exception())

    async def send(self, message: ServerMessage, **truth: Any) -> float | None:
        """Send one message (built with :mod:`vatel_nb.protocol`, encoded by the wire profile);
        returns its perf_counter send time (None when the socket is gone)."""
        if self.closed:
            return None
        text = self.config.profile.encode(message)
        t = time.perf_counter()
        self.truth.messages.append(SentMessage(message.type, t, **truth))
        try:
            await self.ws.send_text(text)
        except Exception as e:  # the client went away
            log.debug("session %s: send failed: %s", self.id, e)
            self.closed = True
            return None
        return t

    def client_error(self, error: str, raw: Any = None) -> None:
        text = raw if isinstance(raw, str) else repr(raw)
        log.warning("session %s: bad client message: %s", self.id, error)
        self.truth.client_errors.append({"t": time.perf_counter(), "error": error, "raw": (text or "")[:200]})

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Accept, greet, and serve until the client closes or the session ends."""
        await self.ws.accept()
        self.record.status = "in_progress"
        self.record.started_at = self.record.created_at
        await self.send(SessionStarted(self.id))
        self.spawn(self._watchdog())
        if self.first_message:
            self.start_response(TurnTruth(str(uuid.uuid4()), "greeting"), greeting=self.first_message)
        code = None
        try:
            while not self.closed:
                msg = await self.ws.receive()
                if msg["type"] == "websocket.disconnect":
                    code = msg.get("code")
                    break
                raw = msg.get("text") if msg.get("text") is not None else msg.get("bytes")
                await self.on_client_message(raw)
        except Exception as e:
            log.debug("session %s: receive ended: %s", self.id, e)
        finally:
            self.closed = True
            if code == 1009:
                self.client_error("message too big: frames are limited to 1 MiB (close code 1009)")
            self._finish("ended_by_user")

    async def end(self, reason: str, code: int = 1000, close_reason: str = "") -> None:
        """End from the server side: ``session_ended``, then close the socket with ``code``."""
        if self._ending:
            return
        self._ending = True
        self._cancel_tasks()
        await self.send(SessionEnded())
        self._finish(reason)
        self.closed = True
        with contextlib.suppress(Exception):
            await self.ws.close(code, close_reason or reason)

    def _cancel_tasks(self) -> None:
        me = asyncio.current_task()
        for task in list(self._tasks):
            if task is not me:
                task.cancel()

    def _finish(self, reason: str) -> None:
        self._ending = True
        self._cancel_tasks()
        self.listener.close()
        if self.truth.t_end is None:
            now = time.perf_counter()
            self.truth.t_end, self.truth.end_reason = now, reason
            self.record.end(now, reason)
            self.finish_turns()
        self.ended.set()

    async def _watchdog(self) -> None:
        """Every 100 ms: force a stop when input stalls mid-speech; end the call when idle."""
        stall = self.vad.stop_frames * 0.01 + 0.25
        while not self.closed:
            await asyncio.sleep(0.1)
            now = time.perf_counter()
            if self.vad.speaking and now - self._last_audio_t > stall:
                ev = self.vad.force_stop()
                if ev is not None:
                    await self._on_vad(ev, now, forced=True)
            busy = self.vad.speaking or self.responding(now) or self._pending_stop is not None
            if busy:
                self._last_activity = now
            elif now - self._last_activity > self.idle_timeout:
                await self.end("idle_timeout", 1000, f"no user speech for {self.idle_timeout:g} s")
                return

    # ------------------------------------------------------------------ input

    async def on_client_message(self, raw: Any) -> None:
        msg = parse_client_message(raw)
        if isinstance(msg, InvalidMessage):
            self.client_error(msg.error, msg.raw)
        elif isinstance(msg, InputAudio):
            try:
                pcm = base64.b64decode(msg.audio, validate=True)
            except (binascii.Error, ValueError) as e:
                self.client_error(f"input_audio: invalid base64 ({e}); chunk dropped", msg.audio)
                return
            if len(pcm) % 2:
                self.client_error(
                    f"input_audio: {len(pcm)} bytes is not a whole number of PCM16 samples; last byte dropped"
                )
                pcm = pcm[:-1]
            if pcm:
                await self.on_audio(time.perf_counter(), np.frombuffer(pcm, dtype="<i2"))
        elif isinstance(msg, ToolCallOutput):
            self.on_tool_output(msg.tool_call_id, msg.output)

    def _arrival(self, position: int) -> float:
        """perf_counter when the input chunk holding sample ``position`` arrived."""
        for t, start, n in reversed(self.truth.input_chunks):
            if start <= position < start + n or (start <= position and n == 0):
                return t
            if start < position:
                break
        return self.truth.input_chunks[-1][0] if self.truth.input_chunks else self.t0

    def segment_audio(self, start: int, end: int) -> np.ndarray:
        """The user's input samples ``[start, end)``."""
        i = max(0, bisect.bisect_right(self._input_starts, start) - 1)
        parts, first = [], None
        for s, pcm in self._input[i:]:
            if s >= end:
                break
            if s + pcm.size > start:
                first = s if first is None else first
                parts.append(pcm)
        if first is None:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(parts)[start - first : end - first]

    async def on_audio(self, t: float, pcm: np.ndarray) -> None:
        self.truth.input_chunks.append((t, self._in_samples, int(pcm.size)))
        self.record.add_user_audio(t, pcm)
        self._input.append((self._in_samples, pcm))
        self._input_starts.append(self._in_samples)
        self._in_samples += pcm.size
        self._last_audio_t = t
        if self._seg is not None:
            self.listener.audio(pcm)  # before the VAD: a stop decided in this chunk ends after it
        for ev in self.vad.feed(pcm):
            await self._on_vad(ev, t)
        if self._seg is not None:
            self.listener.pause(self.vad.pause)

    async def _send_partial(self, seg: SpeechSegment, text: str) -> None:
        if seg.transcript is None and not self.closed:
            msg = InputAudioTranscript(text, False, seg.turn_id)
            await self.send(msg, turn_id=seg.turn_id, is_final=False, text=text)

    async def _on_vad(self, ev: VadEvent, t: float, forced: bool = False) -> None:
        if ev.kind == "start":
            if self._pending_stop is not None:  # the previous segment's speech_stopped is still due
                self._pending_stop[1].set()
                await self._send_stopped(self._pending_stop[0])
            seg = SpeechSegment(
                index=len(self.truth.segments),
                start_sample=ev.position,
                start_audio_s=ev.position / SAMPLE_RATE,
                start_t=self._arrival(ev.position),
                start_wall="",
                turn_id=str(uuid.uuid4()),
            )
            seg.start_wall = self.truth.wall(seg.start_t)
            self.truth.segments.append(seg)
            self._seg = seg
            self._seg_first = max(0, ev.position - PREROLL_SAMPLES)
            self.listener.begin(seg, self.segment_audio(self._seg_first, self._in_samples), self._seg_first)
            seg.started_sent_t = await self.send(SpeechStarted(False))
            await self.barge_in(seg.started_sent_t or t)
        elif self._seg is not None:
            seg, self._seg = self._seg, None
            seg.end_sample, seg.end_audio_s = ev.position, ev.position / SAMPLE_RATE
            seg.end_t = self._arrival(max(ev.position - 1, 0))
            seg.end_wall = self.truth.wall(seg.end_t)
            seg.stop_decided_t, seg.forced = t, forced
            seg.endpointing = self.latency.sample("endpointing")
            release = asyncio.Event()
            self._pending_stop = (seg, release)
            self.spawn(self._finish_segment(seg, release, self.listener.end(ev.position)))

    async def _send_stopped(self, seg: SpeechSegment) -> None:
        """Send ``speech_stopped`` for ``seg`` once (early, and ``forced``, when new speech starts first)."""
        if self._pending_stop is not None and self._pending_stop[0] is seg:
            self._pending_stop = None
        if seg.stopped_sent_t is None:
            now = time.perf_counter()
            if seg.stop_decided_t is not None and now < seg.stop_decided_t + (seg.endpointing or 0) - 0.001:
                seg.forced = True
            seg.stopped_sent_t = now  # claimed before awaiting: sent once even if called twice
            seg.stopped_sent_t = await self.send(SpeechStopped()) or now

    async def _finish_segment(
        self, seg: SpeechSegment, release: asyncio.Event, heard: asyncio.Future
    ) -> None:
        """Endpointing delay → speech_stopped → transcription (delay ∥ recognition) → final → reply.

        The reply waits if the user is speaking again by then (unless the agent's
        ``talk_over_user`` is set): the words are answered together with the next segment's."""
        assert seg.stop_decided_t is not None and seg.end_sample is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(
                release.wait(), seg.stop_decided_t + (seg.endpointing or 0) - time.perf_counter()
            )
        await self._send_stopped(seg)
        t_stop = seg.stopped_sent_t or time.perf_counter()
        seg.transcription = self.latency.sample("transcription")
        try:
            text = await heard
        except Exception as e:  # a plugged-in recognizer failed: say so, keep the session
            log.error("session %s: recognizer failed: %s", self.id, e, exc_info=e)
            self.client_error(f"recognizer failed on segment {seg.index}: {e!r}")
            text = ""
        delay = t_stop + seg.transcription - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        seg.transcript = text
        msg = InputAudioTranscript(text, True, seg.turn_id)
        seg.transcript_t = await self.send(msg, turn_id=seg.turn_id, is_final=True, text=text)
        t_final = seg.transcript_t or time.perf_counter()
        dur_ms = round((seg.end_sample - seg.start_sample) * 1000 / SAMPLE_RATE)
        self.record.add_entry(
            "message", seg.start_t, role="user", message=text, durationMs=dur_ms, turnId=seg.turn_id
        )
        self._last_activity = time.perf_counter()
        if self._carry:
            text, self._carry = f"{self._carry} {text}".strip(), ""
        if self._seg is not None and not self.agent.talk_over_user:
            self._carry = text  # the user goes on talking: answer when they are done
            return
        turn = TurnTruth(seg.turn_id or str(uuid.uuid4()), "reply", seg.index, text)
        turn.delays.update(endpointing=seg.endpointing or 0.0, transcription=seg.transcription)
        turn.t_final_transcript = t_final
        self.start_response(turn, transcript=text, t_ref=t_final)


def _recognizer(asr: str | RecognizerFactory, agent: AgentSpec) -> tuple[str, Recognizer]:
    """The session's ``(source name, recognizer)``: the agent's phrases constrain it; an agent
    with a script gets scripted transcripts when ``asr`` is "scripted" (or "auto" without
    pocketsphinx)."""
    source, factory = make_recognizer_factory(asr)
    if source == "placeholder" and asr == "auto" and agent.script:
        source, factory = "scripted", lambda phrases: ScriptedRecognizer()
    rec = factory(list(agent.phrases) if agent.phrases else None)
    if isinstance(rec, ScriptedRecognizer):
        rec.script = list(agent.script or [])
    elif not isinstance(rec, Recognizer):
        raise TypeError(f"the asr factory must return a vatel_nb.simulator.Recognizer, got {rec!r}")
    return source, rec
