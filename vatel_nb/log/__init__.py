"""The event log of a call on one kernel clock: rows, audio tracks, clock sync, save/load/autosave."""

from .._audio import read_wav, wav_bytes
from ._audio import SAMPLE_RATE, AgentAudio, AudioTrack, UserAudio
from ._clock import ClockSync
from ._eventlog import EventLog
from ._export import audio_player, stereo_recording, write_wav
from ._load import load_session
from ._record import record_client_message, record_server_message
from ._recording import CALLS_COLUMNS, CallEntry, Recording
from ._schema import CLOCKS, COLUMNS, FIELDS, SOURCES, empty_frame
from ._store import FORMAT_VERSION, Autosaver, save_session

__all__ = [
    "CALLS_COLUMNS",
    "CLOCKS",
    "COLUMNS",
    "FIELDS",
    "FORMAT_VERSION",
    "SAMPLE_RATE",
    "SOURCES",
    "AgentAudio",
    "AudioTrack",
    "Autosaver",
    "CallEntry",
    "ClockSync",
    "EventLog",
    "Recording",
    "UserAudio",
    "audio_player",
    "empty_frame",
    "load_session",
    "read_wav",
    "record_client_message",
    "record_server_message",
    "save_session",
    "stereo_recording",
    "wav_bytes",
    "write_wav",
]
