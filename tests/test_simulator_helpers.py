"""A spec-following black-box caller for the simulator tests (raw httpx + websockets), signal
generators, and unit tests of the simulator's pure parts (VAD, tokens, latency, voice).

``Caller`` speaks only what ``openapi.json`` documents: ``Authorization: Bearer`` REST,
``GET /v1/connection?token=…``, base64 PCM16 24 kHz ``input_audio`` in 20 ms chunks sent in real
time. Every received message is stored with its ``time.perf_counter()`` receive time and checked
against ``VoiceSessionServerMessage`` by :meth:`Caller.validate` (called by ``close``), outside
the receive loop so validation cannot delay receive times.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx
import numpy as np
import pytest
import websockets
from _spec import validate_server_message

from vatel_nb._vad import Vad as EnergyVad
from vatel_nb.simulator import Constant, Latency, Normal, Uniform, Voice
from vatel_nb.simulator._tokens import TokenError, TokenSigner
from vatel_nb.simulator._voice import leading_silence

SR = 24_000
CHUNK = 480  # 20 ms


def tone(seconds: float, freq: float = 180.0, amp: float = 0.3) -> np.ndarray:
    """A voiced-like harmonic tone (int16) — loud enough for any energy VAD."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * freq * h * t) / h for h in range(1, 5))
    return np.clip(amp * 32767 * x / 1.5, -32768, 32767).astype(np.int16)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.int16)


