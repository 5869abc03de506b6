"""Protocol message → event-log row (and audio chunk), as the contract table says.

The session layer calls :func:`record_server_message` for every frame received and
:func:`record_client_message` for every frame sent. Audio is stored once: the row carries the
sample count, the PCM goes to ``log.agent_audio`` / ``log.user_audio`` (pass ``keep_audio=False``
if you store it yourself). An ``interruption`` also marks the agent turn that was playing in
``log.agent_audio`` so its late chunks are flagged dropped.
"""

from __future__ import annotations

from typing import Any

from ..protocol import (
    InputAudio,
    InputAudioTranscript,
    Interruption,
    InvalidMessage,
    ResponseAudio,
    ResponseText,
    SessionStarted,
    SpeechStarted,
    ToolCall,
    ToolCallOutput,
)
from ._eventlog import EventLog

__all__ = ["RAW_KEEP_CHARS", "record_client_message", "record_server_message"]

#: Characters of an invalid frame's raw text kept in its row (``detail.raw``); the full length is
#: ``detail.raw_chars``. A 20 MB garbage frame must not become a 20 MB cell.
RAW_KEEP_CHARS = 2000


def _detail(msg: Any, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"detail": …}`` keywords: ``detail`` plus the message's unknown wire fields (``unknown``)."""
    extra = getattr(msg, "extra", None)
    if extra:
        detail = dict(detail or {}, unknown=dict(extra))
    return {} if detail is None else {"detail": detail}


def record_server_message(
    log: EventLog,
    msg: Any,
    t: float | None = None,
    *,
    pcm: bytes | None = None,
    keep_audio: bool = True,
) -> None:
    """Append one server → client message (a parsed ``vatel_nb.protocol`` object) to ``log``.

    ``t``: kernel arrival time, s since ``log.t0`` (default now). ``pcm``: the decoded audio of a
    ``response_audio`` if you already have it (saves a second base64 decode).
    """
    if t is None:
        t = log.now()
    if isinstance(msg, ResponseAudio):
        data = msg.pcm() if pcm is None else pcm
        log.append(
            "server",
            "response_audio",
            t,
            turn_id=msg.turn_id,
            is_final=msg.is_final,
            samples=len(data) // 2,
            **_detail(msg),
        )
        if keep_audio:
            log.agent_audio.append(t, data, msg.turn_id)
    elif isinstance(msg, ResponseText):
        log.append(
            "server",
            "response_text",
            t,
            turn_id=msg.turn_id,
            text=msg.text,
            is_final=msg.is_final,
            **_detail(msg),
        )
    elif isinstance(msg, InputAudioTranscript):
        log.append(
            "server",
            "input_audio_transcript",
            t,
            turn_id=msg.turn_id,
            text=msg.transcript,
            is_final=msg.is_final,
            **_detail(msg),
        )
    elif isinstance(msg, SpeechStarted):
        log.append("server", "speech_started", t, **_detail(msg, {"emulated": msg.emulated}))
    elif isinstance(msg, Interruption):
        cut = log.agent_audio.interrupt(t)
        log.append("server", "interruption", t, **_detail(msg, {"interrupted_turn_id": cut}))
    elif isinstance(msg, ToolCall):
        log.append(
            "server",
            "tool_call",
            t,
            tool_call_id=msg.tool_call_id,
            tool_name=msg.tool_name,
            **_detail(msg, {"arguments": msg.kwargs}),
        )
    elif isinstance(msg, SessionStarted):
        log.meta.setdefault("session_id", msg.id)
        log.append("server", "session_started", t, **_detail(msg, {"session_id": msg.id}))
    elif isinstance(msg, InvalidMessage):
        raw = msg.raw if len(msg.raw) <= RAW_KEEP_CHARS else msg.raw[:RAW_KEEP_CHARS] + "…"
        detail = {"raw": raw, "raw_chars": len(msg.raw), "message_type": msg.message_type}
        log.append("server", "invalid", t, text=msg.error, turn_id=msg.turn_id, detail=detail)
    else:
        mtype = getattr(msg, "type", None)
        if not isinstance(mtype, str):
            raise TypeError(
                "record_server_message expects a parsed vatel_nb.protocol message, "
                f"got {type(msg).__name__}; parse the frame with vatel_nb.protocol.parse_server_message first"
            )
        log.append("server", mtype, t, **_detail(msg))  # speech_stopped, session_ended, …


def record_client_message(
    log: EventLog,
    msg: Any,
    t: float | None = None,
    *,
    seq: int | None = None,
    t_browser: float | None = None,
    pcm: bytes | None = None,
    keep_audio: bool = True,
) -> None:
    """Append one client → server message to ``log`` (``t`` = kernel send time, s since t0).

    For ``input_audio``: ``seq`` is the page's frame number and ``t_browser`` the browser
    ``performance.now()`` ms of the chunk's first captured sample (both optional); the PCM goes to
    ``log.user_audio`` (do not append it there again).
    """
    if t is None:
        t = log.now()
    if isinstance(msg, InputAudio):
        data = msg.pcm() if pcm is None else pcm
        log.append("client", "input_audio", t, samples=len(data) // 2, seq=seq)
        if keep_audio:
            log.user_audio.append(t, data, t_browser=t_browser, seq=seq)
    elif isinstance(msg, ToolCallOutput):
        log.append("client", "tool_call_output", t, tool_call_id=msg.tool_call_id, text=msg.output)
    else:
        raise TypeError(
            f"record_client_message expects InputAudio or ToolCallOutput, got {type(msg).__name__}"
        )
