"""The front-end contract: the page ↔ kernel envelope, both directions, and the audio constants.

Below both the widget and the headless caller (and the session that serves them): one envelope
is a JSON object ``{"kind": "…", …}`` with a kebab-case kind. Audio never travels in the envelope
itself: it is the single binary buffer of ``mic`` (page → kernel) and ``audio`` (kernel → page),
PCM16 little-endian mono at :data:`SAMPLE_RATE`. Times from the page are ``t_browser`` =
``performance.now()`` in milliseconds (browser clock); a headless caller sends ``clock="modelled"``
and kernel ``perf_counter()`` ms instead. The JavaScript twin is ``js/src/messages.js``;
``docs/architecture.md`` is the contract for both.

Builders return plain dicts ready to send; validators take what came in and return it unchanged
or raise :class:`EnvelopeError` saying which field is wrong.
"""

from __future__ import annotations

from typing import Any

from .protocol import SAMPLE_RATE

__all__ = [
    "BROWSER_KINDS",
    "CONTROL_ACTIONS",
    "FRAME_MS",
    "FRAME_SAMPLES",
    "FRONTEND_CLOCKS",
    "KERNEL_KINDS",
    "PLAYBACK_EVENTS",
    "SAMPLE_RATE",
    "WIDGET_ACTIONS",
    "EnvelopeError",
    "as_bytes",
    "audio",
    "control",
    "end",
    "interrupt",
    "mic",
    "ping",
    "playback",
    "pong",
    "ready",
    "status",
    "validate_browser_envelope",
    "validate_kernel_envelope",
]

#: Samples per mic frame (20 ms at 24 kHz), as the page's capture worklet sends them.
FRAME_SAMPLES = 480
#: Duration of one mic frame, ms.
FRAME_MS = FRAME_SAMPLES * 1000 // SAMPLE_RATE

#: Envelopes the page sends to the kernel.
BROWSER_KINDS: frozenset[str] = frozenset({"ready", "mic", "playback", "pong", "control", "status"})
#: Envelopes the kernel sends to the page.
KERNEL_KINDS: frozenset[str] = frozenset({"audio", "interrupt", "ping", "end"})
#: ``control.action`` values (the user clicked). The ``*-kernel-audio`` / ``use-page-audio`` ones
#: are for the widget (its kernel-audio mode: ask for the kernel's devices, use them, give them up),
#: never routed to a call.
CONTROL_ACTIONS: frozenset[str] = frozenset(
    {"start", "end", "mute", "unmute", "probe-kernel-audio", "use-kernel-audio", "use-page-audio"}
)
#: The control actions the widget handles itself (kernel-audio mode).
WIDGET_ACTIONS: frozenset[str] = frozenset({"probe-kernel-audio", "use-kernel-audio", "use-page-audio"})
#: ``playback.event`` values.
PLAYBACK_EVENTS: frozenset[str] = frozenset({"started", "stopped", "flushed", "underrun"})
#: Optional ``clock`` field of any page envelope: where its times come from. The page omits it
#: (= ``browser``); a headless caller standing in for the page sends ``modelled``; the kernel's
#: local-audio front-end (``vatel_nb.local``) sends ``device``: PortAudio's stream time, in ms.
FRONTEND_CLOCKS: frozenset[str] = frozenset({"browser", "modelled", "device"})


class EnvelopeError(ValueError):
    """An envelope is malformed; the message says which field and what was expected."""


def _clocked(envelope: dict[str, Any], clock: str | None) -> dict[str, Any]:
    if clock is not None:
        if clock not in FRONTEND_CLOCKS:
            raise EnvelopeError(f"clock {clock!r} is not one of {sorted(FRONTEND_CLOCKS)}")
        envelope["clock"] = clock
    return envelope


# --------------------------------------------------------------------------- kernel → page


def audio(turn_id: str | None, seq: int, final: bool) -> dict[str, Any]:
    """``audio``: play the one buffer sent with it (PCM16 LE mono 24 kHz); ``seq`` counts chunks."""
    return {"kind": "audio", "turn_id": turn_id, "seq": int(seq), "final": bool(final)}


def interrupt(turn_id: str | None) -> dict[str, Any]:
    """``interrupt``: flush playback of ``turn_id`` now and drop its later chunks (None: all)."""
    return {"kind": "interrupt", "turn_id": turn_id}


