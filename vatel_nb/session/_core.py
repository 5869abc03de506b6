"""The call core: one call's logic as a state machine with no I/O (like websockets' ``Protocol``).

Feed it what happened, with the time it happened (kernel s since the call's log ``t0``):

- :meth:`CallCore.connecting` / :meth:`~CallCore.agent` / :meth:`~CallCore.connected` /
  :meth:`~CallCore.closed` — the connection's life, reported by the shell;
- :meth:`CallCore.server` — one parsed server message (``vatel_nb.protocol``);
- :meth:`CallCore.frontend` — one page → kernel envelope (``vatel_nb.envelope``);
- :meth:`CallCore.ping` — the shell's clock-ping timer fired;
- :meth:`CallCore.mic_sent` / :meth:`~CallCore.tool_finished` — a send the shell made.

Each returns :class:`Effects` (:mod:`._effects`; ``mic_sent`` just its one row): rows for the
event log (:class:`Row`, or a protocol message to record with
:func:`~vatel_nb.log.record_server_message` / ``record_client_message``), messages to send to
the server, envelopes for the front-end, UI state changes (the widget's trait names), tools to
run, and whether the call should end. The core keeps its own control state (which turns
were interrupted, which were heard): it never reads the event log. The asyncio shell
(:mod:`._runner`) does the I/O; tests drive the core directly, without sockets or threads.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from .. import envelope as env
from ..analysis._latency import heard_text
from ..protocol import SAMPLE_RATE, InputAudio, ToolCall, ToolCallOutput
from ._effects import ClientRecord, ClockSample, Effects, MicFrame, Row, ServerRecord

__all__ = ["CallCore", "ClientRecord", "ClockSample", "Effects", "MicFrame", "Row", "ServerRecord"]

_MAX_PINGS = 64
#: Transcript entries the widget's ``transcript`` trait carries (the most recent ones): each update
#: re-sends the trait, so a bounded tail keeps a call with thousands of turns linear in time.
#: ``CallCore.transcript`` (``session.transcript``) keeps every entry.
TRANSCRIPT_TRAIT_ENTRIES = 200
_MAX_BAD_ENVELOPE_ROWS = 100


class CallCore:
    """The state of one call and what follows from each input (see the module docstring).

    ``muted``: start muted (the session carries the mute state across calls).
    """

    def __init__(self, *, muted: bool = False) -> None:
        #: ``connecting`` | ``live`` | ``ended`` | ``error``.
        self.status = "connecting"
        self.muted = bool(muted)
        self.finished = False
        self.transcript: list[dict[str, Any]] = []
        self._open: dict[str, list[int]] = {"user": [], "agent": []}  # non-final entries per role
        self._agent_line: dict[str | None, int] = {}  # agent turn id → its transcript entry
        self.interrupted: dict[str | None, float] = {}  # agent turn id → kernel t of its interruption
        self.heard: dict[str | None, int] = {}  # interrupted turn → samples the page played
        self.received: dict[str | None, int] = {}  # agent turn → samples forwarded to the page
        self.frontend_info: dict[str, Any] = {}
        self.session_id: str | None = None
        self.server_ended = False
        self.late_chunks = 0
        self.frames_sent = 0
        self.bad_envelopes = 0
        self._audio_seq = 0
        self._last_turn: str | None = None
        self._pings: OrderedDict[int, float] = OrderedDict()
        self._ping_id = 0

    # ------------------------------------------------------------------ connection life

    def connecting(self, t: float, *, backend: str, simulated: bool, frontend_info: dict | None) -> Effects:
        """The call begins (``t`` ≈ 0). ``frontend_info``: the ``ready`` the page sent before it."""
        fx = Effects()
        note = "using the embedded simulator (no VATEL_API_KEY / VATEL_BASE_URL set)" if simulated else None
        fx.row("local", "connecting", t, text=note, detail={"backend": backend})
        if frontend_info is not None:
            self._ready(frontend_info, t, fx)
        fx.state.update(
            status="connecting", error="", transcript=[], last_latency_ms=None, last_latency_kind=""
        )
        return fx

    def agent(self, t: float, info: dict[str, Any], name: str) -> Effects:
        """The agent's settings were fetched (``info``: agent_id, vad_settings, first_message)."""
        fx = Effects()
        fx.row("local", "agent", t, detail=dict(info))
        fx.state["agent_name"] = name or ""
        return fx

    def connected(self, t: float, url: str) -> Effects:
        """The socket is open: the call is live."""
        fx = Effects()
        fx.row("local", "connected", t, detail={"url": url})
        if not self.finished:
            self.status = "live"
            fx.state["status"] = "live"
        return fx

    def failed(self, t: float, text: str, type_name: str) -> Effects:
        """Something went wrong (``text`` is already scrubbed of secrets): the call is in error."""
        fx = Effects()
        fx.row("local", "error", t, text=text, detail={"type": type_name})
        self.status = "error"
        fx.state.update(status="error", error=text)
        return fx

    def closed(
        self, t: float, reason: str, *, clean: bool, code: int | None, close_reason: str, had_socket: bool
    ) -> Effects:
        """The call is over (``reason``: a sentence for the user). Idempotent."""
        fx = Effects()
        if self.finished:
            return fx
        self.finished = True
        if had_socket:
            fx.row("local", "closed", t, detail={"clean": clean, "code": code, "reason": close_reason})
        if self.status != "error":
            self.status = "ended"
            fx.state["status"] = "ended"
        fx.to_page(env.end(reason))
        return fx

    # ------------------------------------------------------------------ server → us

    def server(self, msg: Any, t: float, pcm: bytes | None = None) -> Effects:
        """One server message arrived at ``t``; ``pcm``: a ``response_audio``'s decoded audio."""
        fx = Effects()
        fx.rows.append(ServerRecord(msg, t, pcm))
        kind = msg.type
        if kind == "response_audio":
            self._agent_audio(msg, t, pcm if pcm is not None else msg.pcm(), fx)
        elif kind == "interruption":
            turn = self._last_turn
            self.interrupted.setdefault(turn, t)
            fx.to_page(env.interrupt(turn))
            self._mark_interrupted(turn, fx)
        elif kind == "response_text":
            self._transcribe("agent", msg.text, msg.is_final, msg.turn_id, fx)
        elif kind == "input_audio_transcript":
            self._transcribe("user", msg.transcript, msg.is_final, msg.turn_id, fx)
        elif kind == "tool_call":
            fx.tools.append(msg)
        elif kind == "session_started":
            self.session_id = msg.id
        elif kind == "session_ended":
            self.server_ended = True
            fx.end = "the agent ended the call"
        return fx

    def _agent_audio(self, msg: Any, t: float, pcm: bytes, fx: Effects) -> None:
        turn = msg.turn_id
        if turn in self.interrupted:  # a late chunk of an interrupted turn: never played
            self.late_chunks += 1
            fx.row("local", "dropped", t, text="interrupted-turn", turn_id=turn, samples=len(pcm) // 2)
            return
        self._last_turn = turn
        fx.to_page(env.audio(turn, self._audio_seq, msg.is_final), [pcm])
        self._audio_seq += 1
        if turn not in self.received:
            fx.latency = True
        self.received[turn] = self.received.get(turn, 0) + len(pcm) // 2

    def _transcribe(self, role: str, text: str, final: bool, turn_id: str | None, fx: Effects) -> None:
        entry: dict[str, Any] = {"role": role, "text": text, "final": bool(final), "turn_id": turn_id}
        entries, open_ = self.transcript, self._open[role]
        for j in range(len(open_) - 1, -1, -1):  # only the role's non-final entries: O(1) per update
            i = open_[j]
            if entries[i]["turn_id"] == turn_id or turn_id is None:
                entries[i] = {**entries[i], **entry}
                if final:
                    del open_[j]
                break
        else:
            i = len(entries)
            entries.append(entry)
            if not final:
                open_.append(i)
        if role == "agent":
            self._agent_line[turn_id] = i
            if turn_id in self.interrupted:
                self._mark_interrupted(turn_id, fx)
        self._show_transcript(fx)

    def _show_transcript(self, fx: Effects) -> None:
        fx.state["transcript"] = [dict(e) for e in self.transcript[-TRANSCRIPT_TRAIT_ENTRIES:]]

    def _mark_interrupted(self, turn: str | None, fx: Effects) -> None:
        """Flag the agent's transcript line of ``turn`` as cut, with the words heard when known."""
        i = self._agent_line.get(turn)
        if i is None:
            return
        e = self.transcript[i]
        e["interrupted"] = True
        got, played = self.received.get(turn, 0), self.heard.get(turn)
        if played is not None and got:
            e["heard_s"] = round(played / SAMPLE_RATE, 3)
            e["heard"] = heard_text(e["text"], played / got)
        self._show_transcript(fx)

    # ------------------------------------------------------------------ page → us

    def frontend(self, envelope: Any, buffers: list[Any], t: float) -> Effects:
        """One page → kernel envelope that arrived at ``t``. A malformed one becomes a
        ``local/error`` row (at most 100 per call), never an exception."""
        mic = env.mic_frame(envelope, buffers)  # the hot path: 50 a second, mostly well formed
        if mic is not None:
            return self._mic(*mic, t)
        fx = Effects()
        try:
            envelope, buffers = env.unpack(envelope, buffers)  # base64 transport → binary buffers
            self._envelope(env.validate_browser_envelope(envelope, buffers), buffers, t, fx)
        except env.EnvelopeError as e:
            self._bad(str(e), t, fx)
        return fx

    def _bad(self, why: str, t: float, fx: Effects) -> None:
        self.bad_envelopes += 1
        if self.bad_envelopes <= _MAX_BAD_ENVELOPE_ROWS:
            fx.row("local", "error", t, text=f"ignored a front-end envelope: {why}")

    def _envelope(self, envelope: dict[str, Any], buffers: list[Any], t: float, fx: Effects) -> None:
        kind, clock = envelope["kind"], envelope.get("clock")
        if kind == "mic":  # base64 transport, or types env.mic_frame leaves to the validator
            pcm = env.as_bytes(buffers[0])
            if len(pcm) % 2:
                raise env.EnvelopeError(
                    f"mic frame {envelope['seq']} has an odd number of bytes ({len(pcm)})"
                )
            self._mic(envelope["seq"], float(envelope["t_browser"]), pcm, clock, t, fx)
        elif kind == "pong":
            self._pong(envelope, t, fx)
        elif kind == "playback":
            self._playback(envelope, t, fx)
        elif kind == "control":
            self._control(envelope["action"], fx)
        elif kind == "status":
            state, error = envelope["state"], envelope.get("error")
            if error:
                fx.row("browser", "error", t, text=str(error), detail={"state": state}, clock=clock)
                fx.state["error"] = str(error)
            else:
                fx.row("browser", "status", t, text=state, clock=clock)
        elif kind == "ready":
            self._ready(envelope, t, fx)

    def _mic(
        self, seq: int, t_browser: float, pcm: bytes, clock: str | None, t: float, fx: Effects | None = None
    ) -> Effects:
        """A valid mic frame (``t_browser`` ms of its first sample; ``pcm`` whole PCM16 samples)
        arrived at ``t``: one ``browser/mic-captured`` row, and the frame to send (silence while
        muted, timing kept); nothing once the call is over. Effects in one step: ``fx`` or new."""
        if fx is None:
            fx = Effects()
        if self.finished:
            return fx
        fx.rows.append(
            Row(
                "browser",
                "mic-captured",
                t,
                {"seq": seq, "samples": len(pcm) // 2, "t_browser": t_browser, "clock": clock},
            )
        )
        fx.send.append(MicFrame(seq, t_browser, bytes(len(pcm)) if self.muted else pcm))
        return fx

    def _ready(self, envelope: dict[str, Any], t: float, fx: Effects) -> None:
        self.frontend_info = {k: v for k, v in envelope.items() if k != "kind"}
        fx.row(
            "browser", "status", t, text="ready", detail=dict(self.frontend_info), clock=envelope.get("clock")
        )

    def _control(self, action: str, fx: Effects) -> None:
        if action == "end":
            fx.end = "the call was ended from the page"
        elif action in ("mute", "unmute"):
            self.muted = action == "mute"
            fx.state["muted"] = self.muted
        # "start" during a call: nothing to do (the session starts calls); the kernel-audio actions
        # are the widget's and never reach a call

    def _playback(self, envelope: dict[str, Any], t: float, fx: Effects) -> None:
        event, turn = envelope["event"], envelope.get("turn_id")
        detail = {
            k: envelope[k]
            for k in ("dropped_samples", "output_latency_ms", "target_ms")
            if envelope.get(k) is not None
        }
        samples = envelope.get("samples")
        fx.row(
            "browser",
            "underrun" if event == "underrun" else f"playback-{event}",
            t,
            turn_id=turn,
            t_browser=float(envelope["t_browser"]),
            samples=None if samples is None else int(samples),
            detail=detail or None,
            clock=envelope.get("clock"),
        )
        if event == "started":
            fx.latency = True
        elif event == "flushed" and samples is not None:
            self.heard[turn] = int(samples)
            if turn in self.interrupted:
                self._mark_interrupted(turn, fx)

    # ------------------------------------------------------------------ clock pings

    def ping(self, t: float) -> Effects:
        """Send one clock ping now (``t``); the page's ``pong`` gives a clock-sync sample."""
        fx = Effects()
        if self.finished:
            return fx
        self._ping_id += 1
        self._pings[self._ping_id] = t
        while len(self._pings) > _MAX_PINGS:
            self._pings.popitem(last=False)
        fx.to_page(env.ping(self._ping_id))
        return fx

    def _pong(self, envelope: dict[str, Any], k_recv: float, fx: Effects) -> None:
        k_send = self._pings.pop(envelope["id"], None)
        if k_send is None:
            raise env.EnvelopeError(f"pong for unknown ping id {envelope['id']!r}")
        t_browser = float(envelope["t_browser"])
        if not math.isfinite(t_browser) or k_recv < k_send:
            raise env.EnvelopeError(f"pong {envelope['id']}: t_browser or timing is not usable")
        fx.rows.append(ClockSample(k_send, t_browser, k_recv))
        fx.row(
            "browser",
            "clock-sync",
            k_recv,
            t_browser=t_browser,
            detail={
                "rtt_ms": (k_recv - k_send) * 1000.0,
                "offset_ms": t_browser - (k_send + k_recv) * 500.0,
                "ping_id": envelope["id"],
                "k_send": k_send,
            },
            clock=envelope.get("clock"),
        )

    # ------------------------------------------------------------------ sends the shell made

    def mic_sent(self, frame: MicFrame, message: InputAudio, t: float) -> ClientRecord:
        """``frame`` went out on the socket at ``t`` (kernel s) as ``message`` (its ``input_audio``,
        encoded once by the shell that sent it). Returns the one thing that follows, the row to
        record (``client/input_audio``, and the frame's audio on the user track): no
        :class:`Effects` for the commonest step (50 a second)."""
        self.frames_sent += 1
        return ClientRecord(message, t, frame.seq, frame.t_browser, frame.pcm)

    def tool_started(self, call: ToolCall, t: float) -> Effects:
        """The shell began running tool ``call``."""
        fx = Effects()
        fx.row(
            "local",
            "tool-started",
            t,
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            detail={"arguments": call.kwargs},
        )
        return fx

    def tool_finished(self, call: ToolCall, result: Any, t: float) -> Effects:
        """Tool ``call`` gave ``result`` (a :class:`~vatel_nb.session.ToolResult`): log it and send
        its output (unless the call is over)."""
        fx = Effects()
        detail: dict[str, Any] = {"error": result.error, "duration_ms": result.duration_ms}
        if result.ignored:
            detail["ignored_arguments"] = list(result.ignored)
        if result.unknown:
            detail["unknown_tool"] = True
        fx.row(
            "local",
            "tool-finished",
            t,
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            text=result.output,
            detail=detail,
        )
        if not self.finished:
            fx.send.append(ToolCallOutput(call.tool_call_id, result.output))
        return fx
