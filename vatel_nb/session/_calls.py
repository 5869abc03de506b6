"""The live call of a :class:`~vatel_nb.session.VatelSession`: connect, receive, send, tools, end.

All of it runs as tasks on the session's loop. Rows appended here (``docs/architecture.md``):
``local/connecting|agent|connected|closed|error|tool-started|tool-finished|dropped`` and, via the
log's recorders, every ``server/*`` message (arrival time = when the socket reader read the
frame, kernel clock) and every ``client/*`` message sent.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ..client import AsyncVatel, VatelConnection, connect
from ..log import record_client_message, record_server_message
from ..protocol import InputAudio, ToolCall, ToolCallOutput
from ..widget import _messages as env
from ._backend import resolve_backend

__all__ = ["CallMixin"]

#: Transcript entries the widget's ``transcript`` trait carries (the most recent ones): each update
#: re-sends the trait, so a bounded tail keeps a call with thousands of turns linear in time.
#: ``session.transcript`` keeps every entry.
TRANSCRIPT_TRAIT_ENTRIES = 200

#: ``LatencyReading.kind`` → the widget's ``last_latency_kind`` text.
_LATENCY_KINDS = {"v2v": "heard voice-to-voice", "server_e2e": "server e2e (speech_stopped → first audio)"}


class CallMixin:
    """Call lifecycle methods of VatelSession (state lives on the session)."""

    log: Any
    _state: dict[str, Any]
    _timeouts: dict[str, Any]

    def _init_call_state(self) -> None:
        self._start_task: asyncio.Task[None] | None = None
        self._client: AsyncVatel | None = None
        self._conn: VatelConnection | None = None
        self._token: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recv_task: asyncio.Task[None] | None = None
        self._send_task: asyncio.Task[None] | None = None
        self._mic_q: asyncio.Queue[tuple[int | None, float | None, bytes]] | None = None
        self._ended = asyncio.Event()
        self._finished = False
        self._audio_seq = 0
        self._mic_sent = 0
        self._mic_dropped = 0
        self._mic_high_water = 0
        self._late_chunks = 0
        self._turns_seen: set[str | None] = set()
        self._server_ended = False
        self._latency_failed = False
        # live latency: rows are only scanned back to the last speech_stopped, once per stop for
        # the server e2e reading and until a v2v reading for it (linear in the call's length)
        self._stop_row: int | None = None
        self._e2e_row: int | None = None
        self._v2v_row: int | None = None
        self._transcript: list[dict[str, Any]] = []
        self._open_entries: dict[str, list[int]] = {"user": [], "agent": []}

    # ------------------------------------------------------------------ start

    async def _run_start(self) -> None:
        log = self.log
        if self._finished:
            msg = "this call has ended; create a new VatelSession() for another call"
            self._set_state(error=msg)
            raise RuntimeError(msg)
        self._set_state(status="connecting", error="")
        # frames captured while connecting wait here (bounded) and go out once the socket is open
        self._mic_q = asyncio.Queue(maxsize=self._mic_capacity)
        simulated = self._simulated
        log.append(
            "local",
            "connecting",
            text="using the embedded simulator (no VATEL_API_KEY / VATEL_BASE_URL set)"
            if simulated
            else None,
            detail={"backend": self._state["backend"]},
        )
        try:
            backend = self._backend
            if backend is None:
                loop = asyncio.get_running_loop()
                backend = await loop.run_in_executor(None, resolve_backend, *self._args)
                self._backend = backend
                if self._verbose:
                    print(
                        f"vatel_nb: no VATEL_API_KEY / VATEL_BASE_URL set: using the embedded simulator "
                        f"at {backend.base_url} and its demo agent"
                    )
            if backend.api_key:
                self._secrets.add(backend.api_key)
            tmo = self._timeouts
            client = AsyncVatel(api_key=backend.api_key, base_url=backend.base_url, timeout=tmo["timeout"])
            self._client = client
            agent = await client.agents.get(backend.agent_id)
            vad = agent.vad_settings
            info = {
                "agent_id": backend.agent_id,
                "vad_settings": {
                    "start_secs": vad.start_secs if vad else None,
                    "stop_secs": vad.stop_secs if vad else None,
                },
                "first_message": self._token_options["first_message"] or agent.first_message,
            }
            log.append("local", "agent", detail=info)
            log.meta["agent"] = dict(info, name=agent.name)
            log.meta["backend"] = self._state["backend"]
            self._set_state(agent_name=agent.name or "")
            opts = {k: v for k, v in self._token_options.items() if v is not None}
            token = (await client.session_token(backend.agent_id, **opts)).token
            self._token = token
            self._secrets.add(token)
            self._conn = conn = await connect(
                token,
                base_url=backend.base_url,
                open_timeout=tmo["open_timeout"],
                ping_interval=tmo["ping_interval"],
                ping_timeout=tmo["ping_timeout"],
            )
            log.append("local", "connected", detail={"url": conn.url})
        except asyncio.CancelledError:
            await self._finish("the call was cancelled while connecting", clean=True)
            raise
        except Exception as e:
            await self._fail(e)
            raise
        self._recv_task = self._spawn(self._receive(conn), "vatel-session-receive")
        self._send_task = self._spawn(self._send_mic(conn), "vatel-session-send")
        self._start_autosave()
        self._set_state(status="live")

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ receive

    async def _receive(self, conn: VatelConnection) -> None:
        log, t0 = self.log, self.log.t0
        try:
            async for t_abs, msg in conn.timed():
                t = t_abs - t0
                pcm = msg.pcm() if msg.type == "response_audio" else None
                record_server_message(log, msg, t, pcm=pcm)  # audio → log.agent_audio too
                self._on_server(msg, t, pcm)
                if msg.type == "session_ended":
                    self._server_ended = True
                    break
        except asyncio.CancelledError:
            raise
        except Exception as e:
            await self._fail(e)
            return
        reason = "the agent ended the call" if self._server_ended else "the server closed the connection"
        await self._finish(reason, clean=True)

    def _on_server(self, msg: Any, t: float, pcm: bytes | None) -> None:
        kind = msg.type
        if kind == "response_audio":
            assert pcm is not None
            self._on_agent_audio(msg, t, pcm)
        elif kind == "interruption":
            turn = self.log.agent_audio.interrupt(t)  # already marked by the recorder: returns that turn
            self._to_frontend(env.interrupt(turn))
        elif kind == "response_text":
            self._update_transcript("agent", msg.text, msg.is_final, msg.turn_id)
        elif kind == "input_audio_transcript":
            self._update_transcript("user", msg.transcript, msg.is_final, msg.turn_id)
        elif kind == "speech_stopped":
            self._stop_row = len(self.log) - 1  # the row record_server_message just appended
        elif kind == "tool_call":
            self._spawn(self._run_tool(msg), f"vatel-tool-{msg.tool_name}")
        elif kind == "session_started":
            self.log.meta["session_id"] = msg.id

    def _on_agent_audio(self, msg: Any, t: float, pcm: bytes) -> None:
        turn = msg.turn_id
        if turn in self.log.agent_audio.interrupted:  # a late chunk of an interrupted turn
            self._late_chunks += 1
            self.log.append(
                "local", "dropped", t=t, text="interrupted-turn", turn_id=turn, samples=len(pcm) // 2
            )
            return
        self._to_frontend(env.audio(turn, self._audio_seq, msg.is_final), [pcm])
        self._audio_seq += 1
        if turn not in self._turns_seen:
            self._turns_seen.add(turn)
            if self._stop_row is not None and self._e2e_row != self._stop_row:
                self._update_latency()

    def _update_transcript(self, role: str, text: str, final: bool, turn_id: str | None) -> None:
        entries, open_ = self._transcript, self._open_entries.setdefault(role, [])
        entry = {"role": role, "text": text, "final": bool(final), "turn_id": turn_id}
        for j in range(len(open_) - 1, -1, -1):  # only the role's non-final entries: O(1) per update
            i = open_[j]
            if entries[i]["turn_id"] == turn_id or turn_id is None:
                entries[i] = entry
                if final:
                    del open_[j]
                break
        else:
            entries.append(entry)
            if not final:
                open_.append(len(entries) - 1)
        self._set_state(transcript=entries[-TRANSCRIPT_TRAIT_ENTRIES:])

    def _update_latency(self) -> None:
        """Refresh ``last_latency_ms`` / ``last_latency_kind`` from the log: scans only the rows
        since the last ``speech_stopped`` (none before the first), so the cost does not grow with
        the call."""
        stop = self._stop_row
        if self._latency_failed or stop is None or self._v2v_row == stop:
            return
        try:
            from ..analysis import last_turn_latency_ms

            reading = last_turn_latency_ms(self.log, max_rows=len(self.log) - stop)
        except Exception as e:  # a number for the display must never break the call: say it once
            self._latency_failed = True
            self.log.append("local", "error", text=f"live latency display disabled: {type(e).__name__}: {e}")
            return
        if reading is None or not reading.value_ms == reading.value_ms:  # None or NaN
            return
        self._e2e_row = stop
        if reading.kind == "v2v":
            self._v2v_row = stop
        kind = _LATENCY_KINDS.get(reading.kind, reading.kind)
        self._set_state(last_latency_ms=float(reading.value_ms), last_latency_kind=kind)

    # ------------------------------------------------------------------ send

    def _queue_mic(self, seq: int | None, t_browser: float | None, pcm: bytes) -> None:
        q = self._mic_q
        if q is None:
            return
        if self._state["muted"]:  # frames captured while muted are sent as silence (timing kept)
            pcm = bytes(len(pcm))
        try:
            q.put_nowait((seq, t_browser, pcm))
        except asyncio.QueueFull:
            self._mic_dropped += 1
            self.log.append("local", "dropped", text="mic-queue", seq=seq, samples=len(pcm) // 2)
            return
        self._mic_high_water = max(self._mic_high_water, q.qsize())

    async def _send_mic(self, conn: VatelConnection) -> None:
        q, log = self._mic_q, self.log
        assert q is not None
        while True:
            seq, t_browser, pcm = await q.get()
            try:
                await conn.send_input_audio(pcm)
            except asyncio.CancelledError:
                raise
            except Exception:
                return  # the receive loop reports the socket's end
            t = log.now()  # audio → log.user_audio too
            record_client_message(log, InputAudio.from_pcm(pcm), t, seq=seq, t_browser=t_browser, pcm=pcm)
            self._mic_sent += 1

    # ------------------------------------------------------------------ tools

    async def _run_tool(self, call: ToolCall) -> None:
        log = self.log
        kwargs = call.kwargs
        log.append(
            "local",
            "tool-started",
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            detail={"arguments": kwargs},
        )
        result = await self.tools.run(call.tool_name, kwargs)
        detail: dict[str, Any] = {"error": result.error, "duration_ms": result.duration_ms}
        if result.ignored:
            detail["ignored_arguments"] = list(result.ignored)
        if result.unknown:
            detail["unknown_tool"] = True
        log.append(
            "local",
            "tool-finished",
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            text=result.output,
            detail=detail,
        )
        conn = self._conn
        if conn is None or self._finished:
            return
        try:
            await conn.send_tool_call_output(call.tool_call_id, result.output)
        except Exception as e:
            log.append("local", "error", text=f"could not send the output of tool {call.tool_name!r}: {e}")
            return
        record_client_message(log, ToolCallOutput(call.tool_call_id, result.output), log.now())

    # ------------------------------------------------------------------ end

    async def _fail(self, error: BaseException) -> None:
        text = self._scrub(f"{error}" or type(error).__name__)
        self.log.append("local", "error", text=text, detail={"type": type(error).__name__})
        self._set_state(status="error", error=text)
        await self._finish(text, clean=False)

    async def _finish(self, reason: str, *, clean: bool) -> None:
        """End the call once: stop tasks, close the socket, log ``local/closed``, tell the front-end."""
        if self._finished:
            await self._ended.wait()
            return
        self._finished = True
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        conn, code, close_reason = self._conn, None, ""
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
            code, close_reason = conn.close_code, conn.close_reason or ""
        if conn is not None:
            self.log.append("local", "closed", detail={"clean": clean, "code": code, "reason": close_reason})
        if self._state["status"] != "error":
            self._set_state(status="ended")
        self._to_frontend(env.end(self._scrub(reason)))
        self._stop_pings()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
        await self._stop_autosave()
        self._ended.set()

    # ------------------------------------------------------------------ autosave

    def _start_autosave(self) -> None:
        self._autosaver = None
        if not self._autosave:
            return
        try:
            from ..log import Autosaver

            self._autosaver = Autosaver(self.log, self._autosave)
            self._autosaver.start()
        except Exception as e:
            self.log.append("local", "error", text=f"autosave to {self._autosave!s} could not start: {e}")

    async def _stop_autosave(self) -> None:
        saver, self._autosaver = getattr(self, "_autosaver", None), None
        if saver is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, saver.stop)
            except Exception as e:
                self.log.append("local", "error", text=f"autosave to {self._autosave!s} failed: {e}")
