"""The thin asyncio shell that runs one call's :class:`~._core.CallCore`: REST, socket, timers, tools.

It owns the I/O of one call — the REST client, the voice socket, the receive / send / clock-ping
tasks, tool runs and the autosaver — and nothing else: every decision is the core's. Whatever the
core returns (:class:`~._core.Effects`) is applied here in order: rows into the call's
:class:`~vatel_nb.log.EventLog`, messages onto the socket (mic frames through a bounded queue),
envelopes to the front-end, UI state to the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._errors import scrub
from ..client import AsyncVatel, VatelConnection, connect
from ..log import EventLog, record_client_message, record_server_message
from ..protocol import InputAudio, ToolCall, ToolCallOutput
from ._backend import Backend
from ._core import CallCore
from ._effects import ClientRecord, ClockSample, Effects, MicFrame, Row, ServerRecord
from ._tools import ToolRegistry

__all__ = ["CallRunner", "CallSettings"]

_BURST = 5  # pings right after the call starts
_BURST_GAP_S = 0.05

#: ``LatencyReading.kind`` → the widget's ``last_latency_kind`` text.
LATENCY_KINDS = {"v2v": "heard voice-to-voice", "server_e2e": "server e2e (speech_stopped → first audio)"}


@dataclass
class CallSettings:
    """What every call of a session shares (set once on the session)."""

    token_options: dict[str, Any]
    backend_label: str
    simulated: bool
    mic_capacity: int = 50
    ping_interval_s: float = 2.0
    #: REST (s per call), socket opening handshake (s), socket keepalive ping interval / timeout (s).
    timeout: float = 30.0
    open_timeout: float = 10.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    #: Strings never shown or saved (API key, session tokens); the shell adds each token.
    secrets: set[str] = field(default_factory=set)

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced by ``***`` (the session's, and every secret the
        clients registered, e.g. a base URL password)."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return scrub(text)


class CallRunner:
    """Run one call on the current loop. ``to_page(envelope, buffers)`` delivers to the front-end;
    ``on_state(changes)`` receives UI state changes; ``log`` is this call's log (``t0`` = its start)."""

    def __init__(
        self,
        log: EventLog,
        settings: CallSettings,
        tools: ToolRegistry,
        *,
        to_page: Callable[[dict[str, Any], list[bytes]], None],
        on_state: Callable[[dict[str, Any]], None],
        muted: bool = False,
        frontend_info: dict[str, Any] | None = None,
        autosave: str | os.PathLike[str] | None = None,
    ) -> None:
        self.log = log
        self.settings = settings
        self.tools = tools
        self.core = CallCore(muted=muted)
        self._to_page = to_page
        self._on_state = on_state
        self._frontend_info = frontend_info
        self._client: AsyncVatel | None = None
        self._conn: VatelConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # mic frames for the socket (≤ mic_capacity; ≤ 0: unbounded); the sender awaits _mic_wake if none
        self._mic_q: deque[MicFrame] = deque()
        self._mic_cap = settings.mic_capacity if settings.mic_capacity > 0 else float("inf")
        self._mic_wake: asyncio.Future[None] | None = None
        self._ended = asyncio.Event()
        self._autosave = autosave
        self._autosaver: Any = None
        self._latency_failed = False
        # live latency: rows are only scanned back to the last speech_stopped, once per stop for
        # the server e2e reading and until a v2v reading for it (linear in the call's length)
        self._stop_row: int | None = None
        self._e2e_row: int | None = None
        self._v2v_row: int | None = None
        #: Diagnostics: mic frames dropped because the send queue was full; its high-water mark.
        self.mic_dropped = 0
        self.mic_high_water = 0
        #: Why the call ended (a sentence), once it has.
        self.end_reason: str | None = None

    # ------------------------------------------------------------------ effects

    def apply(self, fx: Effects) -> None:
        """Carry out what the core decided (rows, sends, envelopes, state, tools, end)."""
        append, record = self.log.append, self._record
        for r in fx.rows:
            if r.__class__ is Row:  # most rows: inline
                append(r.source, r.type, r.t, **r.fields)
            else:
                record(r)
        for item in fx.send:
            if item.__class__ is MicFrame:
                self._queue_mic(item)
            else:
                self._spawn(self._send_output(item), "vatel-tool-output")
        for envelope, buffers in fx.page:
            if envelope["kind"] == "end":
                envelope = dict(envelope, reason=self.settings.scrub(envelope["reason"]))
            self._to_page(envelope, buffers)
        if fx.state:
            self._on_state(fx.state)
        for call in fx.tools:
            self._spawn(self._run_tool(call), f"vatel-tool-{call.tool_name}")
        if fx.latency:
            self._update_latency()
        if fx.end is not None and not self.core.finished:
            self._spawn(self.end(fx.end), "vatel-call-end")

    def _record(self, r: ServerRecord | ClientRecord | ClockSample) -> None:
        """One record the core asked for (plain :class:`Row` s are appended inline by :meth:`apply`)
        into this call's log, and its audio onto its track."""
        log = self.log
        cls = r.__class__
        if cls is ClientRecord:
            record_client_message(log, r.msg, r.t, seq=r.seq, t_browser=r.t_browser, pcm=r.pcm)
        elif cls is ServerRecord:
            record_server_message(log, r.msg, r.t, pcm=r.pcm)
            if r.msg.type == "speech_stopped":
                self._stop_row = len(log) - 1  # the row just appended
        elif cls is ClockSample:
            log.clock.add_sample(r.k_send, r.t_browser, r.k_recv)

    def handle(self, envelope: Any, buffers: list[Any], t: float) -> None:
        """One page → kernel envelope that arrived at kernel ``t`` (s since this call's ``t0``)."""
        self.apply(self.core.frontend(envelope, buffers, t))

    # ------------------------------------------------------------------ start

    def begin(self) -> None:
        """The call begins now (its ``t0``): status connecting, ``local/connecting`` logged."""
        s = self.settings
        self.apply(
            self.core.connecting(
                self.log.now(),
                backend=s.backend_label,
                simulated=s.simulated,
                frontend_info=self._frontend_info,
            )
        )

    async def start(self, backend: Backend) -> None:
        """Fetch the agent, get a token, open the socket, start the tasks. Raises what went wrong
        (after logging it and ending the call)."""
        s, log = self.settings, self.log
        try:
            self._client = client = AsyncVatel(
                api_key=backend.api_key, base_url=backend.base_url, timeout=s.timeout
            )
            agent = await client.agents.get(backend.agent_id)
            vad = agent.vad_settings
            info = {
                "agent_id": backend.agent_id,
                "vad_settings": {
                    "start_secs": vad.start_secs if vad else None,
                    "stop_secs": vad.stop_secs if vad else None,
                },
                "first_message": s.token_options.get("first_message") or agent.first_message,
            }
            log.meta["agent"] = dict(info, name=agent.name)
            log.meta["backend"] = s.backend_label
            self.apply(self.core.agent(log.now(), info, agent.name or ""))
            opts = {k: v for k, v in s.token_options.items() if v is not None}
            token = (await client.session_token(backend.agent_id, **opts)).token
            s.secrets.add(token)
            self._conn = conn = await connect(
                token,
                base_url=backend.base_url,
                open_timeout=s.open_timeout,
                ping_interval=s.ping_interval,
                ping_timeout=s.ping_timeout,
            )
        except asyncio.CancelledError:
            await self._finish("the call was cancelled while connecting", clean=True)
            raise
        except Exception as e:
            await self.fail(e)
            raise
        self._spawn(self._receive(conn), "vatel-call-receive")
        self._spawn(self._send_mic(conn), "vatel-call-send")
        self._spawn(self._ping_loop(), "vatel-clock-ping")
        self._start_autosave()
        self.apply(self.core.connected(log.now(), conn.url))

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ receive / send

    async def _receive(self, conn: VatelConnection) -> None:
        t0 = self.log.t0
        try:
            async for t_abs, msg in conn.timed():
                pcm = msg.pcm() if msg.type == "response_audio" else None
                fx = self.core.server(msg, t_abs - t0, pcm)
                ended = fx.end is not None
                fx.end = None  # the receive loop ends the call itself, below
                self.apply(fx)
                if ended:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as e:
            await self.fail(e)
            return
        ended = self.core.server_ended
        await self._finish(
            "the agent ended the call" if ended else "the server closed the connection", clean=True
        )

    def _queue_mic(self, frame: MicFrame) -> None:
        q = self._mic_q
        if len(q) >= self._mic_cap:
            self.mic_dropped += 1
            self.log.append("local", "dropped", text="mic-queue", seq=frame.seq, samples=len(frame.pcm) // 2)
            return
        q.append(frame)
        if len(q) > self.mic_high_water:
            self.mic_high_water = len(q)
        wake, self._mic_wake = self._mic_wake, None
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def _send_mic(self, conn: VatelConnection) -> None:
        q, loop = self._mic_q, asyncio.get_running_loop()
        while True:
            while not q:
                self._mic_wake = wake = loop.create_future()
                await wake
            frame = q.popleft()
            message = InputAudio.from_pcm(frame.pcm)  # base64 once: sent, then recorded as is
            try:
                await conn.send(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                return  # the receive loop reports the socket's end
            self._record(self.core.mic_sent(frame, message, self.log.now()))

    async def _ping_loop(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            for _ in range(_BURST):
                self.apply(self.core.ping(self.log.now()))
                await asyncio.sleep(_BURST_GAP_S)
            while True:
                await asyncio.sleep(self.settings.ping_interval_s)
                self.apply(self.core.ping(self.log.now()))

    # ------------------------------------------------------------------ tools

    async def _run_tool(self, call: ToolCall) -> None:
        self.apply(self.core.tool_started(call, self.log.now()))
        result = await self.tools.run(call.tool_name, call.kwargs)
        self.apply(self.core.tool_finished(call, result, self.log.now()))

    async def _send_output(self, out: ToolCallOutput) -> None:
        conn = self._conn
        if conn is None or self.core.finished:
            return
        try:
            await conn.send_tool_call_output(out.tool_call_id, out.output)
        except Exception as e:
            self.log.append(
                "local", "error", text=f"could not send the output of tool call {out.tool_call_id!r}: {e}"
            )
            return
        self.apply(Effects(rows=[ClientRecord(out, self.log.now())]))

    # ------------------------------------------------------------------ live latency

    def _update_latency(self) -> None:
        """Refresh ``last_latency_ms`` / ``last_latency_kind`` (the analysis' own definitions),
        scanning only the rows since the last ``speech_stopped`` (none before the first), so the
        cost does not grow with the call."""
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
        kind = LATENCY_KINDS.get(reading.kind, reading.kind)
        self._on_state({"last_latency_ms": float(reading.value_ms), "last_latency_kind": kind})

    # ------------------------------------------------------------------ end

    @property
    def finished(self) -> bool:
        """True once the call is over (ended or failed)."""
        return self.core.finished

    async def wait_ended(self) -> None:
        """Wait until the call is over and everything is closed."""
        await self._ended.wait()

    async def end(self, reason: str) -> None:
        """End the call cleanly (idempotent)."""
        await self._finish(reason, clean=True)

    async def fail(self, error: BaseException) -> None:
        """The call failed: log ``local/error``, status error, then end it."""
        text = self.settings.scrub(f"{error}" or type(error).__name__)
        self.apply(self.core.failed(self.log.now(), text, type(error).__name__))
        await self._finish(text, clean=False)

    async def _finish(self, reason: str, *, clean: bool) -> None:
        if self.core.finished or self.end_reason is not None:
            await self._ended.wait()
            return
        self.end_reason = self.settings.scrub(reason)
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        conn, code, close_reason = self._conn, None, ""
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
            code, close_reason = conn.close_code, conn.close_reason or ""
        self.apply(
            self.core.closed(
                self.log.now(),
                reason,
                clean=clean,
                code=code,
                close_reason=close_reason,
                had_socket=conn is not None,
            )
        )
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
        await self._flush_autosave()
        self._ended.set()

    # ------------------------------------------------------------------ autosave

    def _start_autosave(self) -> None:
        path = self._autosave
        if not path:
            return
        try:
            from ..log import Autosaver

            self._autosaver = Autosaver(self.log, path)
            self._autosaver.start()
        except Exception as e:
            self.log.append("local", "error", text=f"autosave to {path!s} could not start: {e}")

    async def _flush_autosave(self) -> None:
        """The call is over: write everything logged so far, with no await left before the end.
        The thread keeps running, so what the front-end still reports about this call (the last
        playback) reaches the folder too, until :meth:`stop_autosave`."""
        saver = self._autosaver
        if saver is not None:
            try:
                await asyncio.get_running_loop().run_in_executor(None, saver.flush)
                saver.flush()  # what the loop logged meanwhile (tasks winding down)
            except Exception as e:
                self.log.append("local", "error", text=f"autosave to {self._autosave!s} failed: {e}")

    def stop_autosave(self) -> None:
        """Stop the autosave thread after a final flush (the session starts another call or is
        closed). Idempotent; blocks for at most one flush."""
        saver, self._autosaver = self._autosaver, None
        if saver is not None:
            try:
                saver.stop()
            except Exception as e:
                self.log.append("local", "error", text=f"autosave to {self._autosave!s} failed: {e}")
