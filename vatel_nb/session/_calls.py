"""The calls of a session, one after another: each call's log and runner, and the Recording.

:class:`Calls` starts a call (a new :class:`~vatel_nb.log.EventLog` whose ``t0`` is the call's
start, a :class:`~._runner.CallRunner` around a new :class:`~._core.CallCore`), ends it, keeps
each call's status and end reason in the :class:`~vatel_nb.log.Recording`, writes autosave's
``calls.json``, and says which call a page envelope belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

from ..log import EventLog, Recording
from ..log._recording import CallEntry, call_folder, write_calls_index
from ._backend import Backend, ensure_backend
from ._runner import CallRunner, CallSettings
from ._tools import ToolRegistry

__all__ = ["Calls", "retrieve_exception"]


class Calls:
    """One session's calls (see the module docstring).

    ``to_page`` / ``on_state``: where every call's envelopes and UI state changes go; ``args``:
    (agent_id, api_key, base_url) to resolve the backend with when ``backend`` is None; ``log``:
    the log of the first call (default: a new one); ``autosave``: the session's autosave folder.
    """

    def __init__(
        self,
        settings: CallSettings,
        tools: ToolRegistry,
        *,
        backend: Backend | None,
        args: tuple[str | None, str | None, str | None],
        verbose: bool,
        autosave: str | os.PathLike[str] | None,
        log: EventLog | None,
        to_page: Callable[[dict[str, Any], list[bytes]], None],
        on_state: Callable[[dict[str, Any]], None],
    ) -> None:
        self.settings, self.tools = settings, tools
        self.backend, self._args, self._verbose = backend, args, verbose
        self._autosave, self._first_log = autosave, log
        self._to_page, self._on_state = to_page, on_state
        self.recording = Recording()
        self.runner: CallRunner | None = None
        self.entry: CallEntry | None = None
        self.start_task: asyncio.Task[None] | None = None
        # envelopes before the first call go to an idle core over the idle log (a page error
        # before any call is recorded and shown)
        self.idle_log = log if log is not None else EventLog()
        self.idle = CallRunner(self.idle_log, settings, tools, to_page=to_page, on_state=on_state)
        self.idle.core.finished = True

    @property
    def in_call(self) -> bool:
        """True while a call is starting or live (not once its end was asked for: a call still
        closing its socket does not hold up the next Start)."""
        r = self.runner
        return r is not None and not r.finished and r.end_reason is None

    @property
    def log(self) -> EventLog:
        """The current (last) call's log; before any call, the idle log."""
        return self.recording.log() if self.recording else self.idle_log

    def live_log(self) -> EventLog | None:
        """The log of the call in progress (None between calls)."""
        return self.runner.log if self.in_call and self.runner is not None else None

    def route(self, envelope: dict[str, Any], buffers: list[Any], t_abs: float) -> None:
        """A page envelope to the call it belongs to: the call in progress; between calls, the
        last call's finished core (late playback/status reports; mic frames ignored); before any
        call, the idle core. ``t_abs``: ``perf_counter`` at hand-off."""
        target = self.runner or self.idle
        target.handle(envelope, buffers, t_abs - target.log.t0)

    def control(self, envelope: dict[str, Any]) -> None:
        """A control envelope from the notebook side (mute/unmute) to the call, or the idle core."""
        target = self.runner if self.in_call and self.runner is not None else self.idle
        target.handle(envelope, [], target.log.now())

    # ------------------------------------------------------------------ start / end

    def begin(
        self, loop: asyncio.AbstractEventLoop, *, muted: bool, frontend_info: dict[str, Any] | None
    ) -> asyncio.Task[None]:
        """Start a new call (or return the start task of the one starting or live)."""
        if self.in_call and self.start_task is not None:
            return self.start_task
        if self.runner is not None:  # the last call's folder is complete: its autosave stops
            self.runner.stop_autosave()
        first = not self.recording
        log = self._first_log if (self._first_log is not None and first) else EventLog()
        if first and log is not self.idle_log:  # meta set on session.log before any call: the first call's
            log.meta.update({k: v for k, v in self.idle_log.meta.items() if k not in log.meta})
        self.entry = entry = self.recording.add(log)
        runner: CallRunner

        def to_page(envelope: dict[str, Any], buffers: list[bytes]) -> None:
            if runner is self.runner:  # a call still closing after the next began says nothing
                self._to_page(envelope, buffers)

        def on_state(changes: dict[str, Any]) -> None:
            self._call_state(entry, runner, changes)

        self.runner = runner = CallRunner(
            log,
            self.settings,
            self.tools,
            to_page=to_page,
            on_state=on_state,
            muted=muted,
            frontend_info=frontend_info,
            autosave=call_folder(self._autosave, entry.call) if self._autosave else None,
        )
        runner.begin()
        self.start_task = loop.create_task(self._start(runner), name="vatel-session-start")
        self.start_task.add_done_callback(retrieve_exception)
        return self.start_task

    async def _start(self, runner: CallRunner) -> None:
        try:
            self.backend = await ensure_backend(self.backend, self._args, verbose=self._verbose)
        except Exception as e:
            await runner.fail(e)
            raise
        if self.backend.api_key:
            self.settings.secrets.add(self.backend.api_key)
        await runner.start(self.backend)

    async def end(self, reason: str) -> None:
        """End the current call (cancelling its start if it is still connecting). Idempotent."""
        runner, task = self.runner, self.start_task
        if runner is None:
            return
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await runner.end(reason)

    def stop_autosave(self) -> None:
        """Write what the last call's front-end reported after its end, and stop its autosave."""
        if self.runner is not None:
            self.runner.stop_autosave()

    async def wait_ended(self, timeout: float | None) -> bool:
        """Wait until the current call is over; False on timeout or when no call was started."""
        if self.runner is None:
            return False
        try:
            await asyncio.wait_for(self.runner.wait_ended(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    # ------------------------------------------------------------------ bookkeeping

    def _call_state(self, entry: CallEntry, runner: CallRunner, changes: dict[str, Any]) -> None:
        """A call's state changed: its entry keeps its status and end reason; the UI shows only
        the current call's (a call still closing after the next began updates its entry only)."""
        if "status" in changes:
            entry.status = changes["status"]
            if entry.status in ("ended", "error"):
                entry.end_reason = runner.end_reason or changes.get("error") or entry.end_reason
            entry.log.meta["call"] = entry.info()
            self._write_index()
        if runner is self.runner:
            self._on_state(changes)

    def _write_index(self) -> None:
        """Autosave's ``calls.json``, once a call's folder exists (a call that never connected
        writes nothing)."""
        root = self._autosave
        if root and any(call_folder(root, e.call).exists() for e in self.recording):
            try:
                write_calls_index(root, self.recording.entries)
            except OSError as e:
                self.log.append("local", "error", text=f"autosave to {root!s} failed: {e}")


def retrieve_exception(task: asyncio.Task[Any]) -> None:
    """Done-callback: mark a background task's exception as seen (it is already logged/shown)."""
    if not task.cancelled():
        task.exception()
