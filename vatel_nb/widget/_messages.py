"""The widget ↔ browser envelope, Python side: kind names, builders and one validator.

One envelope is a JSON object ``{"kind": "…", …}`` (kebab-case kinds). Audio never travels in
the envelope itself: it is the single binary buffer that goes with ``mic`` (browser → kernel)
and ``audio`` (kernel → browser), PCM16 little-endian mono 24 kHz. Times from the page are
``t_browser`` = ``performance.now()`` in milliseconds (browser clock). The JavaScript twin is
``js/src/messages.js``; ``docs/architecture.md`` is the contract for both.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BROWSER_KINDS",
    "CONTROL_ACTIONS",
    "FRONTEND_CLOCKS",
    "KERNEL_KINDS",
    "PLAYBACK_EVENTS",
    "EnvelopeError",
    "as_bytes",
    "audio",
    "end",
    "interrupt",
    "ping",
    "validate_browser_envelope",
]

#: Envelopes the page sends to the kernel.
BROWSER_KINDS: frozenset[str] = frozenset({"ready", "mic", "playback", "pong", "control", "status"})
#: Envelopes the kernel sends to the page.
KERNEL_KINDS: frozenset[str] = frozenset({"audio", "interrupt", "ping", "end"})
#: ``control.action`` values (the user clicked).
CONTROL_ACTIONS: frozenset[str] = frozenset({"start", "end", "mute", "unmute"})
#: ``playback.event`` values.
PLAYBACK_EVENTS: frozenset[str] = frozenset({"started", "stopped", "flushed", "underrun"})
#: Optional ``clock`` field of any browser envelope: where its times come from. The page omits it
#: (= ``browser``); a headless caller standing in for the page sends ``modelled``.
FRONTEND_CLOCKS: frozenset[str] = frozenset({"browser", "modelled"})


class EnvelopeError(ValueError):
    """A browser envelope is malformed; the message says which field and what was expected."""


# --------------------------------------------------------------------------- kernel → browser


def audio(turn_id: str | None, seq: int, final: bool) -> dict[str, Any]:
    """``audio``: play the one buffer sent with it (PCM16 LE mono 24 kHz); ``seq`` counts chunks."""
    return {"kind": "audio", "turn_id": turn_id, "seq": int(seq), "final": bool(final)}


def interrupt(turn_id: str | None) -> dict[str, Any]:
    """``interrupt``: flush playback of ``turn_id`` now and drop its later chunks."""
    return {"kind": "interrupt", "turn_id": turn_id}


def ping(ping_id: int) -> dict[str, Any]:
    """``ping``: clock sync; the page answers ``pong {id, t_browser}`` at once."""
    return {"kind": "ping", "id": int(ping_id)}


def end(reason: str) -> dict[str, Any]:
    """``end``: the call is over (``reason`` is a sentence for the user); stop capture."""
    return {"kind": "end", "reason": str(reason)}


# --------------------------------------------------------------------------- browser → kernel

_NUMBER = (int, float)

# kind → ((field, type, required), …); extra fields are kept as they are.
_FIELDS: dict[str, tuple[tuple[str, Any, bool], ...]] = {
    "ready": (("sample_rate", _NUMBER, False), ("output_latency_ms", _NUMBER, False)),
    "mic": (("seq", int, True), ("t_browser", _NUMBER, True), ("samples", int, False)),
    "playback": (("event", str, True), ("t_browser", _NUMBER, True), ("samples", _NUMBER, False)),
    "pong": (("id", int, True), ("t_browser", _NUMBER, True)),
    "control": (("action", str, True),),
    "status": (("state", str, True),),
}
_BUFFERS = {"mic": 1}


def validate_browser_envelope(envelope: Any, buffers: list[Any] | tuple[Any, ...] = ()) -> dict[str, Any]:
    """Check one browser → kernel envelope; return it unchanged, or raise :class:`EnvelopeError`.

    Checks the kind, the required fields and their JSON types, the number of buffers (``mic``
    needs exactly one) and the enumerated values of ``control.action`` / ``playback.event``.
    """
    if not isinstance(envelope, dict):
        raise EnvelopeError(f"an envelope must be a JSON object, got {type(envelope).__name__}")
    kind = envelope.get("kind")
    if kind not in BROWSER_KINDS:
        raise EnvelopeError(f"unknown envelope kind {kind!r}; expected one of {sorted(BROWSER_KINDS)}")
    for name, typ, required in _FIELDS[kind]:
        if name not in envelope or envelope[name] is None:
            if required:
                raise EnvelopeError(f"{kind} envelope: missing field {name!r}")
            continue
        value = envelope[name]
        if isinstance(value, bool) or not isinstance(value, typ):
            raise EnvelopeError(
                f"{kind} envelope: field {name!r} has the wrong type ({type(value).__name__})"
            )
    clock = envelope.get("clock")
    if clock is not None and clock not in FRONTEND_CLOCKS:
        raise EnvelopeError(f"{kind} envelope: clock {clock!r} is not one of {sorted(FRONTEND_CLOCKS)}")
    want = _BUFFERS.get(kind, 0)
    if want and len(buffers) != want:
        raise EnvelopeError(f"{kind} envelope needs {want} binary buffer(s), got {len(buffers)}")
    if kind == "control" and envelope["action"] not in CONTROL_ACTIONS:
        raise EnvelopeError(f"control action {envelope['action']!r} is not one of {sorted(CONTROL_ACTIONS)}")
    if kind == "playback" and envelope["event"] not in PLAYBACK_EVENTS:
        raise EnvelopeError(f"playback event {envelope['event']!r} is not one of {sorted(PLAYBACK_EVENTS)}")
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