def ping(ping_id: int) -> dict[str, Any]:
    """``ping``: clock sync; the page answers ``pong {id, t_browser}`` at once."""
    return {"kind": "ping", "id": int(ping_id)}


def end(reason: str) -> dict[str, Any]:
    """``end``: the call is over (``reason`` is a sentence for the user); stop capture."""
    return {"kind": "end", "reason": str(reason)}


# --------------------------------------------------------------------------- page → kernel


def ready(
    *,
    context_rate: float = SAMPLE_RATE,
    base_latency_ms: float = 0.0,
    output_latency_ms: float = 0.0,
    user_agent: str = "",
    processing: bool = False,
    clock: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """``ready``: the audio engine is up (mic granted); the kernel streams nothing before it.
    Latencies in ms; ``extra`` fields are kept as they are (e.g. ``headless=True``)."""
    env = {
        "kind": "ready",
        "sample_rate": SAMPLE_RATE,
        "context_rate": context_rate,
        "base_latency_ms": float(base_latency_ms),
        "output_latency_ms": float(output_latency_ms),
        "user_agent": str(user_agent),
        "processing": bool(processing),
        **extra,
    }
    return _clocked(env, clock)


def mic(
    seq: int, t_browser: float, samples: int = FRAME_SAMPLES, *, clock: str | None = None
) -> dict[str, Any]:
    """``mic``: one captured frame, sent with one PCM16 buffer; ``t_browser`` = capture time (ms)
    of its first sample."""
    return _clocked(
        {"kind": "mic", "seq": int(seq), "t_browser": float(t_browser), "samples": int(samples)}, clock
    )


def playback(
    event: str,
    turn_id: str | None,
    t_browser: float,
    samples: int,
    *,
    dropped_samples: int | None = None,
    output_latency_ms: float | None = None,
    target_ms: float | None = None,
    clock: str | None = None,
) -> dict[str, Any]:
    """``playback``: started (first sample audible) | stopped (last sample played) | flushed (cut
    on interrupt; ``samples`` played, ``dropped_samples`` discarded) | underrun (silence inserted).
    ``target_ms``: the playout buffer's target depth (ms) at the event (adaptive, or the fixed
    cushion)."""
    if event not in PLAYBACK_EVENTS:
        raise EnvelopeError(f"playback event {event!r} is not one of {sorted(PLAYBACK_EVENTS)}")
    env: dict[str, Any] = {
        "kind": "playback",
        "event": event,
        "turn_id": turn_id,
        "t_browser": float(t_browser),
        "samples": int(samples),
    }
    if dropped_samples is not None:
        env["dropped_samples"] = int(dropped_samples)
    if output_latency_ms is not None:
        env["output_latency_ms"] = float(output_latency_ms)
    if target_ms is not None:
        env["target_ms"] = float(target_ms)
    return _clocked(env, clock)


def pong(ping_id: int, t_browser: float, *, clock: str | None = None) -> dict[str, Any]:
    """``pong``: the answer to ``ping {id}``, with the page's clock (ms) when it answered."""
    return _clocked({"kind": "pong", "id": int(ping_id), "t_browser": float(t_browser)}, clock)


def control(action: str, *, clock: str | None = None) -> dict[str, Any]:
    """``control``: the user clicked start | end | mute | unmute (or a kernel-audio action)."""
    if action not in CONTROL_ACTIONS:
        raise EnvelopeError(f"control action {action!r} is not one of {sorted(CONTROL_ACTIONS)}")
    return _clocked({"kind": "control", "action": action}, clock)


def status(state: str, error: str | None = None, *, clock: str | None = None) -> dict[str, Any]:
    """``status``: the page's engine state (``starting``, ``ended``, or an error state with a sentence)."""
    env: dict[str, Any] = {"kind": "status", "state": str(state)}
    if error is not None:
        env["error"] = str(error)
    return _clocked(env, clock)


# --------------------------------------------------------------------------- validators

_NUMBER = (int, float)
_TURN = (str, type(None))

# kind → ((field, type, required), …); extra fields are kept as they are.
_BROWSER_FIELDS: dict[str, tuple[tuple[str, Any, bool], ...]] = {
    "ready": (("sample_rate", _NUMBER, False), ("output_latency_ms", _NUMBER, False)),
    "mic": (("seq", int, True), ("t_browser", _NUMBER, True), ("samples", int, False)),
    "playback": (
        ("event", str, True),
        ("t_browser", _NUMBER, True),
        ("samples", _NUMBER, False),
        ("target_ms", _NUMBER, False),
    ),
    "pong": (("id", int, True), ("t_browser", _NUMBER, True)),
    "control": (("action", str, True),),
    "status": (("state", str, True),),
}
_KERNEL_FIELDS: dict[str, tuple[tuple[str, Any, bool], ...]] = {
    "audio": (("seq", int, True), ("final", bool, True)),
    "interrupt": (),
    "ping": (("id", int, True),),
    "end": (("reason", str, False),),
}


def _check(
    envelope: Any,
    buffers: Any,
    kinds: frozenset[str],
    fields: dict[str, tuple[tuple[str, Any, bool], ...]],
    n_buffers: dict[str, int],
) -> str:
    if not isinstance(envelope, dict):
        raise EnvelopeError(f"an envelope must be a JSON object, got {type(envelope).__name__}")
    kind = envelope.get("kind")
    if kind not in kinds:
        raise EnvelopeError(f"unknown envelope kind {kind!r}; expected one of {sorted(kinds)}")
    for name, typ, required in fields[kind]:
        if name not in envelope or envelope[name] is None:
            if required:
                raise EnvelopeError(f"{kind} envelope: missing field {name!r}")
            continue
        value = envelope[name]
        if (isinstance(value, bool) and typ is not bool) or not isinstance(value, typ):
            raise EnvelopeError(
                f"{kind} envelope: field {name!r} has the wrong type ({type(value).__name__})"
            )
    want = n_buffers.get(kind, 0)
    if want and len(buffers) != want:
        raise EnvelopeError(f"{kind} envelope needs {want} binary buffer(s), got {len(buffers)}")
    return kind


def validate_browser_envelope(envelope: Any, buffers: list[Any] | tuple[Any, ...] = ()) -> dict[str, Any]:
    """Check one page → kernel envelope; return it unchanged, or raise :class:`EnvelopeError`.

    Checks the kind, the required fields and their JSON types, the number of buffers (``mic``
    needs exactly one), ``clock`` and the enumerated values of ``control.action`` /
    ``playback.event``.
    """
    kind = _check(envelope, buffers, BROWSER_KINDS, _BROWSER_FIELDS, {"mic": 1})
    clock = envelope.get("clock")
    if clock is not None and clock not in FRONTEND_CLOCKS:
        raise EnvelopeError(f"{kind} envelope: clock {clock!r} is not one of {sorted(FRONTEND_CLOCKS)}")
    if kind == "control" and envelope["action"] not in CONTROL_ACTIONS:
        raise EnvelopeError(f"control action {envelope['action']!r} is not one of {sorted(CONTROL_ACTIONS)}")
    if kind == "playback" and envelope["event"] not in PLAYBACK_EVENTS:
        raise EnvelopeError(f"playback event {envelope['event']!r} is not one of {sorted(PLAYBACK_EVENTS)}")
    return envelope


def validate_kernel_envelope(envelope: Any, buffers: list[Any] | tuple[Any, ...] = ()) -> dict[str, Any]:
    """Check one kernel → page envelope (what a front-end received); return it unchanged, or raise
    :class:`EnvelopeError`. ``audio`` needs exactly one buffer; ``turn_id`` is a string or None."""
    kind = _check(envelope, buffers, KERNEL_KINDS, _KERNEL_FIELDS, {"audio": 1})
    if kind in ("audio", "interrupt") and not isinstance(envelope.get("turn_id"), _TURN):
        raise EnvelopeError(f"{kind} envelope: turn_id must be a string or null")
    return envelope


def as_bytes(buffer: Any) -> bytes:
    """A comm buffer as ``bytes``: accepts bytes, bytearray, memoryview (Jupyter's DataView) and
    anything with the buffer protocol (Colab's Uint8Array arrives as one of these)."""
    if isinstance(buffer, bytes):
        return buffer
    try:
        return memoryview(buffer).cast("B").tobytes()
    except TypeError as e:
        raise EnvelopeError(f"a binary buffer must be bytes-like, got {type(buffer).__name__}") from e
