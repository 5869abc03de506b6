"""Benchmark: N concurrent real-time sessions on the simulator; audio pacing error and CPU.

The simulator runs in this process (its own thread and loop, as in a notebook); the callers run
in a subprocess (so they do not share the simulator's GIL). Each caller streams ``--seconds`` of
user audio in real time (20 ms base64 PCM16 chunks: silence while the greeting plays, a 0.8 s
tone, silence) and receives the agent's greeting and reply, paced in real time (no burst).
Session starts are spread evenly over 1 s.

Reported per N:
- ``sim pacing`` — for every ``response_audio`` chunk, actual send time − scheduled send time
  (ms, the simulator's ground truth, perf_counter): p50 / p99 / max.
- ``client pacing`` — at the callers: chunk k's arrival − (arrival of the turn's first chunk +
  k·20 ms) (ms): what a player would see (includes delivery through the second process).
- ``cpu`` — process CPU time / wall time of the simulator process (1.0 = one core busy) and of
  the caller process; ``ms/sess-s`` = simulator CPU ms per session-second of call.
- ``baseline`` — in the same run, just before: N bare ``asyncio.sleep``-paced loops on a fresh
  event loop in a thread, same absolute 20 ms schedule, no I/O: lateness p50 / p99 / max (ms).
- ``probe`` — during the run: one such bare loop on the simulator's own event loop. Its lateness
  is what any timer there suffers (OS scheduling on a shared machine, GIL, the loop's work);
  the simulator's pacing error above the probe's is its own backlog.
- ``gc`` — ``default``: Python's collector as is; ``frozen``: the start-up heap moved out of the
  collector's reach with ``gc.freeze()`` first, as ``vatel-nb simulator`` does. Full (gen-2)
  collections over the whole heap pause every thread for ≈ 20 ms at 50 sessions; frozen, they
  scan only what the calls allocated.

Run: ``.venv/bin/python bench/bench_simulator.py [--sessions 1 10 50] [--seconds 6]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

SR = 24_000
CHUNK = 480
GREETING = "Hello, this is the benchmark agent speaking."
STAGGER = 1.0  # s: session starts are spread evenly over this window (as calls arrive)


# --------------------------------------------------------------------------- callers (subprocess)


async def _caller(url: str, token: str, seconds: float, start_delay: float, out: list) -> None:
    import websockets

    await asyncio.sleep(start_delay)
    t = np.arange(int(0.8 * SR)) / SR
    tone = (0.3 * 32767 * np.sin(2 * np.pi * 180 * t)).astype("<i2")
    pcm = np.zeros(int(seconds * SR), dtype="<i2")
    at = int(3.0 * SR)  # after the greeting (≈ 2.7 s) has played
    pcm[at : at + tone.size] = tone[: max(0, min(tone.size, pcm.size - at))]
    # pre-encoded frames and string slicing instead of json.loads keep the callers' CPU low
    frames = [
        json.dumps(
            {
                "type": "input_audio",
                "data": {"audio": base64.b64encode(pcm[o : o + CHUNK].tobytes()).decode()},
            }
        )
        for o in range(0, pcm.size, CHUNK)
    ]
    arrivals: dict[str, list[tuple[float, int]]] = {}
    head = '{"type":"response_audio","data":{"turn_id":"'
    async with websockets.connect(
        f"{url}/v1/connection?token={token}", max_size=None, compression=None
    ) as ws:

        async def receive() -> None:
            async for raw in ws:
                tr = time.perf_counter()
                if raw.startswith(head):
                    end = raw.index('"', len(head))
                    a = raw.index('"audio":"', end) + 9
                    n = (raw.index('"', a) - a) * 3 // 8
                    arrivals.setdefault(raw[len(head) : end], []).append((tr, n))

        rx = asyncio.get_running_loop().create_task(receive())
        t0 = time.perf_counter()
        for k, frame in enumerate(frames):
            delay = t0 + (k + 1) * CHUNK / SR - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(frame)
        await asyncio.sleep(2.5)  # let the reply finish
        rx.cancel()
    for chunks in arrivals.values():
        first, offset = chunks[0][0], 0
        for tr, n in chunks:
            out.append((tr - (first + offset / SR)) * 1000)
            offset += n


async def _callers(url: str, tokens: list[str], seconds: float) -> dict:
    out: list[float] = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    stagger = [i * STAGGER / max(1, len(tokens)) for i in range(len(tokens))]
    await asyncio.gather(
        *(_caller(url, tok, seconds, d, out) for tok, d in zip(tokens, stagger, strict=True))
    )
    return {
        "client_errors_ms": out,
        "client_cpu": (time.process_time() - cpu0) / (time.perf_counter() - wall0),
    }


def client_main(url: str, seconds: float) -> None:
    tokens = json.loads(sys.stdin.readline())
    print(json.dumps(asyncio.run(_callers(url, tokens, seconds))), flush=True)


# --------------------------------------------------------------------------- baseline


async def paced_loop(offset: float, chunks: int, out: list[float]) -> None:
    """A bare asyncio.sleep loop on the absolute 20 ms schedule; appends its lateness (ms)."""
    t0 = time.perf_counter() + 0.05 + offset
    for k in range(chunks):
        target = t0 + k * CHUNK / SR
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        out.append((time.perf_counter() - target) * 1000)


def baseline(n: int, chunks: int) -> np.ndarray:
    """Lateness (ms) of n bare asyncio.sleep loops on a fresh loop in a thread, 20 ms schedule."""
    out: list[float] = []

    async def main() -> None:
        await asyncio.gather(*(paced_loop(i * STAGGER / max(1, n), chunks, out) for i in range(n)))

    th = threading.Thread(target=asyncio.run, args=(main(),))
    th.start()
    th.join()
    return np.array(out)


# --------------------------------------------------------------------------- driver


def _pct(x: np.ndarray) -> str:
    if x.size == 0:
        return "n/a"
    return f"{np.percentile(x, 50):6.2f} / {np.percentile(x, 99):6.2f} / {x.max():7.2f}"


def run(n: int, seconds: float, chunk_ms: int = 20) -> dict:
    import httpx

    from vatel_nb.simulator import Latency, Simulator

    base = baseline(n, int(seconds * SR / CHUNK))
    with Simulator(asr="placeholder", voice="synthetic", idle_timeout=60, chunk_ms=chunk_ms) as sim:
        agent = sim.add_agent(
            "Bench",
            first_message=GREETING,
            vad_settings={"start_secs": 0.2, "stop_secs": 0.4},
            latency=Latency(),
        )
        with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as http:
            tokens = [
                http.post("/v1/session-token", json={"agent_id": agent}).json()["token"] for _ in range(n)
            ]
        url = sim.base_url.replace("http://", "ws://")
        proc = subprocess.Popen(
            [sys.executable, __file__, "--client", url, "--seconds", str(seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        wall0, cpu0 = time.perf_counter(), time.process_time()
        probe: list[float] = []  # one bare paced loop on the simulator's own event loop, meanwhile
        probing = asyncio.run_coroutine_threadsafe(
            paced_loop(0.0, int(seconds * SR / CHUNK), probe), sim._loop
        )
        out, _ = proc.communicate(json.dumps(tokens) + "\n", timeout=seconds + 120)
        probing.result(seconds + 10)
        sim_cpu_s, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        client = json.loads(out)
        errors, responses, interrupted = [], 0, 0
        for sid in sim.session_ids():
            truth = sim.ground_truth(sid)
            for turn in truth.turns:
                responses += bool(turn.chunks)
                interrupted += turn.interrupted
                errors += [(c.t - c.scheduled - c.jitter) * 1000 for c in turn.chunks]
    return {
        "n": n,
        "sim": np.array(errors),
        "client": np.array(client["client_errors_ms"]),
        "base": base,
        "probe": np.array(probe),
        "sim_cpu": sim_cpu_s / wall,
        "sim_ms_per_session_s": 1000 * sim_cpu_s / (n * (seconds + 2.5)),
        "client_cpu": client["client_cpu"],
        "responses": responses,
        "interrupted": interrupted,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--seconds", type=float, default=6.0, help="user audio per session (s)")
    ap.add_argument("--chunk-ms", type=int, default=20, help="agent audio chunk duration (ms)")
    ap.add_argument("--gc", choices=("default", "frozen", "both"), default="both", help="see the doc")
    ap.add_argument("--client", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        client_main(args.client, args.seconds)
        return
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print("pacing error, ms: p50 / p99 / max        (target: p99 <= 10 ms at 50 sessions)")
    print(f"agent chunks {args.chunk_ms} ms; load average before: {load}")
    cols = ["sim pacing", "client pacing", "baseline sleep loop", "probe on sim loop"]
    head = " ".join(f"{c:>26}" for c in cols)
    tail = f"{'sim cpu':>8} {'ms/sess-s':>9} {'client cpu':>10} {'turns':>6}"
    print(f"{'gc':>7} {'N':>3} {'chunks':>7} {head} {tail}")
    modes = ("default", "frozen") if args.gc == "both" else (args.gc,)
    for n in args.sessions:
        for mode in modes:
            if mode == "frozen":
                gc.collect()
                gc.freeze()
            try:
                r = run(n, args.seconds, args.chunk_ms)
            finally:
                gc.unfreeze()
            pacing = " ".join(f"{_pct(r[k]):>26}" for k in ("sim", "client", "base", "probe"))
            cpu = f"{r['sim_cpu']:8.2f} {r['sim_ms_per_session_s']:9.2f} {r['client_cpu']:10.2f}"
            print(f"{mode:>7} {n:3d} {r['sim'].size:7d} {pacing} {cpu} {r['responses']:6d}", flush=True)
            if r["interrupted"]:
                note = f"{r['interrupted']} greetings were late enough to be interrupted"
                print(f"    note: {note}", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
