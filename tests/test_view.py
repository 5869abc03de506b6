"""The call view's Python side: envelopes, the timeline data (latencies straight from turns()),
call sources (session, log, folder, folder of calls), the widget's audio windows, live refresh,
and the self-contained HTML file."""

from __future__ import annotations

import base64
import io
import json
import re
import time
import wave

import numpy as np
import pytest

from vatel_nb.analysis import LATENCY_COLUMNS, SyntheticCall, speech_intervals, turns
from vatel_nb.log import save_session, stereo_recording
from vatel_nb.view import (
    DEFAULT_BUCKETS,
    CallView,
    build_view_data,
    envelope_levels,
    html_text,
    resolve_source,
    write_call_html,
)
from vatel_nb.view._data import build_audio
from vatel_nb.view._envelope import minmax, quantize


def synthetic_call(seconds: float = 20.0) -> SyntheticCall:
    c = SyntheticCall()
    c.session_started(0.1)
    c.pings(seconds)
    c.agent_reply("greet", 0.5, 0.7, 2.0, text="Hello", burst=1.0)
    c.user_speech(4.0, 6.5)
    c.transcript(7.1, "what time is it", turn_id="u1")
    c.agent_reply("a1", 7.3, 7.5, 3.0, text="It is noon.", burst=1.0)
    c.user_speech(12.0, 13.0)
    c.tool(13.9, 14.1, call_id="c1", name="get_time")
    c.agent_reply("a2", 14.3, 14.5, 3.0, text="Let me see.", burst=1.0, cut_at=15.5)
    c.user_speech(15.2, 16.4)
    c.agent_reply("a3", 17.3, 17.5, 1.0, text="Sorry.", burst=1.0)
    c.mic(seconds)
    return c


# ---------------------------------------------------------------- envelopes


def test_minmax_matches_brute_force_with_partial_last_bucket() -> None:
    rng = np.random.default_rng(1)
    pcm = rng.integers(-32768, 32767, 10_007, dtype=np.int16)
    mm = minmax(pcm, 240, block_buckets=7)  # several blocks
    assert mm.shape == (42, 2)
    for k in (0, 13, 41):
        chunk = pcm[k * 240 : (k + 1) * 240]
        assert tuple(mm[k]) == (chunk.min(), chunk.max())
    assert minmax(np.zeros(0, np.int16), 240).shape == (0, 2)


def test_levels_are_exact_merges_of_the_samples() -> None:
    rng = np.random.default_rng(2)
    pcm = rng.integers(-2000, 2000, 24_000 * 3 + 5, dtype=np.int16)
    levels = envelope_levels(pcm, DEFAULT_BUCKETS)
    assert [e.bucket for e in levels] == list(DEFAULT_BUCKETS)
    for e in levels:
        assert np.array_equal(e.mm, minmax(pcm, e.bucket)), e.bucket
    with pytest.raises(ValueError, match="multiples"):
        envelope_levels(pcm, (240, 1000))


def test_quantize_scales_to_peak_and_keeps_quiet_sound_visible() -> None:
    mm = np.array([[-8000, 8000], [-3, 2], [0, 0], [-32768, 32767]], dtype=np.int16)
    q = np.frombuffer(quantize(mm, 8000), dtype=np.int8).reshape(-1, 2)
    assert q[0].tolist() == [-127, 127]
    assert q[1].tolist() == [-1, 1], "a quiet bucket is not drawn as silence"
    assert q[2].tolist() == [0, 0]
    assert q[3].tolist() == [-127, 127], "clipped, not wrapped"


# ---------------------------------------------------------------- the timeline data


