"""``Simulator``: a Vatel-compatible server on 127.0.0.1 (Starlette on uvicorn).

Three ways to run it::

    with Simulator() as sim:            # own thread + event loop (works inside a busy notebook kernel)
        ...
    sim = await Simulator().start()     # on the caller's running loop
    await sim.stop()
    $ vatel-nb simulator --port 8765    # CLI; prints the base URL on its first line

Stopping ends every live session cleanly: ``session_ended``, then close code 1001 ("simulator
stopping"). Frames larger than ``max_message_bytes`` (default 1 MiB) make uvicorn close the
socket with code 1009 (message too big).

The wire ``profile`` (``vendor`` by default, or ``spec``; :mod:`._profiles`) decides how the
messages look. Memory stays bounded: finished calls (record, ground truth) are kept up to
``max_calls``, the recordings of the newest ``max_recordings`` of them; older ones are forgotten
(``GET /v1/calls/{id}`` then answers 404). One session token opens one live call at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import secrets
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ._agents import AgentSpec, ReplyFunction, Tool, demo_agent, demo_reply
from ._asr import make_recognizer_factory, warm_pocketsphinx
from ._conversation import Session, SessionConfig
from ._latency import Latency
from ._profiles import WireProfile, resolve_profile
from ._recognizer import RecognizerFactory, ScriptedRecognizer
from ._repertoire import DEMO_PHRASES
from ._rest import build_app
from ._state import SimulatorState
from ._tokens import TokenSigner
from ._truth import SessionTruth
from ._voice import Voice

__all__ = ["Simulator"]

log = logging.getLogger("vatel_nb.simulator")


class _Server(uvicorn.Server):
    """uvicorn without signal handling: the owner (thread, caller's loop or CLI) decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def,override]
        yield


class _LazyPauseTransport:
    """Transport proxy: uvicorn pauses reading after *every* received message and resumes once the
    app took it (two epoll_ctl syscalls per audio chunk). Pause only when ``_HIGH`` messages wait."""

    _HIGH = 32

    def __init__(self, transport: Any, protocol: WebSocketsSansIOProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._paused = False

    def pause_reading(self) -> None:
        if self._protocol.queue.qsize() >= self._HIGH:
            self._paused = True
            self._transport.pause_reading()
        else:
            self._protocol.read_paused = False  # not paused: uvicorn asks again on the next message

    def resume_reading(self) -> None:
        if self._paused:
            self._paused = False
            self._transport.resume_reading()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _WSProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with lazy read pausing (see :class:`_LazyPauseTransport`)
    and without a spurious ERROR log after a denial response ("ASGI callable returned without
    completing handshake"; Kludex/uvicorn PR #3138)."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.transport = _LazyPauseTransport(transport, self)  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body", False):
            self.handshake_complete = True


class Simulator:
    """A simulated Vatel backend. All durations in seconds.

    Args:
        api_key: the Bearer key REST calls must send (random ``sim-…`` when None).
        host, port: where to listen (port 0 = a free port; see :attr:`base_url`).
        token_ttl: session token lifetime.
        latency: default injected delays (:class:`Latency`) for agents without their own.
        asr: the recognizer: "auto" (pocketsphinx if importable, else scripted for agents with a
            script, else placeholder), "pocketsphinx", "scripted", "placeholder", or your own
            ``factory(phrases) -> Recognizer`` (see :mod:`vatel_nb.simulator._recognizer`).
        voice: "auto" (espeak-ng if importable), "espeak" or "synthetic".
        idle_timeout: end a session after this long without user speech or agent activity.
        tool_timeout: how long to wait for a ``tool_call_output``.
        chunk_ms: duration of each ``response_audio`` chunk under the ``spec`` profile (10–100 ms).
        max_message_bytes: largest accepted client frame (bigger → close 1009).
        vad_threshold: the VAD's absolute frame RMS threshold (full scale 1.0; 0.01 ≈ −40 dBFS);
            frames must also be 9 dB above the running noise floor (see :mod:`vatel_nb._vad`).
        profile: the wire profile, ``"vendor"`` (what the real service does; the default, or
            ``$VATEL_NB_SIM_PROFILE``) or ``"spec"`` (``openapi.json`` exactly); :mod:`._profiles`.
        max_calls: finished calls kept (record and ground truth); older ones are forgotten.
        max_recordings: finished calls whose recording (audio) is kept, newest first.
        max_body_bytes: largest accepted REST request body (bigger → 413).
        seed: seeds the random ``response_audio`` chunk sizes of the ``vendor`` profile, the same
            for every session, so that two runs send the same audio in the same chunks (with
            seeded :class:`Latency` distributions: at the same times). None: seeded per session id.
    """

    def __init__(
        self,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token_ttl: float = 300.0,
        latency: Latency | None = None,
        asr: str | RecognizerFactory = "auto",
        voice: str = "auto",
        idle_timeout: float = 120.0,
        tool_timeout: float = 10.0,
        chunk_ms: int = 20,
        max_message_bytes: int = 1 << 20,
        vad_threshold: float = 0.01,
        profile: str | WireProfile | None = None,
        max_calls: int = 1000,
        max_recordings: int = 100,
        max_body_bytes: int = 64 * 1024,
        seed: int | None = None,
    ) -> None:
        if not 10 <= chunk_ms <= 100:
            raise ValueError(f"chunk_ms must be between 10 and 100, got {chunk_ms}")
        if max_calls < 1 or max_recordings < 0 or max_recordings > max_calls:
            raise ValueError(
                f"need max_calls >= 1 and 0 <= max_recordings <= max_calls, got {max_calls}, {max_recordings}"
            )
        self._asr_source = make_recognizer_factory(asr)[0]  # validates the choice early
        self.api_key: str = api_key or f"sim-{secrets.token_urlsafe(18)}"
        self.host = host
        self.port = port
        self.max_message_bytes = max_message_bytes
        config = SessionConfig(
            voice=Voice(voice), asr=asr, idle_timeout=idle_timeout, tool_timeout=tool_timeout,
            chunk_ms=chunk_ms, vad_threshold=vad_threshold, profile=resolve_profile(profile), seed=seed,
        )  # fmt: skip
        self._state = SimulatorState(
            self.api_key, TokenSigner(token_ttl), config, latency or Latency(), max_calls=max_calls,
            max_recordings=max_recordings, max_body_bytes=max_body_bytes,
        )  # fmt: skip
        demo = demo_agent()
        self._state.agents[demo.id] = demo
        self._server: _Server | None = None
        self._serve_task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ properties

    @property
    def base_url(self) -> str:
        """``http://host:port`` (the WebSocket is ``ws://host:port/v1/connection``)."""
        if self._server is None:
            raise RuntimeError(
                "the simulator is not running: use `with Simulator() as sim:` or `await sim.start()`"
            )
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def profile(self) -> str:
        """The wire profile's name: ``"vendor"`` or ``"spec"``."""
        return self._state.config.profile.name

    @property
    def voice(self) -> str:
        """The voice in use: "espeak" or "synthetic"."""
        return self._state.config.voice.kind

    def session_ids(self) -> list[str]:
        """Ids of every session so far (live and ended), oldest first."""
        return list(self._state.sessions)

    # ------------------------------------------------------------------ agents and settings

    def add_agent(
        self,
        name: str = "Agent",
        *,
        first_message: str = "",
        prompt: str = "",
        vad_settings: dict[str, float] | None = None,
        reply: ReplyFunction = demo_reply,
        tools: Sequence[Tool] = (),
        latency: Latency | None = None,
        script: Sequence[str] | None = None,
        idle_timeout: float | None = None,
        tool_timeout: float | None = None,
        phrases: Sequence[str] | None = None,
        talk_over_user: bool = False,
        vad_model: str = "energy",
        agent_id: str | None = None,
    ) -> str:
        """Register an agent; returns its id (a new UUID unless ``agent_id`` is given).

        ``first_message`` "" = the agent waits for the user. ``vad_settings`` {start_secs,
        stop_secs} (defaults 0.2 / 0.5). ``reply(transcript, history) -> Reply | str | None`` (see
        :mod:`vatel_nb.simulator._agents`). ``script``: expected user utterances, one per speech
        segment, for the scripted transcription source. ``latency``/``idle_timeout``/
        ``tool_timeout`` override the simulator's for this agent's sessions. ``phrases``: what the
        agent expects users to say; the recognizer is constrained to them (pocketsphinx: a JSGF
        grammar; other speech falls back to open vocabulary). ``talk_over_user``: answer as soon
        as the final transcript is ready even if the user is speaking again by then (default
        False: the answer waits for the user's next pause and covers both parts) — set it, with a
        ``Latency(transcription=…)`` longer than the user's pause, to produce an agent that talks
        over the user on purpose. ``vad_model``: how the VAD tells speech from noise —
        ``"energy"`` (level over the noise floor; cheap, the default), ``"silero"`` (Silero VAD
        confirms every frame: holds up in loud noise, ≈ 4 % of a core per call; needs
        ``vatel-nb[asr]``) or ``"auto"`` (Silero when installed; the demo agent's setting).
        """
        spec = AgentSpec(
            name=name, first_message=first_message, prompt=prompt,
            vad_settings=vad_settings or {}, reply=reply, tools=tuple(tools),
            latency=latency, script=list(script) if script is not None else None, idle_timeout=idle_timeout,
            tool_timeout=tool_timeout, phrases=tuple(phrases) if phrases else None,
            talk_over_user=talk_over_user, vad_model=vad_model,
        )  # fmt: skip
        if agent_id is not None:
            spec.id = str(uuid.UUID(agent_id))
        self._state.agents[spec.id] = spec
        return spec.id

    def remove_agent(self, agent_id: str) -> None:
        """Forget an agent: new tokens and connections for it get 404 (live sessions go on)."""
        if self._state.agents.pop(agent_id, None) is None:
            raise KeyError(f"unknown agent {agent_id}")

    def set_latency(
        self, latency: Latency, *, agent_id: str | None = None, session_id: str | None = None
    ) -> None:
        """Change injected delays: for a live session, for an agent's future sessions, or (neither
        given) the simulator's default for agents without their own. Applies to later turns."""
        if session_id is not None:
            self._session(session_id).latency = latency
        elif agent_id is not None:
            if agent_id not in self._state.agents:
                raise KeyError(f"unknown agent {agent_id}")
            self._state.agent_latency[agent_id] = latency
        else:
            self._state.latency = latency
            self._state.agent_latency.clear()

    def set_script(self, lines: Sequence[str], *, session_id: str) -> None:
        """Replace a live session's scenario script (expected user utterances, one per segment)."""
        session = self._session(session_id)
        rec = session.recognizer
        if isinstance(rec, ScriptedRecognizer):
            rec.script = list(lines)
        elif session.asr_source == "placeholder" and self._state.config.asr == "auto":
            scripted = ScriptedRecognizer(lines)
            scripted.index = len(session.truth.segments) - 1
            session.recognizer = session.listener.recognizer = scripted
            session.asr_source = session.truth.asr_source = "scripted"

    def _session(self, session_id: str) -> Session:
        try:
            return self._state.sessions[session_id]
        except KeyError:
            raise KeyError(f"unknown session {session_id}; sim.session_ids() lists them") from None

    def ground_truth(self, session_id: str) -> SessionTruth:
        """A snapshot (deep copy) of the session's ground truth (see :mod:`._truth`)."""
        session = self._session(session_id)
        if (
            self._thread is not None
            and threading.current_thread() is not self._thread
            and self._loop is not None
        ):

            async def snap() -> SessionTruth:
                return copy.deepcopy(session.truth)

            return asyncio.run_coroutine_threadsafe(snap(), self._loop).result(10)
        return copy.deepcopy(session.truth)

    def call_record(self, session_id: str) -> dict[str, Any]:
        """The session's call as Vatel's ``Call`` JSON (what ``GET /v1/calls/{id}`` returns)."""
        return self._session(session_id).record.to_json()

    # ------------------------------------------------------------------ running

    async def start(self) -> Simulator:
        """Bind and start serving on the running loop; returns self once it accepts connections."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto IPPROTO_TCP, not 0: accepted sockets inherit it, and asyncio turns Nagle off
        # (TCP_NODELAY) only on sockets whose proto says TCP. With Nagle on, every message sent
        # right after another (speech_stopped, transcript, text, first audio) waited for the
        # client's next mic chunk to carry the ACK: 20 ms added to each reply.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets
        try:
            sock.bind((self.host, self.port))
        except OSError as e:
            sock.close()
            raise OSError(
                e.errno, f"cannot listen on {self.host}:{self.port}: {e.strerror}; pick another port"
            ) from e
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self._state), log_config=None, access_log=False, lifespan="off", ws=_WSProtocol,
            ws_max_size=self.max_message_bytes, ws_per_message_deflate=False, timeout_graceful_shutdown=3,
        )  # fmt: skip
        server = _Server(config)
        self._server = server
        self._state.stopping = False
        self._serve_task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        if self._asr_source == "pocketsphinx":
            asyncio.get_running_loop().run_in_executor(None, warm_pocketsphinx, DEMO_PHRASES)
        while not server.started:
            if self._serve_task.done():
                self._server = None
                self._serve_task.result()
                raise RuntimeError("the simulator's server stopped during start-up")
            await asyncio.sleep(0.005)
        return self

    async def stop(self) -> None:
        """End live sessions (``session_ended``, close 1001) and stop serving."""
        if self._server is None or self._serve_task is None:
            return
        self._state.stopping = True
        live = [s for s in self._state.sessions.values() if not s.ended.is_set()]
        await asyncio.gather(*(s.end("simulator_stopped", 1001, "simulator stopping") for s in live))
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await self._serve_task
        self._server = None
        self._serve_task = None

    def __enter__(self) -> Simulator:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="vatel-nb-simulator", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(30)
        except BaseException:
            self._shutdown_thread()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop a simulator started with ``with`` / ``__enter__`` (from any thread but its own)."""
        if self._loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.stop(), self._loop).result(30)
        self._shutdown_thread()

    def _shutdown_thread(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._loop = self._thread = None

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        return f"<Simulator {where} agents={len(self._state.agents)} sessions={len(self._state.sessions)}>"
