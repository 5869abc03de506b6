"""The local-audio front-end's I/O-free core: capture framing, playback events, flush, half duplex."""

from __future__ import annotations

import numpy as np
import pytest

from vatel_nb import envelope as env
from vatel_nb.envelope import FRAME_SAMPLES, SAMPLE_RATE
from vatel_nb.local import DEVICE_CLOCK, LocalAudioCore, level_dbfs

BLOCK = 480
DT = BLOCK / SAMPLE_RATE


def tone(n: int, amp: int = 8000) -> np.ndarray:
    return (amp * np.sin(np.arange(n) * 2 * np.pi * 440 / SAMPLE_RATE)).astype(np.int16)


def run_blocks(core: LocalAudioCore, n_blocks: int, t0: float = 100.0):
    """Render ``n_blocks`` blocks from device time ``t0``; returns (audio, playback envelopes)."""
    out, events = [], []
    for i in range(n_blocks):
        block, evs = core.render(BLOCK, t0 + i * DT)
        out.append(block)
        events += [e for e, _ in evs]
    return np.concatenate(out), events


def test_capture_frames_carry_the_adc_time_of_their_first_sample():
    core = LocalAudioCore()
    sent = []
    # blocks of 300 samples: frames straddle blocks
    for i in range(8):
        sent += core.capture(tone(300), 10.0 + i * 300 / SAMPLE_RATE)
    assert len(sent) == 8 * 300 // FRAME_SAMPLES
    for k, (e, bufs) in enumerate(sent):
        env.validate_browser_envelope(e, bufs)
        assert e["clock"] == DEVICE_CLOCK and e["seq"] == k
        assert e["t_browser"] == pytest.approx((10.0 + k * FRAME_SAMPLES / SAMPLE_RATE) * 1e3)
        assert len(bufs[0]) == FRAME_SAMPLES * 2
    joined = np.concatenate([np.frombuffer(b[0], "<i2") for _, b in sent])
    assert np.array_equal(joined, np.concatenate([tone(300)] * 8)[: joined.size])


def test_capture_restarts_framing_after_a_gap():
    core = LocalAudioCore()
    core.capture(tone(240), 1.0)
    frames = core.capture(tone(480), 5.0)  # an overflow: time jumped
    assert [e["t_browser"] for e, _ in frames] == [pytest.approx(5000.0)]


def test_a_turn_starts_after_the_cushion_and_stops_after_its_last_sample():
    core = LocalAudioCore(jitter_s=0.06)
    pcm = tone(2400)  # 100 ms
    core.audio("t1", pcm[:960].tobytes(), False)  # 40 ms: under the cushion
    block, evs = core.render(BLOCK, 100.0)
    assert not evs and not block.any()
    core.audio("t1", pcm[960:].tobytes(), True)
    audio, events = run_blocks(core, 6, t0=100.0 + DT)
    assert [e["event"] for e in events] == ["started", "stopped"]
    assert events[0]["t_browser"] == pytest.approx((100.0 + DT) * 1e3)
    assert events[1]["t_browser"] == pytest.approx((100.0 + DT + 2400 / SAMPLE_RATE) * 1e3)
    assert events[1]["samples"] == 2400
    assert np.array_equal(audio[:2400], pcm)
    assert not audio[2400:].any()
    assert not core.playing


def test_started_time_is_where_the_turn_falls_inside_the_block():
    core = LocalAudioCore(jitter_s=0.0)
    core.audio("a", tone(100).tobytes(), True)
    core.audio("b", tone(480).tobytes(), True)
    _, events = run_blocks(core, 3, t0=0.0)
    by = {(e["turn_id"], e["event"]): e["t_browser"] for e in events}
    assert by[("a", "stopped")] == pytest.approx(100 / SAMPLE_RATE * 1e3)
    assert by[("b", "started")] == pytest.approx(100 / SAMPLE_RATE * 1e3)


