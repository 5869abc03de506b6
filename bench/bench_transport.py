"""Kernel-side cost of the base64 transport (Colab's fallback) per 20 ms audio message, against the
binary transport in the same run.

A 20 ms frame at 24 kHz is 480 samples = 960 bytes of PCM16. Jupyter carries an envelope as JSON
text plus raw buffers; on the base64 transport the buffer is text inside the JSON. Measures, in µs
per message, what the kernel does for each:

- receive a ``mic`` frame: ``json.loads`` + ``envelope.unpack`` + ``as_bytes`` (base64) vs
  ``json.loads`` + ``as_bytes(memoryview)`` (binary);
- send an ``audio`` chunk: ``envelope.pack`` + ``json.dumps`` (base64) vs the same with
  ``transport="binary"``;

and prints the ratios (base64 / binary) and the bytes on the wire per message.
Run: ``.venv/bin/python bench/bench_transport.py``.
"""

from __future__ import annotations

import json
import os

from bench_protocol import per_call_us

from vatel_nb import envelope as env

CHUNK_BYTES = 960  # 20 ms of PCM16 mono at 24 kHz


def main() -> None:
    pcm = os.urandom(CHUNK_BYTES)
    mic_b64, _ = env.pack(env.mic(7, 12345.678), [pcm], "base64")
    mic_text_b64 = json.dumps(mic_b64)
    mic_text_bin = json.dumps(env.mic(7, 12345.678))
    view = memoryview(pcm)

    def recv_base64() -> bytes:
        _, b = env.unpack(json.loads(mic_text_b64), [])
        return env.as_bytes(b[0])

    def recv_binary() -> bytes:
        _, b = env.unpack(json.loads(mic_text_bin), [view])
        return env.as_bytes(b[0])

    audio = env.audio("turn-0001", 12, False)

    def send_base64() -> str:
        e, _ = env.pack(audio, [pcm], "base64")
        return json.dumps(e)

    def send_binary() -> str:
        e, _ = env.pack(audio, [pcm], "binary")
        return json.dumps(e)

    assert recv_base64() == recv_binary() == pcm
    sent = json.loads(send_base64())
    assert env.unpack(sent, [])[1] == [pcm]

    r64, rbin = per_call_us(recv_base64, recv_binary)
    s64, sbin = per_call_us(send_base64, send_binary)
    print(f"per 20 ms audio message ({CHUNK_BYTES} bytes PCM16)")
    print(f"  receive mic:  base64 {r64:6.2f} µs  binary {rbin:6.2f} µs  ratio {r64 / rbin:5.2f}")
    print(f"  send audio:   base64 {s64:6.2f} µs  binary {sbin:6.2f} µs  ratio {s64 / sbin:5.2f}")
    wire64, wirebin = len(mic_text_b64), len(mic_text_bin) + CHUNK_BYTES
    print(f"  bytes on the wire (mic): base64 {wire64}  binary {wirebin}  ratio {wire64 / wirebin:.2f}")
    cpu_ms = (r64 + s64) * 50 / 1000
    print(f"  at 50 messages/s each way: base64 costs {cpu_ms:.2f} ms of kernel CPU per second")


if __name__ == "__main__":
    main()
