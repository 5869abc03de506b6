"""Client VAD on captured PCM: boundaries of synthetic utterances within one frame."""

from __future__ import annotations

import numpy as np
import pytest

from vatel_nb.analysis import VadSettings, frame_levels_db, leading_silence_samples, speech_segments

SR = 24_000


def _signal(bursts, total_s, kind, seed=0, floor=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, floor, round(total_s * SR)) if floor else np.zeros(round(total_s * SR))
    for a, b in bursts:
        i, j = round(a * SR), round(b * SR)
        n = j - i
        if kind == "tone":
            x[i:j] += 6000 * np.sin(2 * np.pi * 180 * np.arange(n) / SR)
        else:
            x[i:j] += rng.normal(0, 3000, n)
    return np.clip(x, -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("kind", ["tone", "noise"])
@pytest.mark.parametrize("floor", [0.0, 30.0])
def test_boundaries_within_one_frame(kind, floor):
    bursts = [(0.503, 1.717), (2.61, 3.2), (4.0051, 6.33)]
    pcm = _signal(bursts, 7.0, kind, floor=floor)
    settings = VadSettings()
    segs = speech_segments(pcm, settings) / SR
    assert len(segs) == len(bursts)
    frame_s = settings.frame_ms / 1000
    for (a, b), (s, e) in zip(bursts, segs, strict=True):
        assert abs(s - a) <= frame_s and abs(e - b) <= frame_s


def test_short_pauses_merge_and_clicks_are_dropped():
    pcm = _signal([(1.0, 1.5), (1.6, 2.0), (3.0, 3.02)], 4.0, "tone")
    segs = speech_segments(pcm, VadSettings(min_silence_ms=250, min_speech_ms=60)) / SR
    assert segs.shape == (1, 2) and segs[0].tolist() == pytest.approx([1.0, 2.0], abs=0.011)
    split = speech_segments(pcm, VadSettings(min_silence_ms=50, min_speech_ms=10)) / SR
    assert len(split) == 3


def test_silence_and_empty_give_no_segments():
    assert speech_segments(np.zeros(SR, np.int16)).shape == (0, 2)
    assert speech_segments(np.zeros(0, np.int16)).shape == (0, 2)


def test_levels_and_leading_silence():
    x = np.zeros(2400, np.int16)
    x[1200:] = 16384
    lv = frame_levels_db(x, 240)
    assert len(lv) == 10 and lv[0] == -120.0 and lv[-1] == pytest.approx(-6.02, abs=0.01)
    assert leading_silence_samples(x) == 1200
    assert leading_silence_samples(np.zeros(480, np.int16)) is None