def test_interrupt_fades_out_reports_played_and_dropped_and_drops_late_chunks():
    core = LocalAudioCore(jitter_s=0.0, ramp_s=0.02)
    core.audio("t1", tone(24000).tobytes(), False)
    run_blocks(core, 5, t0=0.0)  # 2400 samples played
    core.interrupt("t1")
    audio, events = run_blocks(core, 2, t0=5 * DT)
    (flushed,) = events
    assert flushed["event"] == "flushed" and flushed["samples"] == 2400 + 480
    assert flushed["dropped_samples"] == 24000 - 2880
    assert flushed["t_browser"] == pytest.approx((5 * DT + 0.02) * 1e3)
    assert abs(int(audio[470])) < abs(int(tone(24000)[2400 + 470])) + 1
    assert not audio[480:].any()
    core.audio("t1", tone(480).tobytes(), True)  # late chunk of the cut turn
    assert core.late_chunks == 1 and not core.playing


def test_underrun_is_reported_with_the_silence_inserted():
    core = LocalAudioCore(jitter_s=0.0)
    core.audio("t1", tone(480).tobytes(), False)
    _, ev1 = run_blocks(core, 3, t0=0.0)  # 1 block of audio, then 2 blocks dry
    core.audio("t1", tone(480).tobytes(), True)
    _, ev2 = run_blocks(core, 2, t0=3 * DT)
    events = ev1 + ev2
    assert [e["event"] for e in events] == ["started", "underrun", "stopped"]
    under = events[1]
    assert under["t_browser"] == pytest.approx(DT * 1e3) and under["samples"] == 960


def test_half_duplex_sends_silence_while_the_agent_is_audible_and_for_the_tail():
    core = LocalAudioCore(jitter_s=0.0, half_duplex=True, gate_tail_s=0.1)
    loud = tone(480)
    assert np.frombuffer(core.capture(loud, 0.0)[0][1][0], "<i2").any()
    core.audio("t1", tone(960).tobytes(), True)
    run_blocks(core, 3, t0=1.0)  # agent audible 1.00–1.04 s
    gated = core.capture(loud, 1.02) + core.capture(loud, 1.02 + DT) + core.capture(loud, 1.02 + 2 * DT)
    assert all(not np.frombuffer(b[0], "<i2").any() for _, b in gated)
    assert core.gated_frames == 3
    later = core.capture(loud, 1.2)
    assert np.frombuffer(later[0][1][0], "<i2").any()


def test_full_duplex_never_gates():
    core = LocalAudioCore(jitter_s=0.0)
    core.audio("t1", tone(960).tobytes(), True)
    run_blocks(core, 1, t0=1.0)
    assert np.frombuffer(core.capture(tone(480), 1.0)[0][1][0], "<i2").any()


def test_end_stops_capture_and_levels_are_dbfs():
    core = LocalAudioCore()
    core.end()
    assert core.capture(tone(480), 0.0) == []
    full = np.full(480, 32767, np.int16)
    assert level_dbfs(full) == pytest.approx(0.0, abs=0.01)
    assert level_dbfs(np.zeros(480, np.int16)) == -120.0
    assert core.input_db == pytest.approx(level_dbfs(tone(480)))


# ----------------------------------------------------------------- DAC clock


