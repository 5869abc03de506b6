"""The agent's side of a session: reply function, tool round trips, text and paced audio.

Mixed into :class:`._conversation.Session`. Audio pacing: a response's chunk at sample offset
``o`` is scheduled at ``t_audio0 + profile.offset_s(o / 24000, audio_burst)`` — real time minus
``audio_burst`` under the ``spec`` profile, bursts faster than real time under ``vendor`` (see
:mod:`._profiles`) — where ``t_audio0`` = first ``response_text`` + ``audio_first_byte``, or
when synthesis finished if later (an absolute schedule: sleeping late once never shifts later
chunks), plus that chunk's ``jitter`` (never reordering). Chunk sizes come from the profile too.
The agent's real-time playout clock (``play_until``) advances by each chunk's duration from
max(its send time, the previous end); user speech starting before ``play_until`` — or while
the response is still being produced — interrupts the turn: ``interruption`` is sent and no
further audio of that turn is.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocol import SAMPLE_RATE, Interruption, ResponseAudio, ResponseText, ToolArgument, ToolCall
from ._agents import Reply, ToolRequest
from ._truth import AudioChunk, ToolTruth, TurnTruth
from ._voice import leading_silence

if TYPE_CHECKING:
    from ._conversation import Session

__all__ = ["Responder"]

log = logging.getLogger("vatel_nb.simulator")


@dataclass
class _Active:
    turn: TurnTruth
    task: asyncio.Task
    emitted: bool = False  # something of this turn (text, tool call, audio) reached the client


async def _sleep_until(t: float) -> None:
    delay = t - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)


def _data_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array"}.get(type(value), "string")


class Responder:
    def __init__(self: Session) -> None:
        self.history: list[dict[str, Any]] = []
        self._active: _Active | None = None
        self._play_until = 0.0  # perf_counter when the agent's sent audio has finished playing
        self._tool_waits: dict[str, tuple[asyncio.Future, ToolTruth]] = {}
        # mixed chunk sizes, reproducible per session (or across runs, with the simulator's seed)
        seed = self.config.seed
        self._chunk_rng = random.Random(self.id if seed is None else seed)

    def responding(self: Session, now: float) -> bool:
        """True while a response is being produced or its audio is still playing (agent clock)."""
        return (self._active is not None and not self._active.task.done()) or now < self._play_until

    def start_response(
        self: Session,
        turn: TurnTruth,
        *,
        greeting: str | None = None,
        transcript: str = "",
        t_ref: float = 0.0,
    ) -> None:
        self.truth.turns.append(turn)
        if self._active is not None and not self._active.task.done():
            self._active.task.cancel()
            self._active.turn.outcome = "cancelled"
        task = self.spawn(self._respond(turn, greeting, transcript, t_ref))
        self._active = _Active(turn, task)

    def finish_turns(self: Session) -> None:
        for turn in self.truth.turns:
            if turn.outcome == "pending":
                turn.outcome = "unfinished"

    async def barge_in(self: Session, t: float) -> None:
        """User speech started at ``t``: interrupt (or silently cancel) the agent's current turn."""
        active, now = self._active, time.perf_counter()
        if active is None or (active.task.done() and now >= self._play_until):
            return
        self._active = None
        turn = active.turn
        active.task.cancel()
        if not (active.emitted or now < self._play_until):
            turn.outcome = "cancelled"
            return
        turn.interrupted, turn.outcome = True, "interrupted"
        unplayed = max(0, round((self._play_until - now) * SAMPLE_RATE))
        turn.samples_played = max(0, turn.samples_sent - unplayed)
        self._play_until = min(self._play_until, now)
        turn.t_interruption = await self.send(Interruption(), turn_id=turn.turn_id) or now
        self.record.add_entry("interruption", turn.t_interruption, turnId=turn.turn_id)
        for row in reversed(self.history):
            if row.get("role") == "assistant" and row.get("turn_id") == turn.turn_id:
                row["interrupted"] = True
                break

    def _delay(self: Session, turn: TurnTruth, stage: str) -> float:
        value = self.latency.sample(stage)
        turn.delays.setdefault(stage, value)
        return value

    async def _respond(
        self: Session, turn: TurnTruth, greeting: str | None, transcript: str, t_ref: float
    ) -> None:
        try:
            if greeting is not None:
                await self._speak(turn, greeting, time.perf_counter())
            else:
                self.history.append({"role": "user", "text": transcript, "turn_id": turn.turn_id})
                for _round in range(4):
                    reply = await self._call_reply(transcript)
                    if reply is None:
                        break
                    t_text = t_ref + self._delay(turn, "text")
                    waits = []
                    if reply.tool_calls:
                        await _sleep_until(t_text)
                        waits = [await self._send_tool_call(turn, req) for req in reply.tool_calls]
                    if reply.text:
                        await self._speak(turn, reply.text, t_text)
                    if waits:
                        await self._await_tools(turn, waits)
                        t_ref = time.perf_counter()
                    if reply.end_call:
                        await _sleep_until(self._play_until)
                        turn.outcome = "responded" if turn.samples_sent else "silent"
                        await self.end("ended_by_agent", 1000, "the agent ended the call")
                        return
                    if not waits:
                        break
            turn.outcome = "responded" if turn.samples_sent else "silent"
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("session %s: response to turn %s failed", self.id, turn.turn_id)
            turn.outcome = "error"

    async def _call_reply(self: Session, transcript: str) -> Reply | None:
        try:
            out = self.agent.reply(transcript, list(self.history))
            if inspect.isawaitable(out):
                out = await out
        except Exception:
            log.exception("session %s: the agent's reply function raised", self.id)
            return None
        if out is None or isinstance(out, Reply):
            return out
        if isinstance(out, str):
            return Reply(out)
        log.error("session %s: reply function returned %r; expected Reply, str or None", self.id, out)
        return None

    async def _send_tool_call(
        self: Session, turn: TurnTruth, req: ToolRequest
    ) -> tuple[asyncio.Future, ToolTruth]:
        call_id = f"call_{uuid.uuid4().hex[:16]}"
        tool = self.agent.tool(req.name)
        args = tuple(
            ToolArgument(
                name,
                value,
                kind="resolved",
                data_type=_data_type(value),
                description=tool.parameters.get(name) if tool is not None else None,
                required=True,
            )
            for name, value in req.arguments.items()
        )
        tt = ToolTruth(call_id, req.name, dict(req.arguments), time.perf_counter())
        turn.tools.append(tt)
        fut = asyncio.get_running_loop().create_future()
        self._tool_waits[call_id] = (fut, tt)
        msg = ToolCall(call_id, req.name, args)
        tt.t_sent = await self.send(msg, turn_id=turn.turn_id, text=req.name) or tt.t_sent
        if self._active is not None and self._active.turn is turn:
            self._active.emitted = True
        call = {
            "itemId": call_id,
            "callId": call_id,
            "toolName": req.name,
            "arguments": json.dumps(req.arguments),
        }
        call["startedAt"] = self.record.wall(tt.t_sent)
        self.record.add_entry("tool_call", tt.t_sent, toolCall=call, turnId=turn.turn_id)
        return fut, tt

    def on_tool_output(self: Session, call_id: str, output: str) -> None:
        wait = self._tool_waits.pop(call_id, None)
        if wait is None:
            self.client_error(f"tool_call_output for unknown or expired toolCallId {call_id!r}; ignored")
            return
        fut, tt = wait
        tt.t_output, tt.output = time.perf_counter(), output
        if not fut.done():
            fut.set_result(output)

    async def _await_tools(
        self: Session, turn: TurnTruth, waits: list[tuple[asyncio.Future, ToolTruth]]
    ) -> None:
        for fut, tt in waits:
            try:
                await asyncio.wait_for(
                    asyncio.shield(fut), max(0.0, tt.t_sent + self.tool_timeout - time.perf_counter())
                )
            except asyncio.TimeoutError:
                self._tool_waits.pop(tt.tool_call_id, None)
                tt.timed_out = True
            t_out = tt.t_output or time.perf_counter()
            note = tt.output if not tt.timed_out else f"tool timed out after {self.tool_timeout:g} s"
            call = {"itemId": tt.tool_call_id, "callId": tt.tool_call_id, "toolName": tt.name}
            call.update(
                arguments=json.dumps(tt.arguments), output=note or "", endedAt=self.record.wall(t_out)
            )
            self.record.add_entry(
                "tool_call_output", t_out, toolCall=call, toolCallOutput=note, turnId=turn.turn_id
            )
            row = {"role": "tool", "tool_call_id": tt.tool_call_id, "name": tt.name}
            row.update(arguments=dict(tt.arguments), output=tt.output, timed_out=tt.timed_out)
            self.history.append({**row, "turn_id": turn.turn_id})

    async def _stream_text(self: Session, turn: TurnTruth, words: list[str]) -> None:
        """Word-by-word ``response_text`` partials (cumulative), then the final text."""
        for i in range(2, len(words) + 1):
            await asyncio.sleep(self.config.text_word_interval)
            text, final = " ".join(words[:i]), i == len(words)
            msg = ResponseText(turn.turn_id, text, final)
            await self.send(msg, turn_id=turn.turn_id, is_final=final, text=text)

    async def _speak(self: Session, turn: TurnTruth, text: str, t_text: float) -> None:
        synth = asyncio.ensure_future(self.config.voice.synthesize_async(text))
        text_task: asyncio.Task | None = None
        sent_before, t_first_audio = turn.samples_sent, None
        turn.text = f"{turn.text} {text}".strip()
        try:
            await _sleep_until(t_text)
            afb = self._delay(turn, "audio_first_byte")
            words = text.split() or [text]
            first = words[0] if len(words) > 1 else text
            msg = ResponseText(turn.turn_id, first, len(words) == 1)
            t_first = await self.send(msg, turn_id=turn.turn_id, is_final=msg.is_final, text=first)
            t_first = t_first or time.perf_counter()
            turn.t_first_text = turn.t_first_text or t_first
            if self._active is not None and self._active.turn is turn:
                self._active.emitted = True
            if len(words) > 1:
                text_task = self.spawn(self._stream_text(turn, words))
            pcm = await synth
            turn.samples_meant += pcm.size
            if turn.leading_silence_samples is None:
                turn.leading_silence_samples = leading_silence(pcm)
            # the schedule starts when the audio exists: never before first text + audio_first_byte
            t_audio0, burst = max(t_first + afb, time.perf_counter()), self.latency.audio_burst
            profile = self.config.profile
            prev, off = 0.0, 0
            for size in profile.chunk_sizes(pcm.size, self.config.chunk_ms, self._chunk_rng):
                part = pcm[off : off + size]
                scheduled = t_audio0 + profile.offset_s(off / SAMPLE_RATE, burst)
                jitter = self.latency.sample("jitter")
                prev = max(scheduled + jitter, prev)
                await _sleep_until(prev)
                final = off + size >= pcm.size
                msg = ResponseAudio.from_pcm(turn.turn_id, part.astype("<i2", copy=False).tobytes(), final)
                t = await self.send(msg, turn_id=turn.turn_id, samples=int(part.size), is_final=final)
                if t is None:
                    return
                turn.chunks.append(AudioChunk(off, int(part.size), scheduled, jitter, t))
                off += size
                turn.samples_sent += part.size
                turn.t_first_audio = turn.t_first_audio or t
                turn.t_last_audio = t
                t_first_audio = t_first_audio or t
                self._play_until = max(self._play_until, t) + part.size / SAMPLE_RATE
                self.record.add_agent_audio(t, part)
            if text_task is not None:
                await text_task
        finally:
            if text_task is not None and not text_task.done():
                text_task.cancel()
            synth.cancel()
            sent = turn.samples_sent - sent_before
            if t_first_audio is not None:
                dur_ms = round(sent * 1000 / SAMPLE_RATE)
                fields = {"role": "assistant", "message": text, "durationMs": dur_ms, "turnId": turn.turn_id}
                self.record.add_entry("message", t_first_audio, **fields)
                self.history.append({"role": "assistant", "text": text, "turn_id": turn.turn_id,
                                     "interrupted": turn.interrupted})  # fmt: skip
