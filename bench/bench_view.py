"""Benchmark of the call view on a synthetic call (default 60 minutes).

Run: ``.venv/bin/python bench/bench_view.py [--minutes 60] [--no-browser]``

Reports, for the call of bench_analysis.py (a turn every 9 s, 50 mic chunks/s, clock pings):

* open time (kernel), in the two phases of ``CallView``'s background build: (1) the stereo
  recording and its envelopes — the page shows the waveforms and can play [≤ 2 s]; (2) the
  events frame, ``turns()`` (with the client VAD over the whole mic track), intervals, markers —
  the turns and latencies appear. Both as a ratio to the baseline measured in the same run:
  ``turns() + summary()`` alone (what a user pays today to get the numbers without the view);
* bytes sent to the page when it opens (timeline JSON + envelopes; no audio: the page fetches 60 s
  WAV windows when it plays) vs the stereo recording's size;
* page side, in headless Debian chromium (the HTML file without its audio, from disk): time to
  first drawn timeline, and the redraw time of a zoom / pan step (smoothness: ≤ 16 ms = 60 fps).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_analysis import synthetic_hour

from vatel_nb.analysis import summary, turns
from vatel_nb.log import stereo_recording
from vatel_nb.view import build_view_data, write_html
from vatel_nb.view._data import build_audio
from vatel_nb.view._envelope import DEFAULT_BUCKETS, envelope_levels


def _timed(fn, repeat: int = 2):
    """(best wall s, best CPU s, last result)."""
    best_w = best_c = float("inf")
    out = None
    for _ in range(repeat):
        gc.collect()
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        best_w = min(best_w, time.perf_counter() - w)
        best_c = min(best_c, time.process_time() - c)
    return best_w, best_c, out


def page_side(data, minutes: float) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        path = write_html(data, Path(tmp) / "view.html", audio=False)
        html_bytes = path.stat().st_size
        with sync_playwright() as pw:
            b = pw.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = b.new_context(viewport={"width": 1400, "height": 600}, offline=True).new_page()
            t = time.perf_counter()
            page.goto(path.as_uri())
            page.wait_for_selector(".vatel-view[data-t1]")
            first = time.perf_counter() - t
            steps = page.evaluate(
                """() => {
                  const stage = document.querySelector('.vv-stage');
                  const r = stage.getBoundingClientRect();
                  const out = {zoom: [], pan: []};
                  for (let i = 0; i < 40; i++) {  // zoom in 40 wheel steps (1 h → ~20 s), then pan
                    const t = performance.now();
                    stage.dispatchEvent(new WheelEvent('wheel', {deltaY: -60, clientX: r.left + r.width / 2,
                      clientY: r.top + 50, bubbles: true, cancelable: true}));
                    out.zoom.push(performance.now() - t);
                  }
                  for (let i = 0; i < 40; i++) {
                    const t = performance.now();
                    stage.dispatchEvent(new WheelEvent('wheel', {deltaX: 80, clientX: r.left + 10,
                      clientY: r.top + 50, bubbles: true, cancelable: true}));
                    out.pan.push(performance.now() - t);
                  }
                  const root = document.querySelector('.vatel-view');
                  out.span = Number(root.dataset.t1) - Number(root.dataset.t0);
                  return out;
                }"""
            )
            b.close()
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    return {
        "first_draw_s": first,
        "zoom_ms_median": med(steps["zoom"]),
        "zoom_ms_max": max(steps["zoom"]),
        "pan_ms_median": med(steps["pan"]),
        "pan_ms_max": max(steps["pan"]),
        "span_after_zoom_s": steps["span"],
        "html_bytes_without_audio": html_bytes,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--no-browser", action="store_true", help="skip the chromium page-side figures")
    args = ap.parse_args()

    t = time.perf_counter()
    log = synthetic_hour(args.minutes).log
    built = time.perf_counter() - t
    print(f"== synthetic call of {args.minutes:g} min built in {built:.1f} s: {len(log)} events")

    def baseline():
        ev = log.frame()
        td = turns(ev, user_audio=log.user_audio, agent_audio=log.agent_audio)
        return summary(td, ev)

    b_w, b_c, _ = _timed(baseline)
    a_w, a_c, audio = _timed(lambda: build_audio(log))
    t_w, t_c, data = _timed(lambda: build_view_data(log, title="bench", audio=audio))
    s_w, s_c, stereo = _timed(lambda: stereo_recording(log))
    e_w, e_c, _ = _timed(lambda: [envelope_levels(stereo[:, ch], DEFAULT_BUCKETS) for ch in (0, 1)])
    j_w, j_c, _ = _timed(lambda: json.dumps(data.timeline, separators=(",", ":")))
    audio_bytes = stereo.nbytes
    print(f"  baseline turns() + summary()      : {b_c:6.3f} s CPU ({b_w:.3f} s wall)")
    print(
        f"  open, waveforms shown (phase 1)   : {a_c:6.3f} s CPU ({a_w:.3f} s wall)  (target ≤ 2 s)  "
        f"ratio to baseline {a_c / b_c:.2f}"
    )
    print(
        f"  open, turns shown too (1 + 2)     : {a_c + t_c:6.3f} s CPU ({a_w + t_w:.3f} s wall)  "
        f"ratio to baseline {(a_c + t_c) / b_c:.2f}"
    )
    print(f"    of which stereo_recording       : {s_c:6.3f} s CPU ({s_w:.3f} s wall)")
    print(f"    of which envelopes (3 levels×2) : {e_c:6.3f} s CPU ({e_w:.3f} s wall)")
    print(f"    of which timeline JSON          : {j_c:6.3f} s CPU ({j_w:.3f} s wall)")
    js = len(json.dumps(data.timeline, separators=(",", ":")))
    print(
        f"  bytes sent to the page at open    : {data.page_bytes / 1e6:6.2f} MB "
        f"(timeline JSON {js / 1e6:.2f} MB + envelopes {len(data.envelopes) / 1e6:.2f} MB, "
        f"{len(data.timeline['turns'])} turns)"
    )
    print(
        f"  vs the stereo recording           : {audio_bytes / 1e6:6.1f} MB → "
        f"{data.page_bytes / audio_bytes:.2%} "
        f"(audio comes later, 60 s windows of {60 * 96_000 / 1e6:.2f} MB)"
    )
    if not args.no_browser:
        p = page_side(data, args.minutes)
        print(
            f"  page: first timeline drawn        : {p['first_draw_s']:6.3f} s after navigation "
            f"(HTML w/o audio, {p['html_bytes_without_audio'] / 1e6:.2f} MB)"
        )
        print(
            f"  page: zoom step redraw            : median {p['zoom_ms_median']:.1f} ms, "
            f"max {p['zoom_ms_max']:.1f} ms  (40 wheel steps down to a {p['span_after_zoom_s']:.0f} s span)"
        )
        print(
            f"  page: pan step redraw             : median {p['pan_ms_median']:.1f} ms, "
            f"max {p['pan_ms_max']:.1f} ms"
        )


if __name__ == "__main__":
    main()
