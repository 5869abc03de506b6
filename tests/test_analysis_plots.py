"""Plots: content checks (bars, lines, markers, labels), headless Agg."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from vatel_nb.analysis import (
    WATERFALL_COMPONENTS,
    SyntheticCall,
    floor_transfers,
    plot_chronogram,
    plot_fto_hist,
    plot_v2v_ecdf,
    plot_waterfall,
    turns,
)


@pytest.fixture(scope="module")
def call():
    c = SyntheticCall()
    c.session_started(0.1)
    c.pings(20)
    c.agent_reply("g", 0.5, 0.6, 1.0)
    c.user_speech(3.0, 4.0)
    c.transcript(4.6, "one")
    c.agent_reply("a1", 4.8, 5.0, 1.5)
    c.tool(5.2, 5.4)
    c.user_speech(8.0, 9.0)
    c.transcript(9.6, "two")
    c.agent_reply("a2", 9.8, 10.2, 3.0, cut_at=11.0)
    c.user_speech(10.9, 11.5)
    c.transcript(12.1, "three")
    c.agent_reply("a3", 12.3, 12.5, 1.0, lead_silence_s=0.05)
    c.mic(15.0)
    return c, turns(c.log)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _bars_at(ax, y):
    return [p for p in ax.patches if abs(p.get_y() + p.get_height() / 2 - y) < 1e-9]


def test_chronogram_content(call):
    c, td = call
    ax = plot_chronogram(td, c.log)
    assert len(_bars_at(ax, 3.0)) == 3  # user speech
    assert len(_bars_at(ax, 2.0)) == 4  # agent audio received (greeting + 3 replies)
    assert len(_bars_at(ax, 1.0)) == 4  # agent audio played
    labels = [line.get_label() for line in ax.get_lines()]
    markers = dict(zip(labels, ax.get_lines(), strict=True))
    assert len(markers["user transcript (final)"].get_xdata()) == 3
    assert len(markers["tool call"].get_xdata()) == 1
    assert markers["interruption"].get_xdata()[0] == pytest.approx(11.0)
    assert ax.get_title() and "s" in ax.get_xlabel()
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"user speech", "interruption"}
    # the played bar of the interrupted reply ends at the flush, not at the end of the audio
    played = sorted(_bars_at(ax, 1.0), key=lambda p: p.get_x())
    assert played[2].get_x() + played[2].get_width() == pytest.approx(11.05)


def test_waterfall_content(call):
    _, td = call
    ax = plot_waterfall(td)
    n_user = int((td["outcome"].astype(str) != "agent-initiated").sum())
    assert len(ax.patches) == n_user * len(WATERFALL_COMPONENTS)
    assert len(ax.get_legend().get_texts()) == len(WATERFALL_COMPONENTS) + 1
    x = ax.get_lines()[0].get_xdata()
    assert len(x) == td["v2v_ms"].notna().sum()
    assert "ms" in ax.get_xlabel() and ax.get_title()


def test_ecdf_content(call):
    _, td = call
    _fig, ax = plt.subplots()
    assert plot_v2v_ecdf(td, ax=ax) is ax
    v = td["v2v_ms"].dropna().to_numpy()
    labels = [line.get_label() for line in ax.get_lines()]
    assert f"ECDF (n={len(v)})" in labels
    p50 = next(line for line in ax.get_lines() if line.get_label().startswith("p50"))
    assert p50.get_xdata()[0] == pytest.approx(np.percentile(v, 50))
    assert sum(lb.startswith("p9") for lb in labels) == 2
    assert len(ax.patches) == 3  # the three bands
    assert "ms" in ax.get_xlabel()
    ax2 = plot_v2v_ecdf(td.iloc[0:0])
    assert any("no v2v_ms" in t.get_text() for t in ax2.texts)


def test_fto_hist_content(call):
    _, td = call
    ax = plot_fto_hist(td)
    ft = floor_transfers(td)
    heights = sum(p.get_height() for p in ax.patches)
    assert heights == len(ft)
    assert f"n={len(ft)}" in ax.get_title() and "ms" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["user → agent", "agent → user"]
