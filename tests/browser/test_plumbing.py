"""The Jupyter ↔ Chromium ↔ fake-mic plumbing, with a tiny probe anywidget (no vatel_nb widget).

JupyterLab and Notebook 7, comms over subshells (the default) and disabled. Asserts from the kernel:
the page's microphone audio is the WAV (each utterance found intact by cross-correlation, voiced
spans within 50 ms), frames are contiguous, kernel → page audio was played (started / stopped) and an
interrupt flushed it; and the comm handler thread shows whether subshells were really used. A
capture during which chromium reports its own audio glitch (render underruns, undelivered frames)
is measured once more: the machine lost that audio, not the plumbing.
"""

from __future__ import annotations

import numpy as np
import pytest

from ._audio_check import align, locate, voiced_runs
from ._fake_mic import FRAME, RATE, plumbing_script
from ._notebooks import probe_notebook

pytestmark = pytest.mark.browser

SCRIPT = plumbing_script()
CAPTURE_S = 6.0


def glitched(stats: dict | None) -> bool:
    """Chromium itself reports an audio glitch during the capture: its render thread underran
    (AudioContext.playbackStats: the mic input is zero-filled meanwhile) or capture frames were not
    delivered (MediaStreamTrack.stats). The machine, not the plumbing, lost audio then."""
    return bool(stats) and ((stats["underrun_ms"] or 0) > 0 or (stats["undelivered_ms"] or 0) > 0)


def capture_once(jupyter, subshells, browser, notebook_page, artifacts, attempt):
    """Run the probe notebook once; the kernel's record, the captured PCM and chromium's audio stats."""
    name = f"probe-{jupyter.app}-{subshells}" + (f"-retry{attempt}" if attempt else "")
    result = artifacts / f"{name}.json"
    result.unlink(missing_ok=True)
    probe_notebook(jupyter.root_dir / f"{name}.ipynb", result, CAPTURE_S)
    jupyter.set_comms_over_subshells(None if subshells == "default" else "disabled")

    page = notebook_page(browser, jupyter, f"{name}.ipynb")
    if subshells == "disabled" and jupyter.app == "notebook":
        # Notebook 7.6 lacks JupyterLab's subshell-settings plugin: apply the setting as it would
        assert page.force_comms_over_subshells("disabled")
    page.run_all()
    page.wait_for("probe live", lambda: page.page.locator(".vatel-probe", has_text="live").count(), 60)
    data = page.wait_for_file(result, timeout_s=60)
    page.screenshot(name)
    data["page"] = page.kernel_info()
    pcm = np.frombuffer(result.with_name(result.name + ".pcm").read_bytes(), dtype="<i2")
    flushed = [e for e in data["envelopes"] if e["kind"] == "playback" and e["event"] == "flushed"]
    stats = flushed[0].get("audio_stats") if flushed else None
    print(f"chromium audio stats ({name}): {stats}")
    return data, pcm, stats


@pytest.mark.parametrize("subshells", ["default", "disabled"])
def test_probe_widget_round_trip(jupyter, subshells, browser_for, notebook_page, tmp_path, artifacts):
    browser = browser_for("plumbing", SCRIPT)
    # A capture during which chromium reports its own audio glitch is not a measurement of the
    # plumbing: measure once more (once). Audio lost with no glitch reported fails at once.
    for attempt in range(2):
        data, pcm, stats = capture_once(jupyter, subshells, browser, notebook_page, artifacts, attempt)
        assert stats is not None and stats["underrun_ms"] is not None, "chromium's audio stats are missing"
        envs = data["envelopes"]
        status_errors = [e for e in envs if e["kind"] == "status"]
        assert not status_errors, status_errors
        ready = [e for e in envs if e["kind"] == "ready"]
        assert len(ready) == 1 and ready[0]["context_rate"] == RATE

        # the microphone: the WAV's utterances arrive intact, where they belong
        assert pcm.size == data["mic_frames"] * 480 >= CAPTURE_S * RATE
        try:
            check_utterances(pcm, SCRIPT)
            break
        except AssertionError:
            if attempt or not glitched(stats):
                raise

    # kernel → page audio: played, reported, flushed on interrupt
    playback = {(e["turn_id"], e["event"]): e for e in envs if e["kind"] == "playback"}
    started, stopped = playback[("t1", "started")], playback[("t1", "stopped")]
    assert stopped["samples"] == 12000
    assert stopped["t_browser"] - started["t_browser"] == pytest.approx(500, abs=25)
    flushed = playback[("t2", "flushed")]
    assert flushed["samples"] + flushed["dropped_samples"] == 48000
    assert 0.2 * RATE < flushed["samples"] < 1.5 * RATE  # cut ≈0.4 s in, well before its 2 s end
    assert ("t2", "stopped") not in playback

    # the subshell setting reached the page: widget comms use a subshell unless disabled
    comm_subshells = data["page"]["comm_subshells"]
    assert data["page"]["supports_subshells"] is True
    assert comm_subshells and all((sid is None) == (subshells == "disabled") for sid in comm_subshells), data[
        "page"
    ]
    # (kernel side, ipykernel 7.4 routes a widget's comm_msg to the subshell that last published on
    # the comm — the main shell here — so handler threads are recorded, not asserted)
    print(f"comm handler threads ({jupyter.app}, subshells {subshells}): {data['threads']}")


def check_utterances(pcm: np.ndarray, script) -> None:
    """Every first-pass utterance of ``script`` is in ``pcm`` (correlation > 0.9), the VAD finds
    exactly those voiced spans, and accumulated audio loss stays under 100 ms."""
    lag, _ = align(pcm, script.pcm)
    assert -RATE < lag < 2 * RATE, f"capture started {lag / RATE:.2f} s into the file"
    first_pass = pcm[: script.pcm.size - lag]  # chromium loops the file: analyse one pass only
    runs = voiced_runs(first_pass)
    expected = [u for u in script.utterances if u.start >= lag]
    assert len(runs) == len(expected), (runs, [(u.start - lag, u.end - lag) for u in expected])
    for u, (a, b) in zip(expected, runs, strict=True):
        pos, corr = locate(pcm, script.pcm[u.start : u.end], u.start - lag)
        assert corr > 0.9, f"utterance {u.text!r} not found intact in the captured audio (corr {corr:.2f})"
        assert abs(pos - (u.start - lag)) <= 0.1 * RATE, (
            f"{u.text!r}: {(pos - u.start + lag) / RATE:.3f} s off"
        )
        # ±50 ms: the VAD grid, plus weak onsets that chromium's resampling pushes under the threshold
        assert abs(a - pos) <= 5 * FRAME and abs((b - a) - (u.end - u.start)) <= 0.1 * RATE, ((a, b), pos, u)
