"""The definitions of the latencies, written once: the live figure and :func:`turns` both use them.

Times: kernel seconds since the call's ``t0`` unless marked browser ms. A latency that comes out
negative is not a latency: it means the agent was heard (or its audio arrived) while the user was
still speaking, so the caller records a talk-over instead (see :func:`turns`, outcome
``talked-over``) and these functions return NaN for it.
"""

from __future__ import annotations

import math

__all__ = ["heard_text", "server_e2e_ms", "v2v_ms"]

_NAN = math.nan


def v2v_ms(t_played_browser: float, vad_end_browser: float, leading_silence_ms: float = _NAN) -> float:
    """Heard voice-to-voice (ms), browser clock only: the agent's first sample audible
    (``playback-started``, output latency included) − the user's last voiced sample (client VAD),
    plus the reply's leading silence (the agent is not *heard* before its first voiced frame).
    NaN when unknown or negative (the agent was audible before the user stopped: a talk-over)."""
    lead = 0.0 if math.isnan(leading_silence_ms) else leading_silence_ms
    v = t_played_browser - vad_end_browser + lead
    return v if v >= 0 else _NAN


def server_e2e_ms(user_end: float, stop_secs: float, t_first_audio: float) -> float:
    """Server end-to-end (ms), kernel clock: first ``response_audio`` received − the user's real
    end of speech as the server saw it (``speech_stopped`` − the VAD hangover ``stop_secs``; 0 when
    unknown). NaN when unknown or negative (audio arrived before the user stopped: a talk-over)."""
    hang = 0.0 if math.isnan(stop_secs) else stop_secs
    v = (t_first_audio - (user_end - hang)) * 1000.0
    return v if v >= 0 else _NAN


def heard_text(text: str | None, fraction: float) -> str | None:
    """The words of ``text`` heard when ``fraction`` (0–1) of its audio played: a word-boundary
    prefix proportional to the fraction (an estimate: speech rate taken as uniform). None when
    ``text`` or ``fraction`` is unknown."""
    if not isinstance(text, str) or not math.isfinite(fraction):
        return None
    words = text.split()
    n = max(0, min(len(words), round(len(words) * max(0.0, min(1.0, fraction)))))
    return " ".join(words[:n])
