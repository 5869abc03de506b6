"""The headless caller: talk to an agent from a script, with no browser (same log, same analysis)."""

from ._caller import ScriptedCaller, SpokenUtterance
from ._demo import demo_simulator
from ._playback import PlaybackEvent, PlaybackModel
from ._script import Utterance, load_utterance_audio, voiced_bounds

__all__ = [
    "PlaybackEvent",
    "PlaybackModel",
    "ScriptedCaller",
    "SpokenUtterance",
    "Utterance",
    "demo_simulator",
    "load_utterance_audio",
    "voiced_bounds",
]