def _startup_callbacks():
    """The callback pattern measured through ALSA's PulseAudio plugin: a fill burst of 12 blocks
    at one stream time, a 0.8 s stall, then real-time callbacks whose reported delay ramps from 0
    to 200 ms in 60 ms steps before it holds. The true anchor is the steady one."""
    block = 480 / SAMPLE_RATE
    t0, out = 1000.0, []
    for k in range(12):  # fill burst: dac = now + k blocks, now barely moves
        out.append((k * 480, t0 + k * block, t0 + 0.0001 * k))
    for k in range(12, 200):
        now = t0 + 0.8 + (k - 12) * block
        ramp = min(0.2, 0.06 * ((k - 12) // 3))  # the reported delay: 0 → 200 ms in 60 ms steps
        out.append((k * 480, now + ramp, now))
    return out, t0 + 0.8 + 0.2 - 12 * block  # sample 12·480 is heard at the stall's end + 200 ms


def test_dac_clock_anchors_on_the_steady_offset_and_reports_provisional_ones():
    from vatel_nb.local._dac_clock import DacClock

    calls, steady = _startup_callbacks()
    clock = DacClock(SAMPLE_RATE)
    used = []
    for n, dac, now in calls:
        t, anchor = clock.block(n, dac, now)
        used.append((clock.settled, n, t, anchor))
    settled_at = next(i for i, u in enumerate(used) if u[0])
    # not trusted during the burst, the stall and the ramp; trusted once steady for 1 s
    assert settled_at >= 12 + 3 * 4 + 50  # burst, ramp, then 1 s (50 blocks) at the steady delay
    assert abs(clock.anchor - steady) < 1e-9
    # every time stamped after settling follows the steady anchor exactly
    for _, n, t, _ in used[settled_at:]:
        assert abs(t - (steady + n / SAMPLE_RATE)) < 1e-9
    # a provisional stamp moved by (final − the anchor it used) is the steady one
    for _, n, t, anchor in used[:settled_at]:
        assert abs(t + (clock.anchor - anchor) - (steady + n / SAMPLE_RATE)) < 1e-9
    # before the fix the fill-burst stamps were up to the stall's length early
    assert steady - used[0][3] > 0.5


def test_dac_clock_waits_out_a_ramp_step_that_holds_under_load_and_ignores_one_blip():
    """Under load one step of the start-up ramp held for 0.4 s: a 0.25 s settle took it for the
    steady delay and stamped the greeting 200 ms early (fresh-clone CI). One noisy reading while
    settling must not restart the count."""
    from vatel_nb.local._dac_clock import DacClock

    block = 480 / SAMPLE_RATE
    clock, n, now = DacClock(SAMPLE_RATE), 0, 50.0
    for _ in range(20):  # 0.4 s at the ramp's 0 ms step: sample n reported at once
        clock.block(n, now, now)
        n, now = n + 480, now + block
    assert not clock.settled
    steady = None
    for k in range(100):  # the real delay, 200 ms, with one wild reading in it
        dac = now + 0.2 + (0.05 if k == 30 else 0.0)
        clock.block(n, dac, now)
        steady = now + 0.2 - n / SAMPLE_RATE
        n, now = n + 480, now + block
        if clock.settled:
            break
    assert clock.settled and abs(clock.anchor - steady) < 1e-9
    assert 1.0 <= k * block < 1.1  # settled after 1 s of agreement: the blip did not restart it


def test_dac_clock_follows_a_real_step_after_settling_and_ignores_a_blip():
    from vatel_nb.local._dac_clock import DacClock

    clock = DacClock(SAMPLE_RATE, settle_s=0.1)
    block = 480 / SAMPLE_RATE
    n = 0
    for k in range(20):
        clock.block(n, 5.0 + n / SAMPLE_RATE, k * block)
        n += 480
    assert clock.settled and abs(clock.anchor - 5.0) < 1e-9
    clock.block(n, 5.3 + n / SAMPLE_RATE, 1.0)  # one wild reading: ignored (median)
    n += 480
    assert abs(clock.anchor - 5.0) < 1e-9
    for k in range(5):  # an underflow delayed everything after it by 40 ms: taken up
        clock.block(n, 5.04 + n / SAMPLE_RATE, 1.1 + k * block)
        n += 480
    assert abs(clock.anchor - 5.04) < 1e-9


def test_dac_clock_trusts_the_offsets_after_max_wait_even_if_they_never_agree():
    from vatel_nb.local._dac_clock import DacClock

    clock = DacClock(SAMPLE_RATE, max_wait_s=1.0)
    for k in range(100):
        clock.block(k * 480, 7.0 + k * 0.003 + k * 480 / SAMPLE_RATE, k * 0.02)
        if clock.settled:
            break
    assert clock.settled and 1.0 <= k * 0.02 < 1.1