class Caller:
    """One black-box client of a simulator at ``base_url`` with ``api_key``."""

    def __init__(self, base_url: str, api_key: str, profile: str = "spec") -> None:
        self.base_url = base_url
        self.profile = profile  # the simulator's wire profile: what validate() accepts
        self.api_key = api_key
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.invalid: list[str] = []
        self.sent: list[tuple[float, int, int]] = []  # (t_send, first sample, samples)
        self.samples_sent = 0
        self.ws: Any = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._rx: asyncio.Task | None = None

    def rest(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, headers={"Authorization": f"Bearer {self.api_key}"})

    async def token(self, agent_id: str, **extra: Any) -> str:
        async with self.rest() as c:
            r = await c.post("/v1/session-token", json={"agent_id": agent_id, **extra})
        assert r.status_code == 200, r.text
        return r.json()["token"]

    async def connect(self, token: str) -> Caller:
        url = self.base_url.replace("http://", "ws://") + "/v1/connection?token=" + token
        self.ws = await websockets.connect(url, max_size=None)
        self._rx = asyncio.get_running_loop().create_task(self._receive())
        return self

    async def _receive(self) -> None:
        try:
            async for raw in self.ws:
                t = time.perf_counter()  # validated later (close / validate): keeps receive times tight
                self.messages.append((t, json.loads(raw)))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.close_reason = self.ws.close_reason

    async def send_json(self, obj: Any) -> None:
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def stream(self, pcm: np.ndarray, realtime: bool = True) -> None:
        """Send ``pcm`` in 20 ms chunks; chunk k leaves once its audio has been 'captured'
        (at start + (k+1)·20 ms, an absolute schedule), like a microphone."""
        t0 = time.perf_counter()
        for k, off in enumerate(range(0, pcm.size, CHUNK)):
            part = pcm[off : off + CHUNK]
            if realtime:
                delay = t0 + (k + 1) * CHUNK / SR - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            t = time.perf_counter()
            audio = base64.b64encode(part.astype("<i2").tobytes()).decode()
            await self.ws.send(json.dumps({"type": "input_audio", "data": {"audio": audio}}))
            self.sent.append((t, self.samples_sent, part.size))
            self.samples_sent += part.size

    def of(self, mtype: str, since: int = 0) -> list[tuple[float, dict[str, Any]]]:
        return [(t, m) for t, m in self.messages[since:] if m["type"] == mtype]

    async def wait_for(
        self, mtype: str, since: int = 0, timeout: float = 10.0, **data: Any
    ) -> tuple[float, dict]:
        """First message of ``mtype`` (whose data matches ``data``) at index >= ``since``."""
        deadline = time.perf_counter() + timeout
        while True:
            for t, m in self.messages[since:]:
                if m["type"] == mtype and all((m["data"] or {}).get(k) == v for k, v in data.items()):
                    return t, m
            if time.perf_counter() > deadline:
                seen = [m["type"] for _, m in self.messages[since:]]
                raise AssertionError(f"no {mtype} {data or ''} within {timeout} s; got {seen}")
            if self._rx is not None and self._rx.done():
                raise AssertionError(f"socket closed ({self.close_code}) before {mtype}")
            await asyncio.sleep(0.005)

    async def played(self, turn_id: str) -> None:
        """Sleep until the audio received for ``turn_id`` has played out (first chunk + duration)."""
        chunks = [
            (t, len(m["data"]["audio"]) * 3 // 8)
            for t, m in self.of("response_audio")
            if m["data"]["turn_id"] == turn_id
        ]
        end = chunks[0][0]
        for t, n in chunks:
            end = max(end, t) + n / SR
        await asyncio.sleep(max(0.0, end + 0.05 - time.perf_counter()))

    async def tool_output(self, tool_call_id: str, output: str) -> None:
        await self.send_json(
            {"type": "tool_call_output", "data": {"toolCallId": tool_call_id, "output": output}}
        )

    def validate(self) -> None:
        """Every server message received so far must match VoiceSessionServerMessage."""
        for _, obj in self.messages:
            try:
                validate_server_message(obj, self.profile)
            except Exception as e:
                self.invalid.append(f"{e}: {json.dumps(obj)[:200]}")
        assert not self.invalid, self.invalid

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._rx is not None:
            await self._rx
        self.validate()


# --------------------------------------------------------------------------- unit tests


def test_vad_honours_start_and_stop_secs() -> None:
    vad = EnergyVad(start_secs=0.2, stop_secs=0.3)
    pcm = np.concatenate([silence(0.5), tone(1.0), silence(0.5)])
    events = []
    for off in range(0, pcm.size, 480):  # fed in 20 ms chunks, like the socket
        events += vad.feed(pcm[off : off + 480])
    assert [e.kind for e in events] == ["start", "stop"]
    start, stop = events
    assert start.position == int(0.5 * SR) and start.decided_at == int(0.7 * SR)
    assert stop.position == int(1.5 * SR) and stop.decided_at == int(1.8 * SR)


def test_vad_ignores_blips_shorter_than_start_secs() -> None:
    vad = EnergyVad(start_secs=0.2, stop_secs=0.3)
    assert vad.feed(np.concatenate([tone(0.1), silence(0.3), tone(0.1), silence(0.3)])) == []
    assert vad.feed(tone(0.02, amp=0.002)) == []  # below −40 dBFS


def test_tokens_roundtrip_forgery_and_expiry() -> None:
    signer = TokenSigner(ttl=60)
    token = signer.issue("a" * 8, first_message="hi", chat_id="c")
    claims = signer.verify(token)
    assert claims["agent_id"] == "a" * 8 and claims["parameters"]["first_message"] == "hi"
    head, body, sig = token.split(".")
    with pytest.raises(TokenError) as forged:
        TokenSigner(ttl=60).verify(token)  # another simulator's secret
    assert forged.value.status == 401
    with pytest.raises(TokenError) as tampered:
        signer.verify(f"{head}.{body}x.{sig}")
    assert tampered.value.status == 401
    with pytest.raises(TokenError) as expired:
        TokenSigner(ttl=-1).verify(TokenSigner(ttl=-1).issue("x"))
    assert expired.value.status in (401,)
    for bad in ("", None, "abc"):
        with pytest.raises(TokenError) as malformed:
            signer.verify(bad)
        assert malformed.value.status == 400


def test_latency_distributions_are_seeded_and_validated() -> None:
    a = Latency(text=Uniform(0.2, 0.4, seed=1), jitter=Normal(0.01, 0.005, seed=2))
    b = Latency(text=Uniform(0.2, 0.4, seed=1), jitter=Normal(0.01, 0.005, seed=2))
    xs = [a.sample("text") for _ in range(20)]
    assert xs == [b.sample("text") for _ in range(20)]
    assert all(0.2 <= x <= 0.4 for x in xs) and len(set(xs)) == 20
    assert all(a.sample("jitter") >= 0 for _ in range(50))
    assert Latency(endpointing=Constant(0.1)).sample("endpointing") == 0.1
    with pytest.raises(ValueError, match="must be >= 0"):
        Latency(text=-1)
    with pytest.raises(TypeError, match="Uniform"):
        Latency(text="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown latency stage"):
        Latency().sample("thinking")


@pytest.mark.parametrize("kind", ["espeak", "synthetic"])
def test_voices_are_audible_and_scale_with_text(kind: str) -> None:
    voice = Voice(kind)
    short, long = (
        voice.synthesize("Hello there."),
        voice.synthesize("Hello there, this is a longer sentence."),
    )
    assert short.dtype == np.int16 and long.size > 1.5 * short.size
    assert voice.synthesize("Hello there.") is short  # cached
    rms = np.sqrt(np.mean(long.astype(np.float64) ** 2)) / 32768
    assert rms > 0.02
    assert leading_silence(long) < 0.05 * SR  # first audible sample within 50 ms
