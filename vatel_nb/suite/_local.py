"""Running many calls at once on one machine: one asyncio loop per process, ``--workers`` processes.

One process drives many real-time callers on one loop (each call is a coroutine; mic frames are
paced on absolute schedules, see :mod:`vatel_nb.caller`). ``--workers N`` splits the calls
round-robin over N processes (``concurrent.futures.ProcessPoolExecutor``, spawned), each running
its share with ``concurrency / N`` calls at once; each call reports back through a queue for the
progress bar, and writes its session folder itself (same machine, same disk).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._call import CallResult, CallSpec, run_call, warm_audio

__all__ = ["run_in_processes", "run_on_loop", "session_folder"]


def session_folder(root: Path | None, spec: CallSpec) -> Path | None:
    """``root/sessions/<scenario>/<call_id>`` (None when ``root`` is None)."""
    return None if root is None else Path(root) / "sessions" / spec.scenario / spec.call_id


async def run_on_loop(
    specs: Sequence[CallSpec],
    concurrency: int,
    root: Path | None,
    on_done: Callable[[CallResult], None] | None = None,
) -> list[CallResult]:
    """Run ``specs`` on the running loop, at most ``concurrency`` at once; results in spec order.
    ``on_done`` is called (on the loop) as each call finishes."""
    sem = asyncio.Semaphore(max(1, int(concurrency)))
    for suite in {id(s.suite): s.suite for s in specs}.values():
        warm_audio(suite)

    async def one(spec: CallSpec) -> CallResult:
        async with sem:
            result = await run_call(spec, session_folder(root, spec))
        if on_done is not None:
            on_done(result)
        return result

    return list(await asyncio.gather(*(one(s) for s in specs)))


def _shard(specs: list[CallSpec], concurrency: int, root: str | None, done: Any) -> list[CallResult]:
    """A worker process's share (top level, so it pickles)."""

    def report(r: CallResult) -> None:
        done.put(r.call["call_id"])

    return asyncio.run(run_on_loop(specs, concurrency, Path(root) if root else None, report))


def run_in_processes(
    specs: Sequence[CallSpec],
    concurrency: int,
    workers: int,
    root: Path | None,
    on_done: Callable[[str], None] | None = None,
) -> list[CallResult]:
    """Run ``specs`` in ``workers`` spawned processes (round-robin shares, ``ceil(concurrency /
    workers)`` calls at once in each). ``on_done(call_id)`` runs in this process as calls finish."""
    workers = max(1, min(int(workers), len(specs)))
    per = -(-int(concurrency) // workers)
    shares = [list(specs[i::workers]) for i in range(workers)]
    ctx = multiprocessing.get_context("spawn")  # never fork a process that runs threads (the simulator)
    with ctx.Manager() as manager:
        done = manager.Queue()
        stop = threading.Event()

        def pump() -> None:
            while not stop.is_set():
                try:
                    call_id = done.get(timeout=0.2)
                except queue.Empty:
                    continue
                except (EOFError, OSError):
                    return
                if on_done is not None:
                    on_done(call_id)

        t = threading.Thread(target=pump, name="vatel-suite-progress", daemon=True)
        t.start()
        try:
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                futures = [pool.submit(_shard, s, per, str(root) if root else None, done) for s in shares]
                results = [f.result() for f in futures]
        finally:
            stop.set()
            t.join(timeout=2)
    order = {s.call_id: i for i, s in enumerate(specs)}
    return sorted((r for part in results for r in part), key=lambda r: order[r.call["call_id"]])
