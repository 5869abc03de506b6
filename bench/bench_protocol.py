"""Cost of the protocol layer per 20 ms audio message, against plain json + base64 in the same run.

A 20 ms chunk at 24 kHz is 480 samples = 960 bytes of PCM16. Measures, in µs per message:

- receive: ``parse_server_message(response_audio JSON).pcm()`` vs ``b64decode(json.loads(...)[...])``
- send:    ``serialize(InputAudio.from_pcm(pcm))`` vs ``json.dumps({... b64encode(pcm) ...})``

and prints the ratio (protocol / baseline). Run: ``.venv/bin/python bench/bench_protocol.py``.
"""

from __future__ import annotations

import base64
import json
import os
import timeit
from collections.abc import Callable

from vatel_nb.protocol import InputAudio, ResponseAudio, parse_server_message, serialize

CHUNK_BYTES = 960  # 20 ms of PCM16 mono at 24 kHz


def per_call_us(
    a: Callable[[], object], b: Callable[[], object], number: int = 5_000, rounds: int = 30
) -> tuple[float, float]:
    """Best-of-``rounds`` mean time of one call of ``a`` and of ``b``, in µs.

    The two are timed in alternating rounds so that load from other processes hits both alike.
    """
    best_a = best_b = float("inf")
    for _ in range(rounds):
        best_a = min(best_a, timeit.timeit(a, number=number))
        best_b = min(best_b, timeit.timeit(b, number=number))
    return best_a / number * 1e6, best_b / number * 1e6


def main() -> None:
    pcm = os.urandom(CHUNK_BYTES)
    text = serialize(ResponseAudio.from_pcm("turn-0001", pcm, is_final=False))

    def recv_protocol() -> bytes:
        return parse_server_message(text).pcm()  # type: ignore[union-attr]

    def recv_baseline() -> bytes:
        return base64.b64decode(json.loads(text)["data"]["audio"])

    def send_protocol() -> str:
        return serialize(InputAudio.from_pcm(pcm))

    def send_baseline() -> str:
        return json.dumps(
            {"type": "input_audio", "data": {"audio": base64.b64encode(pcm).decode("ascii")}},
            separators=(",", ":"),
        )

    assert recv_protocol() == recv_baseline() == pcm
    assert send_protocol() == send_baseline()

    print(f"per 20 ms audio message ({CHUNK_BYTES} bytes PCM16, {len(text)} bytes JSON)")
    print(f"{'':10s}{'protocol µs':>14s}{'baseline µs':>14s}{'ratio':>8s}")
    for name, proto, base in (
        ("receive", recv_protocol, recv_baseline),
        ("send", send_protocol, send_baseline),
    ):
        p, b = per_call_us(proto, base)
        print(f"{name:10s}{p:14.2f}{b:14.2f}{p / b:8.2f}")


if __name__ == "__main__":
    main()
