"""The widget over a real kernel: ipykernel over ZMQ, with jupyter_client as the page.

The test plays the browser: it opens nothing itself — the kernel opens the widget's comm when the
cell displays it — then sends ``comm_msg`` custom messages with binary buffers to the model id
(``ready``, ``control``, ``mic``, ``pong``) and reads the kernel's ``comm_msg`` replies on iopub
(state updates, ``audio`` with binary buffers, ``ping``). The session runs against the embedded
simulator inside the kernel (no key, no base URL). The second test sends the page's messages on a
kernel *subshell*, as JupyterLab 4.6 does by default, so the widget's handlers run on another thread.
"""

from __future__ import annotations

import ast
import json
import os
import queue
import time

import numpy as np
import pytest
from jupyter_client.manager import start_new_kernel

VIEW = "application/vnd.jupyter.widget-view+json"


class Page:
    """jupyter_client standing in for the browser: sends comm messages, collects iopub."""

    def __init__(self, kc) -> None:
        self.kc = kc
        self.iopub: list[dict] = []
        self.subshell_id: str | None = None

    def execute(self, code: str, timeout: float = 30.0) -> tuple[str, list[dict]]:
        """Run a cell; return its stdout and its execute_result/display messages (raises on error)."""
        mid = self.kc.execute(code)
        out, results = [], []
        deadline = time.monotonic() + timeout
        while True:
            m = self._next(deadline)
            parent = m["parent_header"].get("msg_id")
            if parent == mid:
                if m["msg_type"] == "stream":
                    out.append(m["content"]["text"])
                elif m["msg_type"] in ("execute_result", "display_data"):
                    results.append(m)
                elif m["msg_type"] == "error":
                    raise AssertionError("cell failed:\n" + "\n".join(m["content"]["traceback"]))
                elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    return "".join(out), results

    def _next(self, deadline: float) -> dict:
        try:
            m = self.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError("timed out waiting for the kernel") from None
        self.iopub.append(m)
        self._answer_pings(m)
        return m

    def _answer_pings(self, m: dict) -> None:
        if m["msg_type"] == "comm_msg":
            data = m["content"]["data"]
            if data.get("method") == "custom" and data["content"].get("kind") == "ping":
                pong = {"kind": "pong", "id": data["content"]["id"], "t_browser": time.perf_counter() * 1000}
                self.send(m["content"]["comm_id"], pong)

    def pump(self, pred, what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred():
            try:
                self._next(deadline)
            except AssertionError:
                raise AssertionError(f"timed out waiting for {what}") from None

    def send(self, model_id: str, content: dict, buffers: list[bytes] = ()) -> None:
        msg = self.kc.session.msg(
            "comm_msg", {"comm_id": model_id, "data": {"method": "custom", "content": content}}
        )
        if self.subshell_id is not None:
            msg["header"]["subshell_id"] = self.subshell_id
        self.kc.session.send(self.kc.shell_channel.socket, msg, buffers=list(buffers))

    def open_subshell(self) -> None:
        self.kc.control_channel.send(self.kc.session.msg("create_subshell_request", {}))
        reply = self.kc.control_channel.get_msg(timeout=10)
        assert reply["content"]["status"] == "ok", reply["content"]
        self.subshell_id = reply["content"]["subshell_id"]

    def from_kernel(self, model_id: str, method: str) -> list[tuple[dict, list[bytes]]]:
        out = []
        for m in self.iopub:
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == model_id:
                data = m["content"]["data"]
                if data.get("method") == method:
                    out.append(
                        (data.get("content", data.get("state")), [bytes(b) for b in m.get("buffers", [])])
                    )
        return out

    def audio(self, model_id: str) -> list[tuple[dict, list[bytes]]]:
        return [(c, b) for c, b in self.from_kernel(model_id, "custom") if c["kind"] == "audio"]

    def statuses(self, model_id: str) -> list[str]:
        return [s["status"] for s, _ in self.from_kernel(model_id, "update") if "status" in s]


@pytest.fixture(scope="module")
def page():
    env = {k: v for k, v in os.environ.items() if not k.startswith("VATEL_")}
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        yield Page(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def open_widget(page: Page, name: str) -> str:
    code = f"from vatel_nb.session import VatelSession\n{name} = VatelSession()\nw_{name} = {name}.widget()"
    _, results = page.execute(code + f"\nw_{name}")
    model_id = results[0]["content"]["data"][VIEW]["model_id"]
    opened = [m for m in page.iopub if m["msg_type"] == "comm_open" and m["content"]["comm_id"] == model_id]
    assert len(opened) == 1 and opened[0]["content"]["data"]["state"]["backend"] == "simulator"
    return model_id


def mic_frames(page: Page, model_id: str, n: int, base: int) -> None:
    for i in range(n):
        pcm = np.full(480, base + i, dtype="<i2").tobytes()  # quiet: under the simulator's VAD threshold
        page.send(model_id, {"kind": "mic", "seq": i, "t_browser": time.perf_counter() * 1000}, [pcm])


CHECK = """
import json
for _ in range(300):
    if {s}.stats()["mic_sent"] >= {n} and len({s}.log.clock) >= 3:
        break
    await asyncio.sleep(0.02)
print(json.dumps({{
    "status": {s}.status,
    "mic_sent": {s}.stats()["mic_sent"],
    "first_values": [int({s}.log.user_audio.chunk(i)[0]) for i in range(len({s}.log.user_audio))],
    "clock_samples": len({s}.log.clock),
    "clock_rows": int((({s}.events.source == "browser") & ({s}.events.type == "clock-sync")).sum()),
    "secrets": [{s}._backend.api_key, *sorted(x for x in {s}._settings.secrets if x != {s}._backend.api_key)],
}}))
"""


def test_ready_start_mic_audio_pong_over_a_real_kernel(page):
    model_id = open_widget(page, "s1")
    page.send(model_id, {"kind": "ready", "sample_rate": 24000, "output_latency_ms": 0.0, "processing": True})
    page.send(model_id, {"kind": "control", "action": "start"})
    page.pump(lambda: "live" in page.statuses(model_id), "status live", timeout=30)
    page.pump(lambda: len(page.audio(model_id)) >= 5, "agent audio with binary buffers")
    mic_frames(page, model_id, 25, base=1)
    out, _ = page.execute("import asyncio\n" + CHECK.format(s="s1", n=25))
    got = json.loads(out)
    assert got["status"] == "live" and got["mic_sent"] == 25
    assert got["first_values"] == list(range(1, 26))  # every frame, in order, with its samples
    assert got["clock_samples"] == got["clock_rows"] >= 3  # our pongs became clock samples
    audio = page.audio(model_id)
    assert all(len(b) == 1 and len(b[0]) > 0 and len(b[0]) % 2 == 0 for _, b in audio)
    assert [c["seq"] for c, _ in audio] == list(range(len(audio)))
    out, _ = page.execute("await s1.end()\nprint(s1.status)")
    assert out.strip() == "ended"
    page.pump(lambda: page.statuses(model_id)[-1:] == ["ended"], "status ended")
    assert [c for c, _ in page.from_kernel(model_id, "custom")][-1]["kind"] == "end"
    # nothing the kernel sent to the page carries the API key or the session token
    sent = [m for m in page.iopub if m["msg_type"] in ("comm_open", "comm_msg")]
    text = json.dumps([m["content"] for m in sent])
    raw = b"".join(bytes(b) for m in sent for b in m.get("buffers", []))
    for secret in got["secrets"]:
        assert secret and secret not in text and secret.encode() not in raw


def test_comm_messages_on_a_kernel_subshell_thread(page):
    model_id = open_widget(page, "s2")
    page.execute(
        "import threading\nthreads = set()\n_orig = s2.handle_frontend\n"
        "def _spy(envelope, buffers=()):\n"
        '    threads.add((threading.current_thread().name[:12], envelope.get("kind")))\n'
        "    return _orig(envelope, buffers)\n"
        "s2.handle_frontend = _spy"
    )
    page.open_subshell()
    try:
        page.send(
            model_id, {"kind": "ready", "sample_rate": 24000, "output_latency_ms": 0.0, "processing": True}
        )
        page.send(model_id, {"kind": "control", "action": "start"})
        page.pump(lambda: "live" in page.statuses(model_id), "status live", timeout=30)
        page.pump(lambda: len(page.audio(model_id)) >= 3, "agent audio")
        mic_frames(page, model_id, 10, base=100)
        out, _ = page.execute("import asyncio\n" + CHECK.format(s="s2", n=10) + "print(sorted(threads))")
    finally:
        page.subshell_id = None
    got, threads = out.strip().split("\n")
    got = json.loads(got)
    assert got["mic_sent"] == 10 and got["first_values"] == list(range(100, 110))
    # (thread name, envelope kind) pairs seen by the session's handle_frontend
    seen = ast.literal_eval(threads)
    assert {kind for thread, kind in seen if thread.startswith("subshell")} >= {"mic", "pong"}
    assert not [
        kind for thread, kind in seen if kind in ("mic", "pong") and not thread.startswith("subshell")
    ]
    page.execute("await s2.end()")


def test_sync_conveniences_in_a_plain_cell_while_the_kernel_loop_runs(page):
    out, _ = page.execute(
        "import asyncio\n"
        "from vatel_nb.session import VatelSession\n"
        "s3 = VatelSession(verbose=False)\n"
        "s3.start_sync()  # no await: nest-asyncio on the kernel's running loop\n"
        "print(s3.status)\n"
        "s3.run_sync(asyncio.sleep(0.2))  # the receive task keeps running meanwhile\n"
        "print(len(s3.log.agent_audio) > 0)\n"
        "s3.run_sync(s3.end())\n"
        "print(s3.status)"
    )
    assert out.split() == ["live", "True", "ended"]
