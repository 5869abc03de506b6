"""Kernel-side cost of the session bridge per 20 ms mic chunk, against a bare websockets relay.

Both sides get the same input: ``--chunks`` frames of 480 PCM16 samples (quiet noise, below the
VAD threshold so the agent stays silent), handed over from a separate "comm" thread (as a widget's
comm handler does) to an asyncio loop thread (the kernel's loop), which sends each chunk to the
embedded simulator's voice socket as ``input_audio`` (base64 + JSON).

- ``session``: ``VatelSession.handle_frontend({"kind": "mic", …}, [pcm])`` → the session's inbox,
  event log, user-audio track, send queue and client socket (the whole kernel-side bridge).
- ``bare``: ``loop.call_soon_threadsafe`` → ``base64`` + ``json.dumps`` + ``websocket.send`` with
  ``websockets`` directly (the least any relay must do).

Cost = CPU time (``time.thread_time``) of the comm thread's hand-offs plus the loop thread while the
chunks flow, divided by the number of chunks sent (µs per chunk; chunks the session's bounded
queues dropped because its loop fell behind are counted and printed, not waited for); both runs
alternate ``--rounds`` times and the median is reported. Target: session/bare ≤ 1.2×.

    .venv/bin/python bench/bench_bridge.py [--chunks 1500] [--interval-ms 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import websockets  # noqa: E402

from vatel_nb.client._async_rest import AsyncVatel  # noqa: E402
from vatel_nb.client._config import ws_url  # noqa: E402
from vatel_nb.session import VatelSession  # noqa: E402
from vatel_nb.simulator import Simulator  # noqa: E402

FRAME = 480


def _chunks(n: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    quiet = (rng.standard_normal(FRAME * n) * 30).astype("<i2")  # ≈ −60 dBFS: no speech for the VAD
    return [quiet[i * FRAME : (i + 1) * FRAME].tobytes() for i in range(n)]


class _LoopThread:
    """An asyncio loop in its own thread; ``cpu()`` = that thread's CPU seconds so far."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._cpu = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def cpu(self) -> float:
        async def read() -> float:
            return time.thread_time()

        return self.call(read())

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _feed(put: Callable[[int, bytes], None], chunks: list[bytes], interval_s: float) -> float:
    """Hand the chunks over from this (comm) thread on an absolute schedule; returns its CPU seconds."""
    cpu = 0.0
    start = time.perf_counter()
    for i, pcm in enumerate(chunks):
        delay = start + i * interval_s - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        c0 = time.thread_time()
        put(i, pcm)
        cpu += time.thread_time() - c0
    return cpu


class _NullFrontend:
    """Front-end that accepts and counts kernel → page envelopes (what the widget would send)."""

    def __init__(self) -> None:
        self.sent = 0

    def send(self, envelope: dict[str, Any], buffers: list[bytes]) -> None:
        self.sent += 1

    def update_state(self, changes: dict[str, Any]) -> None:
        pass


def run_session(sim: Simulator, agent: str, chunks: list[bytes], interval_s: float) -> dict[str, float]:
    lt = _LoopThread()
    try:

        async def make() -> VatelSession:
            s = VatelSession(agent, api_key=sim.api_key, base_url=sim.base_url, verbose=False)
            s.attach(_NullFrontend())
            await s.start()
            return s

        session = lt.call(make())
        session.handle_frontend({"kind": "ready", "sample_rate": 24000, "processing": False})
        time.sleep(0.3)
        t_browser0 = 0.0
        cpu0, w0 = lt.cpu(), time.perf_counter()
        feed_cpu = _feed(
            lambda i, pcm: session.handle_frontend(
                {"kind": "mic", "seq": i, "t_browser": t_browser0 + i * 20.0, "samples": FRAME}, [pcm]
            ),
            chunks,
            interval_s,
        )

        def handled() -> tuple[int, int]:
            st = session.stats()
            return st["mic_sent"], st["dropped"]["inbox"] + st["dropped"]["mic_queue"]

        deadline = time.monotonic() + 30
        while sum(handled()) < len(chunks) and time.monotonic() < deadline:
            time.sleep(0.005)
        cpu1, w1 = lt.cpu(), time.perf_counter()
        sent, dropped = handled()
        lt.call(session.end("bench done"))
    finally:
        lt.stop()
    return {
        "chunks": sent,
        "dropped": dropped,
        "loop_cpu_s": cpu1 - cpu0,
        "comm_cpu_s": feed_cpu,
        "wall_s": w1 - w0,
    }


