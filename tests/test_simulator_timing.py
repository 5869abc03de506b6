"""Injected delays show up in the message timing, on both sides of the socket.

Tolerances (all clocks are this process's perf_counter; the simulator runs on its own loop):

- Server send times (ground truth): a stage's gap is never short of its injected delay beyond
  timer rounding (epoll waits round to 1 ms; we allow 3 ms) and is long only by event-loop
  scheduling. On this 2-core machine shared with other suites (load average 6–9 measured) a
  wake-up can be ~100 ms late, so we allow 100 ms.
- Client receive times: each receive is late by a delivery lag in [0, 100 ms) (the other loop's
  wake-up under the same GIL, JSON, loopback TCP), so a gap between two receives is within
  ±100 ms of the delay.
- Gaps anchored on the user's audio (speech_started, speech_stopped) are also quantised by the
  client's 20 ms chunks and the VAD's 10 ms frames: one chunk + one frame (30 ms) more.
"""

from __future__ import annotations

import asyncio

import numpy as np
from test_simulator_helpers import Caller, silence, tone

from vatel_nb.simulator import Latency, Simulator, Uniform

EARLY = 0.003  # s: timers never fire early beyond epoll's 1 ms rounding
LATE = 0.100  # s: scheduling on a loaded 2-core box
AUDIO_Q = 0.030  # s: one 20 ms input chunk + one 10 ms VAD frame

START, STOP = 0.1, 0.3


def _close(measured: float, expected: float, extra: float = 0.0) -> bool:
    """Server-side gap: never early (beyond rounding), late at most by scheduling."""
    return expected - EARLY - extra <= measured <= expected + LATE + extra


def _near(measured: float, expected: float, extra: float = 0.0) -> bool:
    """Client-side gap between two receive times: ± one delivery lag."""
    return abs(measured - expected) <= LATE + extra


async def _timing() -> None:
    latency = Latency(
        endpointing=0.10,
        transcription=0.25,
        text=Uniform(0.15, 0.35, seed=7),
        audio_first_byte=0.20,
    )
    # the simulator runs on its own thread and loop, the client on this one (as in a notebook)
    with Simulator(asr="scripted", voice="synthetic") as sim:
        agent = sim.add_agent(
            "Timing",
            vad_settings={"start_secs": START, "stop_secs": STOP},
            script=["one two three", "four five"],
        )
        sim.set_latency(latency, agent_id=agent)
        c = Caller(sim.base_url, sim.api_key, sim.profile)
        await c.connect(await c.token(agent))
        _, started = await c.wait_for("session_started")
        session = started["data"]["id"]
        text_delays = []
        for turn in range(2):
            mark = len(c.messages)
            first = c.samples_sent
            speech = tone(0.5)
            await c.stream(np.concatenate([speech, silence(0.5)]))
            # wall time of the user's speech onset / end on the client clock (chunk k leaves at
            # t0 + (k+1)·20 ms, so sample s was "captured" by the send time of its chunk)
            t_onset = next(t for t, s0, n in c.sent if s0 <= first < s0 + n)
            t_end = next(t for t, s0, n in c.sent if s0 <= first + speech.size - 1 < s0 + n)
            t_started, _ = await c.wait_for("speech_started", mark)
            t_stopped, _ = await c.wait_for("speech_stopped", mark)
            t_final, final = await c.wait_for("input_audio_transcript", mark, is_final=True)
            turn_id = final["data"]["turn_id"]
            t_text, _ = await c.wait_for("response_text", mark, turn_id=turn_id)
            t_audio, _ = await c.wait_for("response_audio", mark, turn_id=turn_id)
            truth = sim.ground_truth(session).turn(turn_id)
            d = truth.delays
            assert d["endpointing"] == 0.10 and d["transcription"] == 0.25 and d["audio_first_byte"] == 0.20
            assert 0.15 <= d["text"] <= 0.35
            text_delays.append(d["text"])
            # client side: gaps between receive times (and the audio the client sent)
            assert _near(t_started - t_onset, START, AUDIO_Q), t_started - t_onset
            assert _near(t_stopped - t_end, STOP + d["endpointing"], AUDIO_Q), t_stopped - t_end
            assert _near(t_final - t_stopped, d["transcription"]), t_final - t_stopped
            assert _near(t_text - t_final, d["text"]), t_text - t_final
            assert _near(t_audio - t_text, d["audio_first_byte"]), t_audio - t_text
            # server side: gaps between the simulator's own send times
            seg = sim.ground_truth(session).segments[turn]
            assert (
                seg.stop_decided_t is not None
                and seg.stopped_sent_t is not None
                and seg.transcript_t is not None
            )
            assert _close(seg.stopped_sent_t - seg.stop_decided_t, d["endpointing"])
            assert _close(seg.transcript_t - seg.stopped_sent_t, d["transcription"])
            assert truth.t_first_text is not None and truth.t_first_audio is not None
            assert _close(truth.t_first_text - seg.transcript_t, d["text"])
            assert _close(truth.t_first_audio - truth.t_first_text, d["audio_first_byte"])
            # the ground truth's own send times agree with the client's receive times
            assert 0 <= t_stopped - seg.stopped_sent_t < LATE
            assert truth.t_first_audio is not None and 0 <= t_audio - truth.t_first_audio < LATE
            assert seg.start_sample == first and seg.end_sample == first + speech.size
            await c.played(turn_id)
        assert text_delays[0] != text_delays[1]  # sampled per turn from the seeded distribution
        await c.close()


def test_injected_delays_appear_in_message_timing() -> None:
    asyncio.run(_timing())


