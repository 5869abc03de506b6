"""The front-end contract: the page ↔ kernel envelope, both directions, and the audio constants.

Below both the widget and the headless caller (and the session that serves them): one envelope
is a JSON object ``{"kind": "…", …}`` with a kebab-case kind. Audio never travels in the envelope
itself: it is the single binary buffer of ``mic`` (page → kernel) and ``audio`` (kernel → page),
PCM16 little-endian mono at :data:`SAMPLE_RATE` — unless the page found binary buffers unusable
(Colab's widget manager drops them): then both sides carry each buffer as base64 text in the
envelope's ``buffers_b64`` field (:func:`pack` / :func:`unpack`). The page finds out before
``ready`` with a ``probe`` each way and says which :data:`TRANSPORTS` it chose in ``ready``.
Times from the page are ``t_browser`` = ``performance.now()`` in milliseconds (browser clock); a
headless caller sends ``clock="modelled"`` and kernel ``perf_counter()`` ms instead. The
JavaScript twin is ``js/src/messages.js``; ``docs/architecture.md`` is the contract for both.

Builders return plain dicts ready to send; validators take what came in and return it unchanged
or raise :class:`EnvelopeError` saying which field is wrong.
"""

from __future__ import annotations

import base64
import binascii
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
    "PROBE_BYTES",
    "SAMPLE_RATE",
    "TRANSPORTS",
    "WIDGET_ACTIONS",
    "EnvelopeError",
    "as_bytes",
    "audio",
    "control",
    "end",
    "interrupt",
    "mic",
    "mic_frame",
    "pack",
    "ping",
    "playback",
    "pong",
    "probe",
    "probe_ok",
    "probe_reply",
    "ready",
    "status",
    "unpack",
    "validate_browser_envelope",
    "validate_kernel_envelope",
]

#: Samples per mic frame (20 ms at 24 kHz), as the page's capture worklet sends them.
FRAME_SAMPLES = 480
#: Duration of one mic frame, ms.
FRAME_MS = FRAME_SAMPLES * 1000 // SAMPLE_RATE

#: Envelopes the page sends to the kernel.
BROWSER_KINDS: frozenset[str] = frozenset({"probe", "ready", "mic", "playback", "pong", "control", "status"})
#: Envelopes the kernel sends to the page.
KERNEL_KINDS: frozenset[str] = frozenset({"probe", "audio", "interrupt", "ping", "end"})
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
#: How buffers travel: ``binary`` (comm buffers, the default) or ``base64`` (text inside the
#: envelope, field ``buffers_b64``: for widget managers whose binary buffers are unreliable).
TRANSPORTS: frozenset[str] = frozenset({"binary", "base64"})
#: The bytes of a ``probe`` buffer (each way): all 256 byte values, so that a buffer dropped,
#: truncated, or passed through a text encoding on the way does not compare equal.
PROBE_BYTES: bytes = bytes(range(256))


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


def probe_reply(probe_id: int, received: bool) -> dict[str, Any]:
    """``probe`` (kernel → page), the answer to the page's ``probe``: ``received`` says whether the
    page's probe buffer arrived intact; send it with one buffer of :data:`PROBE_BYTES`, at once
    (not held until ``ready``: the page is listening, it asked)."""
    return {"kind": "probe", "id": int(probe_id), "received": bool(received)}


# --------------------------------------------------------------------------- page → kernel


def probe(probe_id: int) -> dict[str, Any]:
    """``probe`` (page → kernel), before ``ready``: sent with one buffer of :data:`PROBE_BYTES`;
    the kernel answers ``probe {id, received}`` with one such buffer."""
    return {"kind": "probe", "id": int(probe_id)}