def run_bare(sim: Simulator, agent: str, chunks: list[bytes], interval_s: float) -> dict[str, float]:
    lt = _LoopThread()
    try:

        async def make() -> tuple[Any, asyncio.Queue, list[int], asyncio.Task]:
            async with AsyncVatel(api_key=sim.api_key, base_url=sim.base_url) as client:
                token = (await client.session_token(agent)).token
            ws = await websockets.connect(ws_url(sim.base_url, token), compression=None, max_size=None)
            queue: asyncio.Queue = asyncio.Queue()
            sent = [0]

            async def sender() -> None:
                while True:
                    pcm = await queue.get()
                    msg = {"type": "input_audio", "data": {"audio": base64.b64encode(pcm).decode("ascii")}}
                    await ws.send(json.dumps(msg, separators=(",", ":")))
                    sent[0] += 1

            async def drain() -> None:  # read (and parse) whatever the server says, as a client must
                async for raw in ws:
                    json.loads(raw)

            task = asyncio.ensure_future(asyncio.gather(sender(), drain()))
            return ws, queue, sent, task

        ws, queue, sent, task = lt.call(make())
        time.sleep(0.3)
        cpu0, w0 = lt.cpu(), time.perf_counter()
        feed_cpu = _feed(
            lambda i, pcm: lt.loop.call_soon_threadsafe(queue.put_nowait, pcm), chunks, interval_s
        )
        deadline = time.monotonic() + 30
        while sent[0] < len(chunks) and time.monotonic() < deadline:
            time.sleep(0.005)
        cpu1, w1 = lt.cpu(), time.perf_counter()

        async def close() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await ws.close()

        lt.call(close())
    finally:
        lt.stop()
    return {"chunks": sent[0], "loop_cpu_s": cpu1 - cpu0, "comm_cpu_s": feed_cpu, "wall_s": w1 - w0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=1500)
    ap.add_argument("--interval-ms", type=float, default=2.0, help="hand-off interval (20 = real time)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "artifacts" / "bench" / "bench_bridge.json")
    args = ap.parse_args()
    chunks = _chunks(args.chunks)
    per: dict[str, list[float]] = {"session": [], "bare": []}
    runs = []
    with Simulator(asr="placeholder", voice="synthetic") as sim:
        agent = sim.add_agent("Silent bench agent", idle_timeout=600)
        for r in range(args.rounds):
            for name, fn in (("bare", run_bare), ("session", run_session)):
                res = fn(sim, agent, chunks, args.interval_ms / 1000)
                if res["chunks"] + res.get("dropped", 0) < len(chunks):
                    print(f"{name}: only {res['chunks']} of {len(chunks)} chunks went out", file=sys.stderr)
                    return 1
                if res.get("dropped"):  # the loop fell behind (a loaded machine): said, not hidden
                    print(f"round {r} {name}: {res['dropped']} chunks dropped by the session's queues")
                us = (res["loop_cpu_s"] + res["comm_cpu_s"]) / res["chunks"] * 1e6
                per[name].append(us)
                runs.append(dict(res, name=name, round=r, us_per_chunk=us))
                loop_us = res["loop_cpu_s"] * 1e6 / res["chunks"]
                comm_us = res["comm_cpu_s"] * 1e6 / res["chunks"]
                print(
                    f"round {r} {name:8s} {us:7.1f} µs/chunk (loop {loop_us:.1f} + comm thread {comm_us:.1f};"
                    f" wall {res['wall_s']:.2f} s)"
                )
    s, b = statistics.median(per["session"]), statistics.median(per["bare"])
    print(
        f"\nkernel-side CPU per 20 ms chunk (median of {args.rounds}): session bridge {s:.1f} µs, "
        f"bare websockets relay {b:.1f} µs → ratio {s / b:.2f}× (target ≤ 1.2×); "
        f"at 50 chunks/s the bridge uses {s * 50 / 1e4:.2f} % of one core"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"runs": runs, "session_us": s, "bare_us": b, "ratio": s / b}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
