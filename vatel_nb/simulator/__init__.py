"""A Vatel-compatible voice-agent server on 127.0.0.1: the kit's default backend and the tests'
ground truth.

Example::

    from vatel_nb.simulator import DEMO_AGENT_ID, Latency, Reply, Simulator, Tool, ToolRequest, Uniform

    def reply(transcript: str, history: list[dict]) -> Reply | str | None:
        if history[-1]["role"] == "tool":                 # after the tool round trip
            return f"It is {history[-1]['output']}."
        if "time" in transcript:
            return Reply(tool_calls=[ToolRequest("get_time", {"timezone": "UTC"})])
        return Reply("Bye!", end_call=True) if "bye" in transcript else f"You said: {transcript}"

    with Simulator(asr="scripted") as sim:               # own thread + loop; or `await sim.start()`
        agent_id = sim.add_agent("Clock", first_message="Hi!", reply=reply, tools=[Tool("get_time")],
                                 vad_settings={"start_secs": 0.2, "stop_secs": 0.5},
                                 script=["what time is it", "bye"],
                                 latency=Latency(text=Uniform(0.3, 0.6, seed=1), audio_first_byte=0.2))
        ...  # connect any Vatel client to sim.base_url with sim.api_key and agent_id
        truth = sim.ground_truth(session_id)            # SessionTruth: segments, turns, messages, chunks

Wire profiles: ``Simulator(profile="vendor")`` (the default: what the real service does, e.g.
``data: null`` on field-less messages, mixed chunk sizes, bursty audio) or ``profile="spec"``
(``openapi.json`` exactly); see ``docs/compatibility.md`` and :mod:`vatel_nb.simulator._profiles`.

Timing: all ground-truth times are ``time.perf_counter()`` seconds of this process; see
:mod:`vatel_nb.simulator._truth`. The extension endpoint ``GET /_sim/sessions/{id}/ground-truth``
(Bearer-protected, NOT part of Vatel's API) returns ``SessionTruth.to_dict()`` as JSON.
"""

from ._agents import DEMO_AGENT_ID, AgentSpec, Reply, ReplyFunction, Tool, ToolRequest, demo_reply
from ._asr import PocketsphinxRecognizer, pocketsphinx_available
from ._latency import Constant, Latency, Normal, Uniform
from ._profiles import PROFILES, WireProfile
from ._recognizer import PlaceholderRecognizer, Recognizer, RecognizerFactory, ScriptedRecognizer
from ._repertoire import CITIES, DEMO_PHRASES, intent
from ._server import Simulator
from ._truth import AudioChunk, SentMessage, SessionTruth, SpeechSegment, ToolTruth, TurnTruth
from ._voice import Voice, espeak_available, speak

__all__ = [
    "CITIES",
    "DEMO_AGENT_ID",
    "DEMO_PHRASES",
    "PROFILES",
    "AgentSpec",
    "AudioChunk",
    "Constant",
    "Latency",
    "Normal",
    "PlaceholderRecognizer",
    "PocketsphinxRecognizer",
    "Recognizer",
    "RecognizerFactory",
    "Reply",
    "ReplyFunction",
    "ScriptedRecognizer",
    "SentMessage",
    "SessionTruth",
    "Simulator",
    "SpeechSegment",
    "Tool",
    "ToolRequest",
    "ToolTruth",
    "TurnTruth",
    "Uniform",
    "Voice",
    "WireProfile",
    "demo_reply",
    "espeak_available",
    "intent",
    "pocketsphinx_available",
    "speak",
]
