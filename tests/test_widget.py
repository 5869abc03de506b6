"""VatelWidget with a recording comm (no kernel, no browser): the page is simulated by feeding
comm messages to the widget exactly as the kernel would deliver them (custom messages with
memoryview buffers, state updates), from other threads too."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import comm
import numpy as np
import pytest
from _fixture_server import AGENT_ID, API_KEY, TOKEN
from test_session import READY, chunk, rows, until
from test_session_simulator import FRAME, speech

from vatel_nb import ConfigurationError
from vatel_nb.protocol import SessionEnded, SessionStarted, serialize
from vatel_nb.session import VatelSession
from vatel_nb.simulator import Latency, Reply, Simulator
from vatel_nb.widget import VatelWidget
from vatel_nb.widget._bundle import widget_esm


class RecordingComm(comm.base_comm.BaseComm):
    def __init__(self, *a, **k):
        self.sent: list[tuple[str, dict, list[bytes]]] = []
        self.lock = threading.Lock()
        super().__init__(*a, **k)

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        with self.lock:
            self.sent.append((msg_type, json.loads(json.dumps(data)), [bytes(b) for b in buffers or []]))

    def custom(self) -> list[tuple[dict, list[bytes]]]:
        return [(d["content"], b) for t, d, b in self.sent if t == "comm_msg" and d.get("method") == "custom"]

    def updates(self) -> list[dict]:
        return [d["state"] for t, d, _ in self.sent if t == "comm_msg" and d.get("method") == "update"]


@pytest.fixture
def recording_comm(monkeypatch):
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: RecordingComm(*a, **k))


def page(widget: VatelWidget, content: dict, buffers=()) -> None:
    """What the kernel delivers for ``model.send(content, undefined, buffers)`` in the page."""
    widget.comm.handle_msg(
        {
            "content": {"comm_id": widget.comm.comm_id, "data": {"method": "custom", "content": content}},
            "buffers": [memoryview(b) for b in buffers],
        }
    )


def page_sets(widget: VatelWidget, **state) -> None:
    """What the kernel delivers when the page does ``model.set(...); model.save_changes()``."""
    widget.comm.handle_msg(
        {
            "content": {"comm_id": widget.comm.comm_id, "data": {"method": "update", "state": state}},
            "buffers": [],
        }
    )


def test_playout_is_adaptive_by_default_and_a_fixed_cushion_is_a_session_parameter(
    recording_comm, no_vatel_env
):
    assert VatelSession().widget().get_state()["jitter_ms"] is None
    assert VatelSession(jitter_ms=60).widget().get_state()["jitter_ms"] == 60.0
    assert VatelSession(jitter_ms=0).widget().jitter_ms == 0.0
    for bad in (-5, float("nan"), "60", True):
        with pytest.raises(ConfigurationError, match="jitter_ms must be None"):
            VatelSession(jitter_ms=bad)


def test_widget_model_traits_and_bundle(recording_comm, no_vatel_env):
    s = VatelSession()
    w = s.widget()
    assert s.widget() is w and isinstance(w, VatelWidget)
    # the ES module is the js/src bundle (compared by its entry, since js/src may change under us)
    assert "// ---- module: widget.js ----" in w._esm and "export default" in w._esm
    assert "// ---- module: widget.js ----" in widget_esm()
    state = w.get_state()
    for name, value in {
        "status": "idle",
        "error": "",
        "transcript": [],
        "last_latency_ms": None,
        "last_latency_kind": "",
        "muted": False,
        "mic_processing": True,
        "jitter_ms": None,  # adaptive playout (a number: a fixed cushion)
        "autostart": False,
        "agent_name": "",
        "backend": "simulator",
    }.items():
        assert state[name] == value, name
    assert w.comm.sent[0][0] == "comm_open"
    # displaying the widget twice: two views of the one model
    views = [w._repr_mimebundle_()[0]["application/vnd.jupyter.widget-view+json"] for _ in range(2)]
    assert views[0]["model_id"] == views[1]["model_id"] == w.model_id
    # a cell ending in `s` shows a short card, not a second live widget
    assert not hasattr(s, "_repr_mimebundle_")
    card = s._repr_html_()
    assert "VatelSession" in card and "simulator" in card and "0 call(s)" in card
    assert "widget-view" not in card and repr(s).startswith("VatelSession(agent=")


@pytest.fixture(scope="module")
def sim():
    def reply(transcript: str, history: list) -> Reply:
        return Reply(f"Heard {transcript}.")

    with Simulator(asr="scripted", voice="synthetic", latency=Latency()) as s:
        s.agent = s.add_agent(
            "Widget agent",
            first_message="Hello.",
            reply=reply,
            vad_settings={"start_secs": 0.1, "stop_secs": 0.25},
            script=["good morning"],
        )
        yield s


def test_whole_call_through_the_widget_from_a_comm_thread(recording_comm, sim, no_vatel_env):
    pcm = np.concatenate([speech("good morning"), np.zeros(int(0.4 * 24000), np.int16)]).astype("<i2")

    async def main():
        s = VatelSession(sim.agent, api_key=sim.api_key, base_url=sim.base_url)
        w = s.widget()
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def page_thread() -> None:  # a kernel subshell thread delivering the page's messages
            page(w, READY)
            page(w, {"kind": "control", "action": "start"})
            while s.status != "live":
                time.sleep(0.005)
            while not any(c["kind"] == "audio" and c["final"] for c, _ in w.comm.custom()):
                time.sleep(0.01)
            t0 = time.perf_counter()
            for i in range(len(pcm) // FRAME):
                frame = pcm[i * FRAME : (i + 1) * FRAME]
                page(w, {"kind": "mic", "seq": i, "t_browser": time.perf_counter() * 1000}, [frame.tobytes()])
                time.sleep(max(0.0, t0 + (i + 1) * 0.02 - time.perf_counter()))
            for c, _ in w.comm.custom():
                if c["kind"] == "ping":
                    page(w, {"kind": "pong", "id": c["id"], "t_browser": time.perf_counter() * 1000})
            loop.call_soon_threadsafe(done.set_result, None)

        threading.Thread(target=page_thread).start()
        await done
        await until(
            lambda: any(t["text"] == "Heard good morning." and t["final"] for t in w.transcript), "answer"
        )
        await until(lambda: sum(c["final"] for c, _ in w.comm.custom() if c["kind"] == "audio") == 2, "audio")
        page(w, {"kind": "control", "action": "end"})
        assert await s.wait_ended(5)
        return s, w

    s, w = asyncio.run(main(), debug=True)
    assert w.status == "ended" and w.agent_name == "Widget agent" and w.backend == "127.0.0.1"
    assert ("user", "good morning") in [(t["role"], t["text"]) for t in w.transcript if t["final"]]
    audio = [(c, b) for c, b in w.comm.custom() if c["kind"] == "audio"]
    truth = sim.ground_truth(s.session_id)
    assert sum(len(b[0]) // 2 for _, b in audio) == sum(t.samples_sent for t in truth.turns) > 0
    assert all(len(b) == 1 for _, b in audio)
    assert [c["seq"] for c, _ in audio] == list(range(len(audio)))
    assert w.comm.custom()[-1][0]["kind"] == "end"
    statuses = [u["status"] for u in w.comm.updates() if "status" in u]
    assert statuses == ["connecting", "live", "ended"]
    assert len(s.log.user_audio) == len(pcm) // FRAME
    assert len(rows(s, "browser", "clock-sync")) >= 1
    assert sum(c for _, _, c in truth.input_chunks) == s.log.user_audio.n_samples


def test_mute_both_ways_status_errors_and_page_state(recording_comm, fixture_server, no_vatel_env):
    async def main():
        s = VatelSession(AGENT_ID, api_key=API_KEY, base_url=fixture_server.base_url)
        w = s.widget()
        threading.Thread(target=page_sets, args=(w,), kwargs={"muted": True}).start()  # the page's toggle
        await until(lambda: s.muted, "the session to be muted")
        s.set_muted(False)  # from the notebook: the trait follows, and goes to the page
        page(w, {"kind": "status", "state": "mic-denied", "error": "Allow microphone access, then Start."})
        await until(lambda: w.error.startswith("Allow"), "the error trait")
        return s, w

    s, w = asyncio.run(main(), debug=True)
    assert w.muted is False and s.muted is False
    assert {"muted": False} in w.comm.updates()
    assert rows(s, "browser", "error")[0][3]["text"] == "Allow microphone access, then Start."


def test_secrets_are_in_no_trait_and_no_message(recording_comm, fixture_server, no_vatel_env):
    fixture_server.ws_script = [
        ("send", serialize(SessionStarted("c"))),
        ("send", chunk("a", 480, 1, final=True)),
        ("recv", 3),
        ("send", serialize(SessionEnded())),
        ("wait_close",),
    ]

    async def main():
        s = VatelSession(AGENT_ID, api_key=API_KEY, base_url=fixture_server.base_url)
        w = s.widget()
        page(w, READY)
        await s.start()
        for i in range(3):
            page(w, {"kind": "mic", "seq": i, "t_browser": 1.0 * i}, [np.zeros(480, "<i2").tobytes()])
        assert await s.wait_ended(10)
        return s, w

    s, w = asyncio.run(main(), debug=True)
    assert TOKEN in s._settings.secrets and s.status == "ended"
    assert any(c["kind"] == "audio" for c, _ in w.comm.custom())
    text = json.dumps(w.get_state()) + json.dumps([d for _, d, _ in w.comm.sent])
    raw = b"".join(b for _, _, bufs in w.comm.sent for b in bufs)
    for secret in (API_KEY, TOKEN):
        assert secret not in text and secret.encode() not in raw