def test_view_data_reuses_the_analysis_for_every_latency_and_interval() -> None:
    c = synthetic_call()
    data = build_view_data(c.log, title="t")
    tl = data.timeline
    td = turns(c.log)
    assert len(tl["turns"]) == len(td)
    for rec, (_, row) in zip(tl["turns"], td.iterrows(), strict=True):
        assert rec["turn"] == row["turn"] and rec["outcome"] == str(row["outcome"])
        for col in LATENCY_COLUMNS:
            want = row[col]
            assert (rec["latency"][col] is None) == bool(np.isnan(want)), (col, rec, want)
            if rec["latency"][col] is not None:
                assert rec["latency"][col] == pytest.approx(want, abs=1e-6), col
    iv = speech_intervals(td)
    assert [(i["speaker"], i["start"], i["end"]) for i in tl["intervals"]] == [
        (s, pytest.approx(a), pytest.approx(b))
        for s, a, b in iv[["speaker", "start", "end"]].itertuples(index=False)
    ]
    user_turns = [t for t in tl["turns"] if t["outcome"] != "agent-initiated"]
    assert [t["outcome"] for t in user_turns] == ["responded", "interrupted", "responded"]
    first = user_turns[0]
    assert first["user"] == [pytest.approx(4.0), pytest.approx(6.5)]
    assert first["start"] == pytest.approx(4.0)
    assert first["transcript"] == "what time is it"
    assert first["times"]["t_played"] == pytest.approx(7.58)
    assert first["latency"]["v2v_ms"] == pytest.approx(1080.0)
    assert tl["tools"] == [{"t": 13.9, "end": 14.1, "name": "get_time", "id": "c1"}]
    assert tl["interruptions"] == [{"t": 15.5, "turn_id": "a2"}]
    assert tl["components"][0] == ["eou_ms", "end of utterance"]
    assert tl["duration_s"] == pytest.approx(20.0, abs=0.05)
    assert tl["stats"]["turns"] == 3
    json.dumps(tl, allow_nan=False)  # strict JSON: NaN became null


