"""Receive-path cost against the number of distinct turn ids: must grow linearly.

A real ``websockets`` server on 127.0.0.1 sends ``n`` turns, each a final ``response_text`` and
one 20 ms ``response_audio`` chunk (960 bytes PCM16), then ``session_ended``. A
:class:`~vatel_nb.VatelSession` receives them through its real receive path (client socket
reader → protocol parser → event log → per-message session handling: transcript, playback
envelope, live latency display). The baseline, in the same run, sends the same number of
messages on ONE turn id.

Printed per ``n`` (seconds of the kernel thread's CPU time, best of ``--rounds``):

- ``distinct`` / ``one turn`` and their ratio (≈ 1 when the cost does not depend on turn ids);
- scaling: ``t(n) / t(n_min)`` against ``n / n_min`` (linear ⇒ equal).

``--no-gc`` runs with CPython's cyclic garbage collector off: what is left above linear with it on
is the collector walking the growing event log (every row is a dict), the same for one turn id
or many.

    .venv/bin/python bench/bench_turns.py [--sizes 5000 10000 20000] [--rounds 3] [--no-gc]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

from websockets.asyncio.server import serve

from vatel_nb.client import connect
from vatel_nb.log import EventLog
from vatel_nb.protocol import ResponseAudio, ResponseText, SessionEnded, SessionStarted, serialize
from vatel_nb.session import VatelSession
from vatel_nb.session._runner import CallRunner

PCM = bytes(960)


def frames(n: int, distinct: bool) -> list[str]:
    out = [serialize(SessionStarted("bench-session"))]
    for i in range(n):
        turn = f"turn-{i:06d}" if distinct else "turn-000000"
        out.append(serialize(ResponseText(turn, f"reply {i}", True)))
        out.append(serialize(ResponseAudio.from_pcm(turn, PCM, is_final=True)))
    out.append(serialize(SessionEnded()))
    return out


async def receive_all(n: int, distinct: bool) -> float:
    wire = frames(n, distinct)

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        for text in wire:
            await ws.send(text)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        session = VatelSession(base_url=f"http://127.0.0.1:{port}", api_key="bench-key", agent_id="a")
        # one call's runner (the asyncio shell around the call core), wired to the session's
        # front-end link and UI state as a real call is; the socket is opened here (no REST)
        log = EventLog()
        runner = CallRunner(
            log, session._settings, session.tools, to_page=session._to_frontend, on_state=session._set_state
        )
        conn = await connect("bench-token", base_url=f"http://127.0.0.1:{port}")
        runner._conn = conn
        t0 = time.thread_time()
        await runner._receive(conn)
        spent = time.thread_time() - t0
    rows = len(log)
    assert rows >= 2 * n, f"only {rows} rows for {n} turns"
    return spent


def best(n: int, distinct: bool, rounds: int) -> float:
    return min(asyncio.run(receive_all(n, distinct)) for _ in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-gc", action="store_true", help="disable the cyclic garbage collector")
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    print(f"{'turns':>7s}{'distinct s':>12s}{'one turn s':>12s}{'ratio':>8s}{'scaling':>10s}{'linear':>8s}")
    first = None
    for n in args.sizes:
        d = best(n, True, args.rounds)
        o = best(n, False, args.rounds)
        first = first or (n, d)
        print(f"{n:7d}{d:12.3f}{o:12.3f}{d / o:8.2f}{d / first[1]:10.2f}{n / first[0]:8.2f}")


if __name__ == "__main__":
    main()