def ready(
    *,
    context_rate: float = SAMPLE_RATE,
    base_latency_ms: float = 0.0,
    output_latency_ms: float = 0.0,
    user_agent: str = "",
    processing: bool = False,
    transport: str = "binary",
    clock: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """``ready``: the audio engine is up (mic granted); the kernel streams nothing before it.
    Latencies in ms; ``transport`` (one of :data:`TRANSPORTS`): how buffers travel from now on,
    both ways. ``extra`` fields are kept as they are (e.g. ``headless=True``, the page's ``probe``
    result ``{to_kernel, to_page, forced}``)."""
    if transport not in TRANSPORTS:
        raise EnvelopeError(f"transport {transport!r} is not one of {sorted(TRANSPORTS)}")
    env = {
        "kind": "ready",
        "sample_rate": SAMPLE_RATE,
        "context_rate": context_rate,
        "base_latency_ms": float(base_latency_ms),
        "output_latency_ms": float(output_latency_ms),
        "user_agent": str(user_agent),
        "processing": bool(processing),
        "transport": transport,
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
    "probe": (("id", int, True),),
    "ready": (
        ("sample_rate", _NUMBER, False),
        ("output_latency_ms", _NUMBER, False),
        ("transport", str, False),
    ),
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
    "probe": (("id", int, True), ("received", bool, True)),
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
    if not isinstance(kind, str) or kind not in kinds:
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
    needs exactly one; :func:`unpack` first if it may carry ``buffers_b64``), ``clock``, the
    ``ready.transport`` and the enumerated values of ``control.action`` /
    ``playback.event``.
    """
    kind = _check(envelope, buffers, BROWSER_KINDS, _BROWSER_FIELDS, {"mic": 1})
    if kind == "ready" and envelope.get("transport", "binary") not in TRANSPORTS:
        raise EnvelopeError(
            f"ready envelope: transport {envelope['transport']!r} is not one of {sorted(TRANSPORTS)}"
        )
    clock = envelope.get("clock")
    if clock is not None and (not isinstance(clock, str) or clock not in FRONTEND_CLOCKS):
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


def mic_frame(envelope: Any, buffers: list[Any]) -> tuple[int, float, bytes, str | None] | None:
    """The hot path for the commonest envelope: ``(seq, t_browser ms, pcm, clock)`` of a well-formed
    binary-transport ``mic`` envelope (exact JSON types, one buffer of whole PCM16 samples),
    else None. Never raises; everything it accepts :func:`validate_browser_envelope` accepts too,
    so a None (anything else, or anything wrong) goes the validator's way and gets its error."""
    if envelope.__class__ is not dict or envelope.get("kind") != "mic" or len(buffers) != 1:
        return None
    seq, t_browser = envelope.get("seq"), envelope.get("t_browser")
    samples, clock = envelope.get("samples"), envelope.get("clock")
    if (
        seq.__class__ is not int
        or t_browser.__class__ not in _NUMBER
        or not (samples is None or samples.__class__ is int)
        or not (clock is None or (clock.__class__ is str and clock in FRONTEND_CLOCKS))
        or "buffers_b64" in envelope
    ):
        return None
    pcm = buffers[0]
    if pcm.__class__ is not bytes:
        try:
            pcm = as_bytes(pcm)
        except EnvelopeError:
            return None
    return (seq, float(t_browser), pcm, clock) if not len(pcm) & 1 else None


# --------------------------------------------------------------------------- transports


def pack(
    envelope: dict[str, Any], buffers: list[Any] | tuple[Any, ...], transport: str
) -> tuple[dict[str, Any], list[Any]]:
    """Make ``(envelope, buffers)`` ready to send over ``transport``: ``binary`` returns them as
    they are; ``base64`` returns a copy of the envelope whose ``buffers_b64`` holds each buffer as
    base64 text, and no buffers. :func:`unpack` (or ``unpackBuffers`` in the page) reverses it."""
    if transport not in TRANSPORTS:
        raise EnvelopeError(f"transport {transport!r} is not one of {sorted(TRANSPORTS)}")
    buffers = list(buffers)
    if transport == "binary" or not buffers:
        return envelope, buffers
    text = [base64.b64encode(as_bytes(b)).decode("ascii") for b in buffers]
    return {**envelope, "buffers_b64": text}, []


def unpack(envelope: Any, buffers: list[Any] | tuple[Any, ...] = ()) -> tuple[Any, list[Any]]:
    """The inverse of :func:`pack`, for either transport: an envelope with ``buffers_b64`` comes back
    without it and with its buffers decoded (as bytes); anything else comes back as it is.
    Raises :class:`EnvelopeError` if ``buffers_b64`` is not a list of base64 strings, or if the
    envelope also came with binary buffers (which would be ambiguous)."""
    if not isinstance(envelope, dict) or "buffers_b64" not in envelope:
        return envelope, list(buffers)
    kind = envelope.get("kind")
    text = envelope["buffers_b64"]
    if not isinstance(text, list) or not all(isinstance(t, str) for t in text):
        raise EnvelopeError(f"{kind} envelope: buffers_b64 must be a list of base64 strings")
    if len(buffers):
        raise EnvelopeError(f"{kind} envelope: has both buffers_b64 and {len(buffers)} binary buffer(s)")
    try:
        decoded = [base64.b64decode(t, validate=True) for t in text]
    except (binascii.Error, ValueError) as e:
        raise EnvelopeError(f"{kind} envelope: buffers_b64 is not valid base64 ({e})") from e
    return {k: v for k, v in envelope.items() if k != "buffers_b64"}, decoded


def probe_ok(buffers: list[Any] | tuple[Any, ...]) -> bool:
    """True if ``buffers`` is exactly one buffer holding :data:`PROBE_BYTES` (a probe that arrived
    intact); never raises."""
    if len(buffers) != 1:
        return False
    try:
        return as_bytes(buffers[0]) == PROBE_BYTES
    except EnvelopeError:
        return False
