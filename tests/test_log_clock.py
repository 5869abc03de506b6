"""ClockSync: min-RTT offset estimation, re-estimation under drift."""

from __future__ import annotations

import numpy as np
import pytest

from vatel_nb.log import ClockSync


def _pings(clock: ClockSync, offset_ms, times, rng, base_s=0.002, jitter_s=0.03):
    """Kernel sends at k; the ping takes base + up-jitter, the pong base + down-jitter (asymmetric)."""
    for k in times:
        up = base_s + rng.exponential(jitter_s)
        down = base_s + rng.exponential(jitter_s / 3)
        off = offset_ms(k + up) if callable(offset_ms) else offset_ms
        t_browser = (k + up) * 1000.0 + off
        clock.add_sample(k, t_browser, k + up + down)


def test_constant_offset_with_asymmetric_jitter_within_bound():
    rng = np.random.default_rng(1)
    clock = ClockSync(window_s=10.0)
    true = 98_765.4
    _pings(clock, true, np.arange(0, 60, 0.5), rng)
    # bound: half the lowest RTT found (the true offset is within ± rtt/2 of that sample)
    assert abs(clock.offset_ms - true) <= clock.uncertainty_ms + 1e-9
    assert clock.uncertainty_ms < 5.0  # the min-RTT samples were picked, not the jittery ones
    tb = np.array([1000.0, 30_000.0]) + true
    np.testing.assert_allclose(clock.to_kernel(tb), [1.0, 30.0], atol=clock.uncertainty_ms / 1000 + 1e-9)
    # a naive mean over all samples is far worse than the estimate
    naive = np.mean([tb_ - (ks + kr) * 500 for ks, tb_, kr in clock.samples()])
    assert abs(naive - true) > 3 * abs(clock.offset_ms - true)


def test_reestimation_tracks_a_drifting_offset():
    rng = np.random.default_rng(2)
    clock = ClockSync(window_s=5.0)

    def off(k):
        return 5_000.0 + 0.0002 * k * 1000.0  # 200 ppm drift: +0.2 ms per s

    _pings(clock, off, np.arange(0, 120, 0.5), rng)
    for k in (10.0, 60.0, 110.0):
        est = clock.offset_at(k)
        assert abs(est - off(k)) < 3.0, (k, est, off(k))
        assert clock.to_kernel(k * 1000.0 + off(k)) == pytest.approx(k, abs=0.003)
    # the estimate moved with the drift (20 ms over 100 s); one global estimate could not
    assert abs((clock.offset_at(110.0) - clock.offset_at(10.0)) - (off(110.0) - off(10.0))) < 4.0


def test_no_samples_maps_to_nan_and_bad_samples_are_refused():
    clock = ClockSync()
    assert np.isnan(clock.to_kernel(1000.0))
    assert np.isnan(clock.offset_ms)
    with pytest.raises(ValueError, match="k_recv"):
        clock.add_sample(2.0, 100.0, 1.0)
    with pytest.raises(ValueError, match="finite"):
        clock.add_sample(1.0, float("nan"), 2.0)
    assert len(clock) == 0
