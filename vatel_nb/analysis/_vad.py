"""The client-side VAD the analysis uses is the kit's one VAD (:mod:`vatel_nb._vad`)."""

from .._vad import VadSettings, frame_levels_db, leading_silence_samples, speech_segments

__all__ = ["VadSettings", "frame_levels_db", "leading_silence_samples", "speech_segments"]
