"""VatelSession: one voice call with a Vatel agent, run as asyncio tasks on the current loop.

In a notebook the loop is the kernel's, so nothing blocks a cell: ``await session.start()`` (or
``session.start_soon()``, or the widget's Start button) connects and returns; the receive, send
and clock-ping loops keep running as tasks while you work in other cells. Every event is recorded
in ``session.log`` (:class:`vatel_nb.log.EventLog`) on the kernel clock.

The session talks to its front-end (the widget, or a headless caller) only through the envelope
of ``docs/architecture.md``: :meth:`VatelSession.handle_frontend` takes envelopes in (from any
thread), a :class:`~vatel_nb.session.Frontend` receives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from .._errors import ConfigurationError, scrub
from ..client._config import resolve_api_key
from ..log import EventLog
from ._backend import Backend, resolve_backend, wants_simulator
from ._bridge import Frontend, Inbox, Outbox
from ._calls import CallMixin
from ._frontend import FrontendMixin
from ._sync import run_sync
from ._tools import ToolRegistry

__all__ = ["STATUSES", "VatelSession"]

T = TypeVar("T")

#: Values of the ``status`` state / widget trait.
STATUSES = ("idle", "connecting", "live", "ended", "error")


class VatelSession(FrontendMixin, CallMixin):
    """A voice session with a Vatel agent (or the embedded simulator when no key/URL is set).

    Args:
        agent_id: agent UUID; default ``$VATEL_AGENT_ID`` (the simulator's demo agent when no
            key and no base URL are set).
        api_key: organization API key; default ``$VATEL_API_KEY``.
        base_url: server root; default ``$VATEL_BASE_URL`` then ``https://api.vatel.ai``.
        tools: ``{name: function}`` the agent may call (sync or async); more via :meth:`tool`.
        first_message, prompt, version_id: per-session overrides sent with the session token.
        autosave: a folder: the log is appended there every second while the call runs
            (``vatel_nb.log.Autosaver``; crash-safe) and completely when it ends.
        log: an :class:`EventLog` to record into (default: a new one; its ``t0`` is now).
        mic_queue_frames: mic frames (20 ms each) that may wait for the socket before new ones
            are dropped (counted, logged as ``local/dropped``).
        inbox_frames: mic frames that may wait between the comm thread and the loop.
        ping_interval_s: seconds between clock pings to the front-end (plus a burst at ``ready``).
        verbose: print a one-line notice when the embedded simulator is used.
        timeout: seconds each REST call (agent, session token) may take (``APITimeoutError`` after).
        open_timeout: seconds the voice socket's opening handshake may take.
        ping_interval, ping_timeout: voice-socket keepalive: a ping every ``ping_interval`` s; the
            call ends (``ConnectionClosedError``, code 1011) when a pong takes over ``ping_timeout`` s.

    Raises:
        ConfigurationError: a key or base URL is set but no agent id; a bad base URL; a base URL
            but no key.
    """

    def __init__(
        self,
        agent_id: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        tools: dict[str, Callable[..., Any]] | None = None,
        first_message: str | None = None,
        prompt: str | None = None,
        version_id: str | None = None,
        autosave: str | os.PathLike[str] | None = None,
        log: EventLog | None = None,
        mic_queue_frames: int = 50,
        inbox_frames: int = 100,
        ping_interval_s: float = 2.0,
        verbose: bool = True,
        timeout: float = 30.0,
        open_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
    ) -> None:
        self._simulated = wants_simulator(api_key, base_url)
        self._backend: Backend | None = None
        self._args = (agent_id, api_key, base_url)
        if not self._simulated:
            self._backend = resolve_backend(agent_id, api_key, base_url)
            resolve_api_key(self._backend.api_key)  # a clear error now rather than at start
        elif agent_id is not None and not isinstance(agent_id, str):
            raise ConfigurationError(f"agent_id must be a string (an agent UUID), got {agent_id!r}")
        self._token_options = {"first_message": first_message, "prompt": prompt, "version_id": version_id}
        self._timeouts = {
            "timeout": float(timeout),
            "open_timeout": float(open_timeout),
            "ping_interval": ping_interval,
            "ping_timeout": ping_timeout,
        }
        self._autosave = autosave
        self._verbose = verbose
        self.log: EventLog = log if log is not None else EventLog()
        self.tools = ToolRegistry(tools)
        self._secrets: set[str] = set()
        if self._backend is not None and self._backend.api_key:
            self._secrets.add(self._backend.api_key)
        label = "simulator" if self._simulated else (self._backend.label if self._backend else "")
        self._state: dict[str, Any] = {
            "status": "idle",
            "error": "",
            "transcript": [],
            "last_latency_ms": None,
            "last_latency_kind": "",
            "muted": False,
            "agent_name": "",
            "backend": label,
        }
        self._inbox = Inbox(mic_capacity=inbox_frames)
        self._outbox = Outbox()
        self._mic_capacity = int(mic_queue_frames)
        self._ping_interval_s = float(ping_interval_s)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._widget: Any = None
        self._init_call_state()
        self._init_frontend_state()
        with contextlib.suppress(RuntimeError):
            self._bind_loop(asyncio.get_running_loop())

    # ------------------------------------------------------------------ loop

    def _bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is None:
            self._loop = loop
            self._inbox.bind(loop, self._consume)
        elif self._loop is not loop:
            raise RuntimeError(
                "this VatelSession belongs to another event loop; create and use a session on one loop "
                "(in a notebook: the kernel's, i.e. in cells)"
            )

    def _current_loop(self) -> asyncio.AbstractEventLoop:
        self._bind_loop(asyncio.get_running_loop())
        assert self._loop is not None
        return self._loop

    # ------------------------------------------------------------------ lifecycle (public)

    async def start(self) -> None:
        """Connect and go live: fetch the agent, get a session token, open the socket, start the
        receive/send tasks; returns once live. Raises what went wrong (also shown as status
        "error" and logged as ``local/error``). Calling it again while starting/live is a no-op."""
        loop = self._current_loop()
        if self._start_task is None:
            self._start_task = loop.create_task(self._run_start(), name="vatel-session-start")
        await asyncio.shield(self._start_task)

    def start_soon(self) -> asyncio.Task[None]:
        """Start in the background (a task on the current loop); a failure shows as status "error"."""
        loop = self._current_loop()
        if self._start_task is None:
            self._start_task = loop.create_task(self._run_start(), name="vatel-session-start")
            self._start_task.add_done_callback(_retrieve)
        return self._start_task

    async def end(self, reason: str = "the call was ended from the notebook") -> None:
        """End the call cleanly (closes the socket, logs ``local/closed``, tells the front-end).
        Everything recorded stays in ``session.log``. Idempotent."""
        self._current_loop()
        if self._start_task is not None and not self._start_task.done():
            self._start_task.cancel()
            with contextlib.suppress(BaseException):
                await self._start_task
        await self._finish(reason, clean=True)

    def end_soon(self, reason: str = "the call was ended from the page") -> asyncio.Task[None]:
        """:meth:`end` as a background task on the session's loop."""
        loop = self._current_loop()
        task = loop.create_task(self.end(reason), name="vatel-session-end")
        task.add_done_callback(_retrieve)
        return task

    async def wait_ended(self, timeout: float | None = None) -> bool:
        """Wait until the call is over (ended or failed); False if ``timeout`` s passed first."""
        try:
            await asyncio.wait_for(self._ended.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    def close(self) -> asyncio.Task[None] | None:
        """End the call and close the widget. In a running loop (a notebook cell) the end is
        scheduled and its task returned; otherwise it runs to completion here."""
        task = None
        try:
            asyncio.get_running_loop()
            task = self.end_soon("the session was closed")
        except RuntimeError:
            if self._loop is not None and not self._loop.is_closed() and not self._ended.is_set():
                run_sync(self.end("the session was closed"), loop=self._loop)
        if self._widget is not None:
            widget, self._widget = self._widget, None
            if task is not None:
                task.add_done_callback(lambda _t: widget.close())
            else:
                widget.close()
        return task

    def run_sync(self, awaitable: Awaitable[T]) -> T:
        """Wait for ``awaitable`` from plain (non-async) cell code, e.g.
        ``session.run_sync(session.start())``. Uses nest-asyncio on the kernel's running loop
        (applied only then). Prefer ``await`` in cells."""
        return run_sync(awaitable, loop=self._loop)

    def start_sync(self) -> None:
        """:meth:`start` from plain code (see :meth:`run_sync`)."""
        self.run_sync(self.start())

    # ------------------------------------------------------------------ state

    @property
    def status(self) -> str:
        """``idle`` | ``connecting`` | ``live`` | ``ended`` | ``error``."""
        return self._state["status"]

    @property
    def error(self) -> str:
        """The last error as a sentence saying what to do ("" if none)."""
        return self._state["error"]

    @property
    def transcript(self) -> list[dict[str, Any]]:
        """``[{role: "user"|"agent", text, final, turn_id}, …]``: every entry of the call (a copy;
        the widget's ``transcript`` trait shows the most recent ones)."""
        return [dict(e) for e in self._transcript]

    @property
    def muted(self) -> bool:
        """True while the mic is muted (silence is sent instead, keeping the stream's timing)."""
        return self._state["muted"]

    @property
    def backend(self) -> str:
        """``"simulator"`` or the server's host name."""
        return self._state["backend"]

    @property
    def session_id(self) -> str | None:
        """The call id from ``session_started`` (None before)."""
        return self.log.meta.get("session_id")

    def set_muted(self, muted: bool) -> None:
        """Mute/unmute the mic (call on the session's loop; the front-end uses ``control``)."""
        self._set_state(muted=bool(muted))

    def _set_state(self, **changes: Any) -> None:
        changed = {k: v for k, v in changes.items() if self._state.get(k) != v}
        for key, value in changed.items():
            if isinstance(value, str):
                changed[key] = value = self._scrub(value)
            self._state[key] = value
        update = getattr(self._outbox.frontend, "update_state", None)
        if changed and update is not None:
            try:
                update(changed)
            except Exception as e:  # a closed widget must not break the call
                self.log.append("local", "error", text=f"could not update the front-end: {e}")

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return scrub(text)  # and every secret the clients registered (e.g. a base URL password)

    # ------------------------------------------------------------------ tools

    def tool(self, name_or_fn: Any = None) -> Any:
        """Register a tool: ``@session.tool`` (name = function name) or ``@session.tool("name")``."""
        return self.tools.decorator(name_or_fn)

    def register_tool(self, fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
        """Register ``fn`` as tool ``name`` (default ``fn.__name__``); returns ``fn``."""
        return self.tools.register(fn, name)

    # ------------------------------------------------------------------ front-ends

    def widget(self) -> Any:
        """The notebook widget for this session (one model per session: the same object each time)."""
        if self._widget is None:
            from ..widget import VatelWidget

            self._widget = VatelWidget(self)
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Displaying the session in a cell shows its widget."""
        return self.widget()._repr_mimebundle_(**kwargs)

    def attach(self, frontend: Frontend) -> None:
        """Use ``frontend`` (replacing any other); nothing is streamed to it before it sends ``ready``."""
        self._outbox.frontend = frontend
        self._outbox.ready = False

    def handle_frontend(self, envelope: dict[str, Any], buffers: list[Any] | tuple[Any, ...] = ()) -> bool:
        """Take one browser → kernel envelope (+ buffers) from any thread; returns at once.

        The work happens on the session's loop. Returns False if a ``mic`` frame was dropped
        because the hand-off queue is full (counted; logged as ``local/dropped``)."""
        return self._inbox.put(envelope, list(buffers))

    # ------------------------------------------------------------------ analysis (thin wrappers)

    @property
    def events(self) -> Any:
        """All events as a pandas DataFrame (``session.log.frame()``)."""
        return self.log.frame()

    def turns(self, **kwargs: Any) -> Any:
        """One row per turn with its latencies and outcome (``vatel_nb.analysis.turns(log, **kwargs)``)."""
        from ..analysis import turns

        return turns(self.log, **kwargs)

    def summary(self, **kwargs: Any) -> Any:
        """Latency percentiles and turn-taking measures: ``vatel_nb.analysis.summary`` of :meth:`turns`
        (``kwargs`` go to ``summary``)."""
        from ..analysis import summary, turns

        log = self.log
        events = log.frame()  # built once: turns() and summary() share it
        t = turns(events, user_audio=log.user_audio, agent_audio=log.agent_audio)
        return summary(t, events, **kwargs)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Save the log (events, both audio tracks, clock samples) to folder ``path``
        (``vatel_nb.log.save_session``; load it back with ``vatel_nb.log.load_session``)."""
        from ..log import save_session

        return save_session(self.log, path, overwrite=overwrite)

    def stats(self) -> dict[str, Any]:
        """Counters: frames sent/dropped per queue, envelopes sent, queue high-water marks."""
        return {
            "mic_sent": self._mic_sent,
            "dropped": {
                "inbox": self._inbox.mic_dropped,
                "inbox_other": self._inbox.other_dropped,
                "mic_queue": self._mic_dropped,
                "outbox": self._outbox.dropped,
                "interrupted_chunks": self._late_chunks,
            },
            "inbox_high_water": self._inbox.high_water,
            "mic_queue_high_water": self._mic_high_water,
            "mic_queue_capacity": self._mic_capacity,
            "inbox_capacity": self._inbox.mic_capacity,
            "envelopes_sent": self._outbox.sent,
        }

    def __repr__(self) -> str:
        return f"VatelSession(status={self.status!r}, backend={self.backend!r}, events={len(self.log)})"


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Done-callback: mark a background task's exception as seen (it is already logged/shown)."""
    if not task.cancelled():
        task.exception()
