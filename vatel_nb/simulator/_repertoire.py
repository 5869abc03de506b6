"""What the demo agent understands: its phrases, its cities, and the intent of a transcript.

The recognizer is constrained to :data:`DEMO_PHRASES` (a JSGF grammar, see :mod:`._asr`), so
these exact word sequences are what it hears best; anything else falls back to open-vocabulary
recognition and gets the "I heard …" answer. :func:`intent` reads a transcript the way the demo
agent does (also used by ``bench/bench_asr.py`` to score recognition).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CITIES", "DEMO_PHRASES", "Intent", "intent", "normalize"]

#: Cities the demo agent knows → IANA time zone (what ``get_time`` receives).
CITIES: dict[str, str] = {
    "tokyo": "Asia/Tokyo",
    "london": "Europe/London",
    "paris": "Europe/Paris",
    "berlin": "Europe/Berlin",
    "new york": "America/New_York",
    "los angeles": "America/Los_Angeles",
    "chicago": "America/Chicago",
    "sydney": "Australia/Sydney",
    "singapore": "Asia/Singapore",
    "moscow": "Europe/Moscow",
}

_GREETINGS = ["hello", "hi", "hey", "hello there", "hi there", "good morning", "good afternoon",
              "good evening", "how are you"]  # fmt: skip
_TIME = ["what time is it", "what's the time", "what is the time", "tell me the time"]
_TIME_IN = ["what time is it in {c}", "what's the time in {c}", "what is the time in {c}",
            "tell me the time in {c}", "time in {c}"]  # fmt: skip
_STORY = ["tell me a story", "tell me a long story", "tell me a short story", "a long story please"]
_STOP = ["stop", "please stop", "stop please", "stop there", "wait", "wait a moment", "wait a second",
         "hold on"]  # fmt: skip
_THANKS = ["thank you", "thanks", "thank you very much", "thanks a lot"]
_BYE = ["goodbye", "bye", "bye bye", "good bye", "see you"]

#: Every phrase of the demo agent's repertoire (lowercase words), the recognizer's grammar.
DEMO_PHRASES: tuple[str, ...] = tuple(
    _GREETINGS + _TIME + [p.format(c=c) for p in _TIME_IN for c in CITIES] + _STORY + _STOP + _THANKS + _BYE
)


@dataclass(frozen=True)
class Intent:
    """What the user asked: ``name`` one of greeting, time, story, stop, wait, thanks, goodbye;
    ``city`` / ``zone`` for "time in <city>"; ``long`` for "a long story"."""

    name: str
    city: str | None = None
    zone: str | None = None
    long: bool = False


def normalize(text: str) -> str:
    """Lowercase words separated by single spaces, punctuation dropped (apostrophes kept)."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("’", "'")).split())


def _has(words: str, phrases: Iterable[str]) -> bool:
    return any(re.search(rf"\b{re.escape(p)}\b", words) for p in phrases)


def intent(transcript: str) -> Intent | None:
    """The demo agent's reading of a transcript, or None when it is outside the repertoire."""
    w = normalize(transcript)
    if not w:
        return None
    if re.search(r"\btime\b", w):
        zone = re.search(r"\bin ([A-Za-z_]+/[A-Za-z_]+(?:/[A-Za-z_]+)?)", transcript)
        if zone:  # an IANA zone said as such ("… in Europe/Paris")
            return Intent("time", zone=zone.group(1))
        for city, zone in CITIES.items():
            if re.search(rf"\b{city}\b", w):
                return Intent("time", city=city.title(), zone=zone)
        return Intent("time")
    if re.search(r"\bstor(y|ies)\b", w):
        return Intent("story", long="long" in w.split())
    if _has(w, ["goodbye", "good bye", "bye", "see you"]):
        return Intent("goodbye")
    if _has(w, ["thank", "thanks"]):
        return Intent("thanks")
    if _has(w, ["stop"]):
        return Intent("stop")
    if _has(w, ["wait", "hold on"]):
        return Intent("wait")
    if _has(w, ["hello", "hi", "hey", "good morning", "good afternoon", "good evening", "how are you"]):
        return Intent("greeting")
    return None
