"""The headless caller's playback model follows the page's ring-buffer rules."""

from vatel_nb.caller import PlaybackModel

CHUNK = 480  # 20 ms at 24 kHz


def feed(model, turn, n, t0, dt=0.02, final_last=True):
    events = []
    for i in range(n):
        events += model.arrive(turn, CHUNK, final_last and i == n - 1, t0 + i * dt)
    return events


def test_turn_starts_after_cushion_and_stops_when_drained():
    m = PlaybackModel(jitter_s=0.06)
    evs = feed(m, "a", 10, t0=1.0)
    started = [e for e in evs if e.event == "started"]
    assert len(started) == 1
    # the cushion (3 chunks = 60 ms) is complete when the 3rd chunk arrives at t0 + 40 ms
    assert abs(started[0].t - 1.04) < 1e-9
    assert not [e for e in evs if e.event == "underrun"]
    assert m.due_stops(1.0 + 0.04 + 0.19) == []
    (stop,) = m.due_stops(1.0 + 0.04 + 0.2 + 1e-9)
    assert stop.samples == 10 * CHUNK and abs(stop.t - 1.24) < 1e-9


def test_short_final_turn_starts_without_full_cushion():
    m = PlaybackModel(jitter_s=0.2)
    (ev,) = m.arrive("a", CHUNK, True, 5.0)
    assert ev.event == "started" and ev.t == 5.0


def test_underrun_counts_only_mid_turn_gaps():
    m = PlaybackModel(jitter_s=0.02)
    evs = m.arrive("a", CHUNK, False, 0.0)  # starts at once, plays until 0.02
    evs += m.arrive("a", CHUNK, False, 0.05)  # 30 ms late: underrun
    under = [e for e in evs if e.event == "underrun"]
    assert len(under) == 1 and under[0].samples == round(0.03 * 24000)
    # a gap between two turns is not an underrun
    evs = m.arrive("a", CHUNK, True, 0.06)
    evs += m.arrive("b", CHUNK, True, 2.0)
    assert not [e for e in evs if e.event == "underrun"]


def test_interrupt_flushes_reports_played_and_drops_late_chunks():
    m = PlaybackModel(jitter_s=0.02, ramp_s=0.02)
    feed(m, "a", 50, t0=0.0, final_last=False)  # 1 s of audio, starts at 0.0
    (fl,) = m.interrupt(None, 0.5)
    assert fl.event == "flushed" and abs(fl.t - 0.52) < 1e-9
    assert fl.samples == round(0.52 * 24000)
    assert fl.samples + fl.dropped_samples == 50 * CHUNK
    assert m.arrive("a", CHUNK, True, 0.6) == []
    assert m.playing(0.7) is None and m.due_stops(10.0) == []
