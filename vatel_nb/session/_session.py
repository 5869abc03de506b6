"""VatelSession: voice calls with a Vatel agent from a notebook, one after another, on the current loop.

In a notebook the loop is the kernel's, so nothing blocks a cell: ``await session.start()`` (or
``session.start_soon()``, or the widget's Start button) starts a call and returns once it is live;
its receive, send and clock-ping loops keep running as tasks while you work in other cells. End
it (``await session.end()``, the widget's End button, or the agent) and start another: each call
is recorded in its own :class:`~vatel_nb.log.EventLog` whose ``t`` is seconds since *that call*
started. ``session.calls`` lists them; ``session.events``, :meth:`~VatelSession.turns` and
:meth:`~VatelSession.summary` cover every call with a ``call`` column (``call=`` picks one).

Each call is run by a :class:`~._runner.CallRunner` (the asyncio shell) around a
:class:`~._core.CallCore` (the logic, no I/O). The session talks to its front-end (the widget, or
a headless caller) only through the envelope of :mod:`vatel_nb.envelope`:
:meth:`VatelSession.handle_frontend` takes envelopes in (from any thread), a
:class:`~vatel_nb.session.Frontend` receives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from .. import envelope as env
from .._errors import ConfigurationError
from ..client._config import resolve_api_key
from ..log import EventLog
from ._backend import Backend, resolve_backend, wants_simulator
from ._bridge import Frontend
from ._calls import Calls, retrieve_exception
from ._link import FrontendLink, card_html, card_text
from ._runner import CallSettings
from ._sync import run_sync
from ._tools import ToolRegistry

__all__ = ["STATUSES", "VatelSession"]

T = TypeVar("T")

#: Values of the ``status`` state / widget trait.
STATUSES = ("idle", "connecting", "live", "ended", "error")


class VatelSession:
    """Voice calls with a Vatel agent (or the embedded simulator when no key/URL is set).

    Args:
        agent_id: agent UUID; default ``$VATEL_AGENT_ID`` (the simulator's demo agent when no
            key and no base URL are set).
        api_key: organization API key; default ``$VATEL_API_KEY``.
        base_url: server root; default ``$VATEL_BASE_URL`` then ``https://api.vatel.ai``.
        tools: ``{name: function}`` the agent may call (sync or async); more via :meth:`tool`.
        first_message, prompt, version_id: per-call overrides sent with each session token.
        autosave: a folder: every call is appended there every second while it runs
            (``call-1/``, ``call-2/``, … plus ``calls.json``; crash-safe) and completely when it
            ends. ``vatel_nb.log.load_session(folder)`` reads them back, calls apart.
        log: an :class:`EventLog` to record the *first* call into (default: a new one per call,
            whose ``t0`` is that call's start).
        mic_queue_frames: mic frames (20 ms each) that may wait for the socket before new ones
            are dropped (counted, logged as ``local/dropped``).
        inbox_frames: mic frames that may wait between the comm thread and the loop.
        ping_interval_s: seconds between clock pings to the front-end (plus a burst at the start).
        jitter_ms: the widget's playout buffer: None (default) adapts its depth to the jitter it
            observes (starts at 20 ms, grows on underruns and arrival jitter, shrinks slowly when
            smooth); a number ≥ 0 is a fixed cushion of that many ms (the widget's ``jitter_ms``).
        verbose: print a one-line notice when the embedded simulator is used.
        timeout: seconds each REST call (agent, session token) may take (``APITimeoutError`` after).
        open_timeout: seconds the voice socket's opening handshake may take.
        ping_interval, ping_timeout: voice-socket keepalive: a ping every ``ping_interval`` s; the
            call ends (``ConnectionClosedError``, code 1011) when a pong takes over ``ping_timeout`` s.

    Raises:
        ConfigurationError: a key or base URL is set but no agent id; a bad base URL; a base URL
            but no key; a ``jitter_ms`` that is not None or a number ≥ 0.
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
        jitter_ms: float | None = None,
    ) -> None:
        if jitter_ms is not None and (
            isinstance(jitter_ms, bool)
            or not isinstance(jitter_ms, (int, float))
            or not math.isfinite(jitter_ms)
            or jitter_ms < 0
        ):
            raise ConfigurationError(
                f"jitter_ms must be None (adaptive playout) or a fixed cushion in ms ≥ 0, got {jitter_ms!r}"
            )
        simulated = wants_simulator(api_key, base_url)
        backend: Backend | None = None
        if not simulated:
            backend = resolve_backend(agent_id, api_key, base_url)
            resolve_api_key(backend.api_key)  # a clear error now rather than at start
        elif agent_id is not None and not isinstance(agent_id, str):
            raise ConfigurationError(f"agent_id must be a string (an agent UUID), got {agent_id!r}")
        label = "simulator" if simulated else (backend.label if backend else "")
        self._settings = CallSettings(
            token_options={"first_message": first_message, "prompt": prompt, "version_id": version_id},
            backend_label=label,
            simulated=simulated,
            mic_capacity=int(mic_queue_frames),
            ping_interval_s=float(ping_interval_s),
            timeout=float(timeout),
            open_timeout=float(open_timeout),
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
        )
        if backend is not None and backend.api_key:
            self._settings.secrets.add(backend.api_key)
        self.tools = ToolRegistry(tools)
        self._calls = Calls(
            self._settings,
            self.tools,
            backend=backend,
            args=(agent_id, api_key, base_url),
            verbose=verbose,
            autosave=autosave,
            log=log,
            to_page=self._to_frontend,
            on_state=self._set_state,
        )
        #: Every call so far, each with its own log (``session.calls`` is its table).
        self.recording = self._calls.recording
        self._state: dict[str, Any] = {
            "status": "idle",
            "error": "",
            "transcript": [],
            "last_latency_ms": None,
            "last_latency_kind": "",
            "muted": False,
            "agent_name": "",
            "backend": label,
            "jitter_ms": None if jitter_ms is None else float(jitter_ms),
        }
        self._link = FrontendLink(
            inbox_frames=inbox_frames,
            route=self._calls.route,
            start=self._start_from_page,
            live_log=self._calls.live_log,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._widget: Any = None
        with contextlib.suppress(RuntimeError):
            self._bind_loop(asyncio.get_running_loop())

    # ------------------------------------------------------------------ loop

    def _bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is None:
            self._loop = loop
            self._link.bind(loop)
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
        """Start a call and return once it is live: fetch the agent, get a session token, open the
        socket, start the receive/send tasks. Raises what went wrong (also shown as status "error"
        and logged as ``local/error``). While a call is starting or live this just waits for it;
        after a call ended it starts a new call (``session.calls`` gets a row)."""
        await asyncio.shield(self.start_soon())

    def start_soon(self) -> asyncio.Task[None]:
        """Start a call in the background (a task on the current loop); a failure shows as status
        "error". Returns the call's start task (the running one if a call is starting or live)."""
        info = self._link.frontend_info if self._link.ready else None
        return self._calls.begin(self._current_loop(), muted=self._state["muted"], frontend_info=info)

    async def end(self, reason: str = "the call was ended from the notebook") -> None:
        """End the current call cleanly (closes the socket, logs ``local/closed``, tells the
        front-end). Everything recorded stays. Idempotent; no-op when no call is running."""
        self._current_loop()
        await self._calls.end(reason)

    def end_soon(self, reason: str = "the call was ended from the page") -> asyncio.Task[None]:
        """:meth:`end` as a background task on the session's loop."""
        task = self._current_loop().create_task(self.end(reason), name="vatel-session-end")
        task.add_done_callback(retrieve_exception)
        return task

    async def wait_ended(self, timeout: float | None = None) -> bool:
        """Wait until the current call is over (ended or failed); False if ``timeout`` s passed
        first or no call was started."""
        return await self._calls.wait_ended(timeout)

    def close(self) -> asyncio.Task[None] | None:
        """End the call, finish its autosave folder and close the widget. In a running loop (a
        notebook cell) the end is scheduled and its task returned; otherwise it runs to
        completion here."""
        task = None
        try:
            asyncio.get_running_loop()
            task = self.end_soon("the session was closed")
        except RuntimeError:
            if self._loop is not None and not self._loop.is_closed() and self._calls.in_call:
                run_sync(self.end("the session was closed"), loop=self._loop)
        if task is not None:  # the autosave folder gets everything once the call has ended
            task.add_done_callback(lambda _t: self._calls.stop_autosave())
        else:
            self._calls.stop_autosave()
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
        """``idle`` | ``connecting`` | ``live`` | ``ended`` | ``error`` (of the current call)."""
        return self._state["status"]

    @property
    def error(self) -> str:
        """The last error as a sentence saying what to do ("" if none)."""
        return self._state["error"]

    @property
    def transcript(self) -> list[dict[str, Any]]:
        """The current call's ``[{role: "user"|"agent", text, final, turn_id}, …]``: every entry (a
        copy; the widget's ``transcript`` trait shows the most recent ones). An interrupted agent
        line has ``interrupted: True`` and, once the page reported what played, ``heard_s`` and
        ``heard`` (the words heard, estimated)."""
        runner = self._calls.runner
        return [dict(e) for e in runner.core.transcript] if runner is not None else []

    @property
    def ui_state(self) -> dict[str, Any]:
        """The UI state the widget shows (its synced trait values), a copy."""
        return dict(self._state)

    @property
    def muted(self) -> bool:
        """True while the mic is muted (silence is sent instead, keeping the stream's timing)."""
        return self._state["muted"]

    @property
    def backend(self) -> str:
        """``"simulator"`` or the server's host name."""
        return self._state["backend"]

    @property
    def log(self) -> EventLog:
        """The current (last) call's log; before any call, an empty log."""
        return self._calls.log

    @property
    def _backend(self) -> Backend | None:
        return self._calls.backend

    @property
    def session_id(self) -> str | None:
        """The current call's id from ``session_started`` (None before)."""
        return self.log.meta.get("session_id")

    def set_muted(self, muted: bool) -> None:
        """Mute/unmute the mic (call on the session's loop; the front-end uses ``control``)."""
        self._calls.control(env.control("mute" if muted else "unmute"))

    def _set_state(self, changes: dict[str, Any]) -> None:
        changed = {k: v for k, v in changes.items() if self._state.get(k) != v}
        for key, value in changed.items():
            if isinstance(value, str):
                changed[key] = value = self._settings.scrub(value)
            self._state[key] = value
        self._link.update_state(changed, self.log)

    # ------------------------------------------------------------------ tools

    def tool(self, name_or_fn: Any = None) -> Any:
        """Register a tool: ``@session.tool`` (name = function name) or ``@session.tool("name")``."""
        return self.tools.decorator(name_or_fn)

    def register_tool(self, fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
        """Register ``fn`` as tool ``name`` (default ``fn.__name__``); returns ``fn``."""
        return self.tools.register(fn, name)

    # ------------------------------------------------------------------ front-ends

    def widget(self, *, transport: str | None = None) -> Any:
        """The notebook widget of this session: one model per session, the same object each time
        (displaying it twice shows two views of the one widget).

        ``transport``: how audio travels between page and kernel: ``"auto"`` (default: binary
        comm buffers if a probe each way shows they work, else base64 inside the message),
        ``"binary"``, or ``"base64"`` (force it, e.g. in Colab); None keeps the current setting."""
        if self._widget is None:
            from ..widget import VatelWidget

            self._widget = VatelWidget(self)
        if transport is not None:
            self._widget.transport = transport
        return self._widget

    @property
    def frontend_info(self) -> dict[str, Any]:
        """What the front-end said in its last ``ready`` (sample rates, latencies, user agent)."""
        return self._link.frontend_info

    def view(self, call: int | None = None, **kwargs: Any) -> Any:
        """The interactive call timeline (:class:`vatel_nb.view.CallView`) of call ``call`` (1, 2, …;
        default: the current/last call, followed live, and the next one when it starts): waveforms,
        turns, latency waterfalls and the recording. ``kwargs`` go to CallView."""
        from ..view import CallView

        return CallView(self, call=call, **kwargs)

    def attach(self, frontend: Frontend) -> None:
        """Use ``frontend`` (replacing any other); nothing is streamed to it before it sends ``ready``."""
        self._link.attach(frontend)

    def handle_frontend(self, envelope: dict[str, Any], buffers: list[Any] | tuple[Any, ...] = ()) -> bool:
        """Take one page → kernel envelope (+ buffers) from any thread; returns at once.

        The work happens on the session's loop. Returns False if a ``mic`` frame was dropped
        because the hand-off queue is full (counted; logged as ``local/dropped``)."""
        return self._link.inbox.put(envelope, list(buffers))  # the comm thread's whole job

    def _to_frontend(self, envelope: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self._link.send(envelope, buffers, self.log)

    def _start_from_page(self) -> None:
        if not self._calls.in_call:
            self.start_soon()

    # ------------------------------------------------------------------ calls and analysis

    @property
    def calls(self) -> pd.DataFrame:
        """One row per call: ``call`` (id 1, 2, …), ``start``/``end`` (UTC), ``duration_s``,
        ``status``, ``end_reason``, ``session_id``, ``events`` (see :class:`~vatel_nb.log.Recording`)."""
        return self.recording.calls

    @property
    def events(self) -> pd.DataFrame:
        """Every call's events with a ``call`` column; ``t`` = kernel s since that call started."""
        return self.recording.events()

    def turns(self, call: int | None = None, **kwargs: Any) -> pd.DataFrame:
        """One row per turn of every call (or of call ``call``), with its latencies and outcome
        (``vatel_nb.analysis.turns``; a ``call`` column first)."""
        from ..analysis import turns

        return turns(self.recording, call=call, **kwargs)

    def summary(self, call: int | None = None, **kwargs: Any) -> pd.DataFrame:
        """Latency percentiles and turn-taking measures over every call (or call ``call``):
        ``vatel_nb.analysis.summary`` of :meth:`turns` (``kwargs`` go to ``summary``)."""
        from ..analysis import summary, turns

        events = self.recording.events(call)  # built once: turns() and summary() share it
        return summary(turns(self.recording, call=call), events, **kwargs)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Save every call (events, both audio tracks, clock samples) to folder ``path``: one
        sub-folder per call plus ``calls.json``; ``vatel_nb.log.load_session(path)`` reads them back."""
        return self.recording.save(path, overwrite=overwrite)

    def stats(self) -> dict[str, Any]:
        """Counters of the current call: frames sent/dropped per queue, envelopes sent, queue
        high-water marks."""
        return self._link.stats(self._calls.runner, self._settings.mic_capacity)

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        return card_text(self._card())

    def _repr_html_(self) -> str:
        """A short card (agent, backend, calls so far); the live widget is ``session.widget()``."""
        return card_html(self._card())

    def _card(self) -> dict[str, str]:
        name = self._state["agent_name"] or (self._backend.agent_id if self._backend else "demo agent")
        return {
            "agent": name,
            "backend": self.backend,
            "calls": str(len(self.recording)),
            "status": self.status,
        }
