"""The call view ↔ page envelope, Python side (twin: ``js/src/view_messages.js``).

The view's data (timeline JSON, envelope bytes) is in synced traits; audio is fetched on demand,
one window at a time, so opening a long call sends no audio at all:

page → kernel ``audio-request {id, start_s}`` — the page wants the recording around ``start_s``;
kernel → page ``audio {id, start_s, duration_s, total_s}`` + 1 buffer: a WAV file (PCM16 stereo
24 kHz, user left, agent right) of ``[start_s, start_s + duration_s)`` (kernel s since t0), or
``audio-error {id, error}`` (a sentence). Never base64: the WAV is the message's binary buffer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["VIEW_BROWSER_KINDS", "VIEW_KERNEL_KINDS", "audio_error", "audio_window", "parse_request"]

#: Envelopes the view's page sends.
VIEW_BROWSER_KINDS: frozenset[str] = frozenset({"audio-request"})
#: Envelopes the kernel sends to the view's page.
VIEW_KERNEL_KINDS: frozenset[str] = frozenset({"audio", "audio-error"})


def audio_window(req_id: int, start_s: float, duration_s: float, total_s: float) -> dict[str, Any]:
    """``audio``: the one buffer sent with it is a WAV of ``[start_s, start_s + duration_s)`` s."""
    return {
        "kind": "audio",
        "id": int(req_id),
        "start_s": float(start_s),
        "duration_s": float(duration_s),
        "total_s": float(total_s),
    }


def audio_error(req_id: int, error: str) -> dict[str, Any]:
    """``audio-error``: the window could not be made; ``error`` says why."""
    return {"kind": "audio-error", "id": int(req_id), "error": str(error)}


def parse_request(content: Any) -> tuple[int, float] | None:
    """``(id, start_s)`` of a valid ``audio-request``, else None (anything else is ignored)."""
    if not isinstance(content, dict) or content.get("kind") != "audio-request":
        return None
    req_id, start = content.get("id"), content.get("start_s")
    if not isinstance(req_id, int) or isinstance(start, bool) or not isinstance(start, (int, float)):
        return None
    if start != start:  # NaN
        return None
    return req_id, max(0.0, float(start))
