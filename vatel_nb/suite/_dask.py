"""Past one machine: the calls of a run as Dask distributed tasks (the ``dask`` extra).

Why Dask (not Ray): ``distributed`` is pure Python, installs in seconds from PyPI with no
native runtime, and its ``LocalCluster`` starts a scheduler and worker processes on a 2-core
laptop in about a second — the same code then talks to a real cluster by its scheduler address.

Each call is one task. In a worker process every call task hands its coroutine to one event loop
shared by the process (a daemon thread), so one process drives many real-time callers, as
locally; the task thread just waits for it. At most ``concurrency`` tasks are in flight (a
sliding window over ``as_completed``), whatever the cluster's thread count. A task returns the
call's rows and its session folder as an archive (workers need not share a disk with the
client); the client writes them, so the dataset is the same as a local run's.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ._call import CallResult, CallSpec, run_call, warm_audio

__all__ = ["dask_client", "run_on_dask"]

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _process_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for calls (started once, in a daemon thread)."""
    global _loop
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="vatel-suite-calls", daemon=True).start()
            _loop = loop
        return _loop


def call_task(spec: CallSpec) -> CallResult:
    """The Dask task: run one call on this process's shared loop; returns it archived."""
    warm_audio(spec.suite)  # in this task's thread, not on the loop other calls run on
    return asyncio.run_coroutine_threadsafe(run_call(spec, None), _process_loop()).result()


def dask_client(engine: Any, workers: int, concurrency: int) -> tuple[Any, Callable[[], None]]:
    """``(client, close)`` for ``engine``: a ``distributed.Client``; ``"dask"`` (a new
    LocalCluster of ``workers`` processes with ``ceil(concurrency / workers)`` threads each);
    or a scheduler address (``"dask://HOST:PORT"`` or ``"tcp://HOST:PORT"``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("--engine dask needs Dask distributed: pip install 'vatel-nb[dask]'") from None
    if isinstance(engine, Client):
        return engine, lambda: None
    name = str(engine)
    if name == "dask":
        n = max(1, int(workers))
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=max(1, -(-int(concurrency) // n)),
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    if name.startswith("dask://"):
        name = "tcp://" + name[len("dask://") :]
    if not name.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise ValueError(
            f"--engine {engine!r}: use 'dask' (a local cluster) or a scheduler address dask://HOST:PORT"
        )
    client = Client(name)
    return client, client.close


def run_on_dask(
    specs: Sequence[CallSpec],
    concurrency: int,
    engine: Any,
    workers: int,
    tick: Callable[[str, bool], None] | None = None,
) -> list[CallResult]:
    """Run ``specs`` as Dask tasks (at most ``concurrency`` at once); results in spec order."""
    from distributed import as_completed

    client, close = dask_client(engine, workers, concurrency)
    try:
        pending = list(specs)
        results: dict[str, CallResult] = {}
        window = as_completed()
        for _ in range(min(len(pending), int(concurrency))):
            sp = pending.pop(0)
            window.add(client.submit(call_task, sp, pure=False, key=f"vatel-call-{sp.run_id}-{sp.call_id}"))
        for fut in window:
            r: CallResult = fut.result()
            results[r.call["call_id"]] = r
            if tick is not None:
                tick(r.call["call_id"], r.call["status"] != "error" and not r.call["expectations_failed"])
            if pending:
                sp = pending.pop(0)
                window.add(
                    client.submit(call_task, sp, pure=False, key=f"vatel-call-{sp.run_id}-{sp.call_id}")
                )
        return [results[s.call_id] for s in specs]
    finally:
        close()