def test_envelope_layout_matches_the_recording() -> None:
    c = synthetic_call()
    data = build_view_data(c.log)
    stereo = stereo_recording(c.log)
    assert np.array_equal(data.stereo, stereo)
    tl = data.timeline
    for ch, name in enumerate(("user", "agent")):
        peak = tl["channels"][ch]["peak"]
        assert peak == int(np.abs(stereo[:, ch].astype(np.int32)).max())
        for lvl, bucket in zip(tl["levels"], DEFAULT_BUCKETS, strict=True):
            off, n = lvl[name]
            assert n == 2 * lvl["n"] == 2 * -(-len(stereo) // bucket)
            got = np.frombuffer(data.envelopes[off : off + n], dtype=np.int8).reshape(-1, 2)
            want = np.frombuffer(quantize(minmax(stereo[:, ch], bucket), peak), dtype=np.int8).reshape(-1, 2)
            assert np.array_equal(got, want)
    # the user speaks over [4, 6.5): loud there, silent at 2 s (10 ms level)
    off, n = tl["levels"][0]["user"]
    user10 = np.frombuffer(data.envelopes[off : off + n], np.int8)
    assert user10[2 * 500 + 1] > 100 and user10[2 * 200 + 1] == 0
    assert data.page_bytes < 30_000, "no audio in what the page gets at open"
    # what the page shows first, before the turns are analysed: the same waveforms, no turns yet
    first = build_audio(c.log).skeleton("t", live=True)
    assert first["pending"] is True and first["turns"] == [] and first["live"] is True
    assert first["levels"] == tl["levels"] and first["channels"] == tl["channels"]
    assert tl["pending"] is False


# ---------------------------------------------------------------- sources


def test_sources_log_folder_and_folder_of_calls(tmp_path) -> None:
    c = synthetic_call()
    assert resolve_source(c.log).log is c.log
    one = save_session(c.log, tmp_path / "suite" / "call-a")
    save_session(synthetic_call(8.0).log, tmp_path / "suite" / "call-b")
    src = resolve_source(one)
    assert src.title == f"call-a · {c.log.wall0:%Y-%m-%d %H:%M} UTC" and len(src.log) == len(c.log)
    with pytest.raises(ValueError, match=r"holds 2 saved calls \(call-a, call-b\); pick one with call="):
        resolve_source(tmp_path / "suite")
    assert resolve_source(tmp_path / "suite", call=2).title.startswith("call-b · ")
    assert resolve_source(tmp_path / "suite", call=-1).title.startswith("call-b · ")
    assert resolve_source(str(tmp_path / "suite"), call="call-a").title.startswith("call-a · ")
    with pytest.raises(KeyError, match="not one of the saved calls"):
        resolve_source(tmp_path / "suite", call="nope")
    with pytest.raises(IndexError):
        resolve_source(tmp_path / "suite", call=5)
    with pytest.raises(KeyError, match="holds one call"):
        resolve_source(one, call=2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no saved session"):
        resolve_source(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        resolve_source(tmp_path / "missing")
    with pytest.raises(TypeError, match="CallView shows"):
        resolve_source(42)


def test_calls_of_a_recording_and_of_a_multi_call_folder(tmp_path) -> None:
    from vatel_nb.log import Recording

    first, second = synthetic_call(10.0), synthetic_call(20.0)
    rec = Recording()
    rec.add(first.log).status = "ended"
    rec.add(second.log).status = "ended"
    assert resolve_source(rec).log is second.log, "default: the last call"
    assert resolve_source(rec, call=1).log is first.log
    assert resolve_source(rec, call=1).title.startswith("call 1 · ")
    with pytest.raises(KeyError, match="no call 3"):
        resolve_source(rec, call=3)
    folder = rec.save(tmp_path / "session")
    assert (folder / "calls.json").exists()
    last = resolve_source(folder)
    assert last.title.startswith("session · call 2 · ") and len(last.log) == len(second.log)
    assert len(resolve_source(folder, call=1).log) == len(first.log)
    # a folder of multi-call sessions (a suite's output): pick the session, see its last call
    assert resolve_source(tmp_path, call="session").title.startswith("session · call 2")


# ---------------------------------------------------------------- the widget


def test_widget_traits_and_audio_windows() -> None:
    c = synthetic_call()
    view = CallView(c.log)
    assert view.wait(60)
    assert view.timeline["turns"] and view.envelopes == view.data.envelopes
    sent: list = []
    view.send = lambda msg, buffers=None: sent.append((msg, buffers))  # type: ignore[method-assign]
    view._on_custom(view, {"kind": "audio-request", "id": 7, "start_s": 3.5}, [])
    msg, bufs = sent[-1]
    assert msg == {"kind": "audio", "id": 7, "start_s": 3.5, "duration_s": pytest.approx(16.5, abs=0.05),
                   "total_s": pytest.approx(len(view.data.stereo) / 24000)}  # fmt: skip
    with wave.open(io.BytesIO(bufs[0])) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 24000, 2)
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16).reshape(-1, 2)
    assert np.array_equal(pcm, view.data.stereo[84_000:])
    for bad in ({"kind": "audio-request", "id": "x", "start_s": 1}, {"kind": "nope"}, None,
                {"kind": "audio-request", "id": 1, "start_s": float("nan")}):  # fmt: skip
        view._on_custom(view, bad, [])
    assert len(sent) == 1, "malformed requests are ignored"
    view._on_custom(view, {"kind": "audio-request", "id": 8, "start_s": 10_000}, [])
    assert sent[-1][0]["start_s"] < sent[-1][0]["total_s"], "a request past the end gets the last sample"
    view.close()


class FakeSession:
    """What CallView needs of a session: .log (the current call's) and .status."""

    def __init__(self, log):
        self.log, self.status = log, "live"


def test_live_session_is_followed_until_the_call_ends() -> None:
    c = SyntheticCall()
    c.session_started(0.1)
    c.agent_reply("greet", 0.5, 0.7, 1.0, text="Hello", burst=1.0)
    c.log.meta["session_id"] = "sess-1"
    s = FakeSession(c.log)
    view = CallView(s, refresh_s=0.05)
    assert view.wait(60)
    assert view.timeline["live"] is True and view.timeline["title"].startswith("sess-1 · ")
    n0 = len(view.timeline["turns"])
    c.user_speech(3.0, 4.0)
    c.agent_reply("a1", 5.0, 5.2, 1.0, text="Sure.", burst=1.0)
    deadline = time.monotonic() + 10
    while len(view.timeline["turns"]) == n0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(view.timeline["turns"]) == n0 + 1
    s.status = "ended"
    deadline = time.monotonic() + 10
    while view.timeline["live"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert view.timeline["live"] is False
    # the session's next call: the view moves on to it
    nxt = SyntheticCall()
    nxt.session_started(0.1)
    nxt.agent_reply("g2", 0.5, 0.7, 3.0, text="Hello again", burst=1.0)
    s.log, s.status = nxt.log, "live"
    deadline = time.monotonic() + 10
    while not (view.timeline["live"] and view.timeline["duration_s"] < 5) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert view.timeline["live"] is True and view.timeline["duration_s"] == pytest.approx(3.8, abs=0.1)
    assert view.log is nxt.log
    view.close()
    view._thread.join(10)
    assert not view._thread.is_alive(), "close() stops following"


# ---------------------------------------------------------------- the HTML file


def test_html_is_one_self_contained_file(tmp_path) -> None:
    c = synthetic_call()
    data = build_view_data(c.log, title="demo </script><b>")
    text = html_text(data)
    assert text.count("</script>") == 4, "the title cannot close a script element"
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "nothing loaded from elsewhere"
    module = text.split('<script type="module">')[1].split("bootStaticPage();")[0]
    assert not re.search(r"^import ", module, re.M), "one inlined module, no imports"
    audio = re.search(r'id="vatel-view-audio">data:audio/wav;base64,([^<]+)<', text).group(1)
    with wave.open(io.BytesIO(base64.b64decode(audio))) as w:
        assert w.getnchannels() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16).reshape(-1, 2)
    assert np.array_equal(pcm, data.stereo)
    env = re.search(r'id="vatel-view-envelopes">([^<]+)<', text).group(1)
    assert base64.b64decode(env) == data.envelopes
    timeline = re.search(r'id="vatel-view-timeline">(.+?)</script>', text).group(1)
    assert json.loads(timeline.replace("<\\/", "</"))["title"] == "demo </script><b>"
    folder = save_session(c.log, tmp_path / "call")
    out = write_call_html(folder, tmp_path / "call.html")
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_view_bundle_evaluates_in_node_and_exports_render(tmp_path) -> None:
    import shutil
    import subprocess

    from vatel_nb.view._html import VIEW_ENTRY
    from vatel_nb.widget._bundle import widget_esm

    node = shutil.which("node")
    assert node, "node is needed for the JS tests (apt-get install nodejs)"
    (tmp_path / "view.mjs").write_text(widget_esm(VIEW_ENTRY), encoding="utf-8")
    script = (
        "const m = await import(process.argv[1]);"
        "console.log(JSON.stringify([typeof m.default.render, typeof m.default.initialize, Object.keys(m)]));"
    )
    proc = subprocess.run(
        [node, "--input-type=module", "-e", script, (tmp_path / "view.mjs").as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '["function","undefined",["default"]]'


def test_report_writes_one_call_view_per_call(tmp_path) -> None:
    from vatel_nb.cli._outputs import write_report
    from vatel_nb.log import Recording

    rec = Recording()
    short = SyntheticCall()
    short.session_started(0.1)
    short.agent_reply("greet", 0.5, 0.7, 2.0, text="Hello", burst=1.0)
    rec.add(short.log).status = "ended"
    rec.add(synthetic_call(20.0).log).status = "ended"
    out = write_report(rec, tmp_path)
    assert {"call.html", "call-1.html"} <= set(out)
    last = out["call.html"].read_text(encoding="utf-8")
    first = out["call-1.html"].read_text(encoding="utf-8")
    assert f"{tmp_path.name} · call 2 · " in last and f"{tmp_path.name} · call 1 · " in first
    dur = [json.loads(re.search(r'id="vatel-view-timeline">(.+?)</script>', t).group(1))["duration_s"]
           for t in (first, last)]  # fmt: skip
    assert dur == [pytest.approx(2.8, abs=0.1), pytest.approx(20.0, abs=0.1)]
