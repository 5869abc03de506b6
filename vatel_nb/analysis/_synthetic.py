"""Synthetic calls with known timing, for tests, benchmarks and examples (no server, no browser).

:class:`SyntheticCall` writes into an :class:`~vatel_nb.log.EventLog` exactly what the session
layer would (same sources/types/fields), at the kernel times you choose. The browser clock is the
kernel clock shifted by ``browser_offset_ms``; ping/pong clock samples are added with a chosen
RTT. Voiced audio is a tone (user) or a tone after ``lead_silence_s`` of zeros (agent), so every
boundary is known to the sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..log import EventLog

__all__ = ["SyntheticCall"]

_SR = 24_000


def tone(n: int, freq: float = 220.0, amp: float = 8000.0, phase0: int = 0) -> np.ndarray:
    """``n`` samples of a sine (int16)."""
    i = np.arange(phase0, phase0 + n)
    return (amp * np.sin(2 * np.pi * freq * i / _SR)).astype(np.int16)


@dataclass
class SyntheticCall:
    """Builder of a synthetic call log. Times are kernel seconds since ``log.t0``."""

    log: EventLog = field(default_factory=EventLog)
    browser_offset_ms: float = 123_456.0
    net_s: float = 0.03  # server → kernel (and kernel → server) one-way delay
    start_secs: float = 0.2
    stop_secs: float = 0.5
    chunk_s: float = 0.02
    voiced: list[tuple[float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.log.append(
            "local",
            "agent",
            0.0,
            detail={
                "agent_id": "a-1",
                "vad_settings": {"start_secs": self.start_secs, "stop_secs": self.stop_secs},
            },
        )

    def browser_ms(self, t: float) -> float:
        """Kernel s → browser ms (the known truth)."""
        return t * 1000.0 + self.browser_offset_ms

    def session_started(self, t: float) -> None:
        self.log.append("server", "session_started", t, detail={"session_id": "s-1"})

    def pings(self, t_end: float, every_s: float = 1.0, rtt_s: float = 0.004) -> None:
        """Clock samples over ``[0, t_end]`` with a symmetric ``rtt_s``."""
        for k in np.arange(0.0, t_end, every_s):
            self.log.clock.add_sample(k, self.browser_ms(k + rtt_s / 2), k + rtt_s)

    def user_speech(
        self, onset: float, end: float, *, server_vad: bool = True, emulated_before: bool = False
    ):
        """The user really speaks over ``[onset, end)``; the server VAD reports it late."""
        self.voiced.append((onset, end))
        if emulated_before:
            self.log.append("server", "speech_started", onset, detail={"emulated": True})
        if server_vad:
            self.log.append(
                "server", "speech_started", onset + self.start_secs + self.net_s, detail={"emulated": False}
            )
            self.log.append("server", "speech_stopped", end + self.stop_secs + self.net_s)

    def transcript(self, t: float, text: str, turn_id: str | None = None) -> None:
        self.log.append("server", "input_audio_transcript", t, text=text, is_final=True, turn_id=turn_id)

    def agent_reply(
        self,
        turn_id: str,
        t_text: float,
        t_audio: float,
        dur_s: float,
        *,
        text: str = "ok",
        lead_silence_s: float = 0.0,
        burst: float = 2.0,
        playout_s: float | None = 0.08,
        cut_at: float | None = None,
        target_ms: float | None = None,
    ) -> None:
        """Agent text at ``t_text``, audio chunks from ``t_audio`` arriving ``burst``× real time.

        ``playout_s``: playback starts that long after the first chunk (browser report; None: no
        browser). ``cut_at``: an interruption at that kernel time (chunks keep coming after it).
        ``target_ms``: the playout target depth the page reports with its ``playback-started``.
        """
        self.log.append("server", "response_text", t_text, turn_id=turn_id, text=text, is_final=True)
        n_total = round(dur_s * _SR)
        n_lead = round(lead_silence_s * _SR)
        pcm = np.concatenate([np.zeros(n_lead, np.int16), tone(n_total - n_lead, 330.0)])
        step = round(self.chunk_s * _SR)
        n_chunks = math.ceil(n_total / step)
        cut_done = False
        for c in range(n_chunks):
            t = t_audio + c * self.chunk_s / burst
            if cut_at is not None and not cut_done and t > cut_at:
                self.interruption(cut_at)
                cut_done = True
            chunk = pcm[c * step : (c + 1) * step]
            self.log.append(
                "server", "response_audio", t, turn_id=turn_id, is_final=c == n_chunks - 1, samples=len(chunk)
            )
            self.log.agent_audio.append(t, chunk, turn_id)
        if cut_at is not None and not cut_done:
            self.interruption(cut_at)
        if playout_s is not None:
            tp = t_audio + playout_s
            self.log.append(
                "browser",
                "playback-started",
                tp + 0.02,
                turn_id=turn_id,
                t_browser=self.browser_ms(tp),
                detail=None if target_ms is None else {"target_ms": float(target_ms)},
            )
            if cut_at is not None:
                te = cut_at + 0.05
                played = round((te - tp) * _SR)
                self.log.append(
                    "browser",
                    "playback-flushed",
                    te + 0.02,
                    turn_id=turn_id,
                    t_browser=self.browser_ms(te),
                    samples=played,
                    detail={"dropped_samples": max(0, n_total - played)},
                )
            else:
                te = tp + dur_s
                self.log.append(
                    "browser",
                    "playback-stopped",
                    te + 0.02,
                    turn_id=turn_id,
                    t_browser=self.browser_ms(te),
                    samples=n_total,
                )

    def interruption(self, t: float) -> None:
        cut = self.log.agent_audio.interrupt(t)
        self.log.append("server", "interruption", t, detail={"interrupted_turn_id": cut})

    def tool(self, t_call: float, t_output: float, call_id: str = "tc-1", name: str = "lookup") -> None:
        self.log.append(
            "server", "tool_call", t_call, tool_call_id=call_id, tool_name=name, detail={"arguments": {}}
        )
        self.log.append("local", "tool-started", t_call, tool_call_id=call_id, tool_name=name)
        self.log.append("local", "tool-finished", t_output, tool_call_id=call_id, tool_name=name, text="42")
        self.log.append("client", "tool_call_output", t_output, tool_call_id=call_id, text="42")

    def mic(self, t_end: float, send_delay_s: float = 0.025, noise: float = 0.0, seed: int = 0) -> None:
        """The mic track over ``[0, t_end)``: 20 ms chunks, tone where voiced, optional noise floor."""
        rng = np.random.default_rng(seed)
        step = round(self.chunk_s * _SR)
        n = round(t_end * _SR)
        pcm = np.zeros(n, dtype=np.int16)
        for a, b in self.voiced:
            i, j = round(a * _SR), min(round(b * _SR), n)
            pcm[i:j] = tone(j - i, 220.0, phase0=i)
        if noise:
            pcm = np.clip(pcm + rng.normal(0, noise, n), -32768, 32767).astype(np.int16)
        for seq, s in enumerate(range(0, n, step)):
            t_cap = s / _SR
            chunk = pcm[s : s + step]
            tb = self.browser_ms(t_cap)
            self.log.append(
                "browser", "mic-captured", t_cap + 0.01, seq=seq, samples=len(chunk), t_browser=tb
            )
            self.log.append("client", "input_audio", t_cap + send_delay_s, samples=len(chunk), seq=seq)
            self.log.user_audio.append(t_cap + send_delay_s, chunk, t_browser=tb, seq=seq)