async def _pacing() -> None:
    """``spec`` profile, real-time pacing: after the burst, chunk k arrives at first + k·20 ms."""
    with Simulator(asr="placeholder", voice="synthetic", chunk_ms=20, profile="spec") as sim:
        agent = sim.add_agent(
            "Pacing", first_message="one two three four five six", latency=Latency(audio_burst=0.1)
        )
        c = Caller(sim.base_url, sim.api_key, sim.profile)
        await c.connect(await c.token(agent))
        await c.wait_for("response_audio", is_final=True, timeout=15)
        chunks = c.of("response_audio")
        sizes = [len(m["data"]["audio"]) * 3 // 8 for _, m in chunks]
        offsets = np.cumsum([0, *sizes])[:-1]
        # server side: each chunk left at its absolute schedule t_audio0 + max(0, offset/SR − burst)
        truth = sim.ground_truth(c.of("session_started")[0][1]["data"]["id"]).turns[0]
        assert [ch.samples for ch in truth.chunks] == sizes and [ch.offset for ch in truth.chunks] == list(
            offsets
        )
        t_audio0 = truth.chunks[0].scheduled
        scheduled = np.array([ch.scheduled for ch in truth.chunks])
        assert np.allclose(scheduled, t_audio0 + np.maximum(0.0, offsets / 24000 - 0.1), atol=1e-9)
        errors = np.array([ch.t for ch in truth.chunks]) - scheduled
        assert errors.min() > -EARLY and np.percentile(errors, 90) < LATE, errors
        # client side: the receive span matches the schedule's span within one delivery lag
        span = chunks[-1][0] - chunks[0][0]
        assert offsets[-1] / 24000 > 1.0 and _near(span, offsets[-1] / 24000 - 0.1), span
        await c.close()


async def _vendor_pacing() -> None:
    """``vendor`` profile: mixed 20–120 ms chunks, sent in bursts, faster than real time."""
    with Simulator(asr="placeholder", voice="synthetic", profile="vendor") as sim:
        agent = sim.add_agent("Bursty", first_message="one two three four five six seven eight nine ten")
        c = Caller(sim.base_url, sim.api_key, sim.profile)
        await c.connect(await c.token(agent))
        await c.wait_for("response_audio", is_final=True, timeout=15)
        chunks = c.of("response_audio")
        sizes = [len(m["data"]["audio"]) * 3 // 8 for _, m in chunks]
        ms = {n * 1000 // 24000 for n in sizes[:-1]}
        assert ms <= {20, 40, 60, 80, 100, 120} and len(ms) >= 3, ms  # mixed sizes, whole 20 ms steps
        duration = sum(sizes) / 24000
        truth = sim.ground_truth(c.of("session_started")[0][1]["data"]["id"]).turns[0]
        offsets = np.array([ch.offset for ch in truth.chunks]) / 24000
        scheduled = np.array([ch.scheduled for ch in truth.chunks]) - truth.chunks[0].scheduled
        assert (scheduled <= offsets + 1e-9).all()  # never later than real time
        assert len(set(scheduled.round(6))) <= len(chunks) / 2  # several chunks per burst
        span = chunks[-1][0] - chunks[0][0]
        assert duration > 2.0 and span < duration / 1.3, (span, duration)  # faster than real time
        await c.close()


def test_vendor_profile_sends_mixed_chunks_in_bursts() -> None:
    asyncio.run(_vendor_pacing())


def test_audio_is_paced_in_real_time_after_the_burst() -> None:
    asyncio.run(_pacing())


async def _nodelay() -> None:
    import socket

    with Simulator(asr="scripted", voice="synthetic") as sim:
        agent = sim.add_agent("Nagle", script=["okay"])
        c = Caller(sim.base_url, sim.api_key, sim.profile)
        await c.connect(await c.token(agent))
        await c.wait_for("session_started")
        assert sim._server is not None
        conns = list(sim._server.server_state.connections)
        assert conns, "no server-side connection to inspect"
        for proto in conns:
            sock = proto.transport.get_extra_info("socket")
            # Nagle off: messages sent back to back (speech_stopped, transcript, text, first audio)
            # leave at once instead of waiting for the client's next mic chunk to carry the ACK
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        await c.close()


def test_server_sockets_have_nagle_off() -> None:
    asyncio.run(_nodelay())


async def _chunk_sizes(seed: int | None) -> list[list[int]]:
    """Chunk sizes of the greeting in two sessions of one simulator."""
    with Simulator(asr="placeholder", voice="synthetic", profile="vendor", seed=seed) as sim:
        agent = sim.add_agent("Seeded", first_message="one two three four five six seven eight nine ten")
        out = []
        for _ in range(2):
            c = Caller(sim.base_url, sim.api_key, sim.profile)
            await c.connect(await c.token(agent))
            await c.wait_for("response_audio", is_final=True, timeout=15)
            out.append([len(m["data"]["audio"]) * 3 // 8 for _, m in c.of("response_audio")])
            await c.close()
        return out


def test_seed_makes_vendor_chunk_sizes_reproducible() -> None:
    a, b = asyncio.run(_chunk_sizes(seed=3))
    (c, _), (d, _) = asyncio.run(_chunk_sizes(seed=3)), asyncio.run(_chunk_sizes(seed=4))
    assert a == b == c  # every session, every run: the same chunks
    assert d != a and sum(d) == sum(a)  # another seed: the same audio, cut differently
    e, f = asyncio.run(_chunk_sizes(seed=None))
    assert e != f  # unseeded: per session
