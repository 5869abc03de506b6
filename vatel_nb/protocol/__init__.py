"""Vatel's voice-session wire protocol: typed messages, parse and serialize. Pure: no I/O."""

from ._messages import (
    CLIENT_MESSAGE_TYPES,
    SERVER_MESSAGE_TYPES,
    ClientMessage,
    InputAudio,
    InputAudioTranscript,
    Interruption,
    InvalidMessage,
    ResponseAudio,
    ResponseText,
    ServerMessage,
    SessionEnded,
    SessionStarted,
    SpeechStarted,
    SpeechStopped,
    ToolArgument,
    ToolCall,
    ToolCallOutput,
    parse_client_message,
    parse_server_message,
    serialize,
    to_wire,
)

#: Audio format of every PCM chunk on the Vatel socket: PCM16 little-endian, mono, 24 kHz.
SAMPLE_RATE = 24_000
SAMPLE_WIDTH = 2

__all__ = [
    "CLIENT_MESSAGE_TYPES",
    "SAMPLE_RATE",
    "SAMPLE_WIDTH",
    "SERVER_MESSAGE_TYPES",
    "ClientMessage",
    "InputAudio",
    "InputAudioTranscript",
    "Interruption",
    "InvalidMessage",
    "ResponseAudio",
    "ResponseText",
    "ServerMessage",
    "SessionEnded",
    "SessionStarted",
    "SpeechStarted",
    "SpeechStopped",
    "ToolArgument",
    "ToolCall",
    "ToolCallOutput",
    "parse_client_message",
    "parse_server_message",
    "serialize",
    "to_wire",
]
