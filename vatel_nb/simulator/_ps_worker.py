"""Inside the pocketsphinx worker process: decoders, one streamed utterance per session.

Functions here run in the worker process only (submitted by :mod:`._asr`); each stream is keyed
by the session recognizer's id. Audio arrives as PCM16 24 kHz bytes, is resampled to 16 kHz
(the model's rate) and decoded as it arrives with live CMN, the decoder being kept for the next
utterance of the same stream (its normalisation has adapted to that voice).

Two facts measured on generated speech shaped this (see ``bench/bench_asr.py``):

- pocketsphinx's front end breaks down on digital silence (exact zeros: synthesized speech,
  padded buffers, a browser's noise suppression), and still hears clean speech worse than speech
  with a little noise, as its model was trained on: white noise (seeded) is added to every
  sample before decoding, 36 dB below the loudest 10 ms frame of the stream so far (at least
  ≈ −61 dBFS) — ≈ 30 dB under the voice whatever the microphone's gain. ``bench/bench_asr.py``,
  clean: 93.8 / 92.7 / 97.9 % intent accuracy with the noise 39 / 37 / 36 dB under that frame
  (offline, two seeds: ≈ 94 % with a fixed −61 dBFS, 96–97 % with −50 dBFS; 30 dB under cost
  2 points at 20 dB SNR): single clips flip with the noise, the gain over −61 dBFS holds. In 20
  and 10 dB noise, which is far louder than this, nothing else changed;
- a JSGF grammar of the expected phrases hears them far better than open-vocabulary decoding
  (spectral noise removal on). When the streamed grammar pass does not end on a complete
  phrase, the whole utterance is decoded again with the grammar and batch normalisation, and if
  that fails too, with the open-vocabulary model (≈ 0.13 × real time with the search limits of
  :data:`_OPEN_VOCAB`; only for speech outside the phrases, or phrases drowned in noise).
  Between the two, the grammar pass is tried once more with wider beams: in noise the default
  beams prune the paths that end on a phrase.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .._audio import to_16k
from .._vad import FRAME_SAMPLES, frame_levels_db
from ._repertoire import normalize

_NOISE = 30.0  # int16 units RMS (≈ −61 dBFS): the least noise added
_NOISE_BELOW_PEAK = 10 ** (-36 / 20)  # the noise added: 36 dB under the stream's loudest frame
_dict_lines: dict[str, list[str]] | None = None
_idle: dict[tuple[str, ...] | None, list] = {}
_streams: dict[int, _Stream] = {}
_open_vocab = None


@dataclass
class _Stream:
    decoder: object
    key: tuple[str, ...] | None
    rng: np.random.Generator
    peak: float = 0.0  # RMS of the loudest 10 ms frame of the stream so far (int16 units)
    rest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    audio: list[bytes] = field(default_factory=list)


def _model_dir() -> str:
    from pocketsphinx import get_model_path

    return os.path.join(get_model_path(), "en-us")


def _cmudict() -> dict[str, list[str]]:
    global _dict_lines
    if _dict_lines is None:
        lines: dict[str, list[str]] = {}
        with open(os.path.join(_model_dir(), "cmudict-en-us.dict"), encoding="utf-8") as f:
            for line in f:
                word = line.split(" ", 1)[0]
                lines.setdefault(word.split("(", 1)[0], []).append(line.rstrip("\n"))
        _dict_lines = lines
    return _dict_lines


def grammar_phrases(phrases: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
    """``(phrases the recognizer can hear, words missing from its dictionary)``: phrases are
    normalised (lowercase, punctuation dropped); a phrase with an unknown word is left out."""
    known = _cmudict()
    keep, missing = [], []
    for p in phrases:
        words = normalize(p).split()
        unknown = [w for w in words if w not in known]
        missing += unknown
        if words and not unknown and " ".join(words) not in keep:
            keep.append(" ".join(words))
    return tuple(keep), sorted(set(missing))


#: Wider search beams for the last grammar pass: they keep alive the paths that end on a
#: complete phrase, which the default beams prune in noise (the search then ends inside a
#: phrase: "tell" for "Stop!"). ≈ 2× the default's time, so only where the others failed.
_WIDE = {"beam": 1e-60, "wbeam": 1e-40, "pbeam": 1e-60}


#: Open-vocabulary search limits: at most 3000 HMMs and 5 word exits per frame, the 2 best
#: Gaussians. ≈ 0.12–0.14 × real time instead of ≈ 0.25–0.43 for the defaults, transcripts as
#: good (generated speech in and outside the repertoire, clean and at 10 dB SNR): the
#: open-vocabulary pass is the last fallback, its time is latency. The second ("fwdflat") pass
#: stays: without it one decode in 20 of "what time is it" came out empty.
_OPEN_VOCAB = {"maxhmmpf": 3000, "maxwpf": 5, "topn": 2}


def _new_decoder(key: tuple[str, ...] | None, cmn: str = "live", **beams: float):  # type: ignore[no-untyped-def]
    from pocketsphinx import Decoder

    if key is None:
        return Decoder(samprate=16000, loglevel="FATAL", **_OPEN_VOCAB)
    known = _cmudict()
    words = sorted({w for p in key for w in p.split()})
    path = os.path.join(_tmpdir(), f"g{abs(hash(key))}")
    with open(path + ".dict", "w", encoding="utf-8") as f:
        f.write("\n".join(line for w in words for line in known[w]) + "\n")
    alternatives = " | ".join(f"( {p} )" for p in key)
    with open(path + ".gram", "w", encoding="utf-8") as f:
        f.write(f"#JSGF V1.0;\ngrammar phrases;\npublic <utterance> = {alternatives} ;\n")
    return Decoder(
        samprate=16000, loglevel="FATAL", dict=path + ".dict", jsgf=path + ".gram", cmn=cmn,
        remove_noise=True, **beams,
    )  # fmt: skip


_TMP: str | None = None


def _tmpdir() -> str:
    global _TMP
    if _TMP is None:
        import atexit
        import shutil
        import tempfile

        _TMP = tempfile.mkdtemp(prefix="vatel-nb-asr-")
        atexit.register(shutil.rmtree, _TMP, True)
    return _TMP


def _key(phrases: tuple[str, ...] | None) -> tuple[tuple[str, ...] | None, list[str]]:
    if not phrases:
        return None, []
    keep, missing = grammar_phrases(tuple(phrases))
    return (keep or None), missing


_batch: dict[tuple[tuple[str, ...], bool], object] = {}


def _batch_decoder(key: tuple[str, ...], wide: bool = False):  # type: ignore[no-untyped-def]
    if (key, wide) not in _batch:
        _batch[key, wide] = _new_decoder(key, cmn="batch", **(_WIDE if wide else {}))
    return _batch[key, wide]


def _decode(decoder, audio: bytes) -> str:  # type: ignore[no-untyped-def]
    """One whole-utterance decode: its best hypothesis ("" when none)."""
    decoder.start_utt()
    decoder.process_raw(audio, False, True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr.strip() if hyp is not None else ""


def _open_vocabulary():  # type: ignore[no-untyped-def]
    global _open_vocab
    if _open_vocab is None:
        _open_vocab = _new_decoder(None)
    return _open_vocab


def start(parent_pid: int) -> None:
    """The worker's initializer: exit when the process that started it is gone (a kernel killed
    by a restart, a server stopped with SIGKILL), checked every second, then :func:`warm` up.
    (A pool worker otherwise waits on its task queue forever: it holds that pipe's write end too.)"""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="vatel-parent-watch", daemon=True).start()
    warm()


def warm(phrases: tuple[str, ...] | None = None) -> list[str]:
    """Load the open-vocabulary decoder (and a decoder for ``phrases``); returns unknown words."""
    _open_vocabulary()
    key, missing = _key(phrases)
    if key is not None and not _idle.get(key):
        _idle.setdefault(key, []).append(_new_decoder(key))
    if key is not None:  # the fallback passes' decoders too: a first fallback would wait ≈ 0.1 s each
        _batch_decoder(key)
        _batch_decoder(key, wide=True)
    return missing


def open_stream(sid: int, phrases: tuple[str, ...] | None) -> None:
    """Start an utterance for stream ``sid`` (reusing its decoder when it had one)."""
    old = _streams.pop(sid, None)
    key, _ = _key(phrases)
    if old is not None and old.key == key:
        decoder, rng, peak = old.decoder, old.rng, old.peak
    else:
        pool = _idle.setdefault(key, [])
        decoder = pool.pop() if pool else _new_decoder(key)
        rng, peak = np.random.default_rng(sid), 0.0
    decoder.start_utt()
    _streams[sid] = _Stream(decoder, key, rng, peak)


def _to_16k(stream: _Stream, pcm24: bytes) -> bytes:
    """24 → 16 kHz, streaming (2 output samples per 3 input samples), plus the added noise."""
    x = np.frombuffer(pcm24, dtype="<i2").astype(np.float32)
    x = np.concatenate([stream.rest, x]) if stream.rest.size else x
    n = x.size // 3 * 3
    stream.rest = x[n:].copy()
    y = to_16k(x[:n])
    if n >= FRAME_SAMPLES:
        loudest_db = float(frame_levels_db(x[: n // FRAME_SAMPLES * FRAME_SAMPLES]).max())
        stream.peak = max(stream.peak, 32768.0 * 10 ** (loudest_db / 20))
    y = y + stream.rng.normal(0.0, max(_NOISE, stream.peak * _NOISE_BELOW_PEAK), y.size).astype(np.float32)
    return np.clip(np.round(y), -32768, 32767).astype("<i2").tobytes()


def feed(sid: int, pcm24: bytes) -> None:
    """Decode the next PCM16 24 kHz bytes of stream ``sid``'s utterance."""
    stream = _streams[sid]
    pcm = _to_16k(stream, pcm24)
    if pcm:
        stream.audio.append(pcm)
        stream.decoder.process_raw(pcm, False, False)


def partial(sid: int) -> str:
    """The best hypothesis so far ("" when none)."""
    stream = _streams.get(sid)
    if stream is None:
        return ""
    hyp = stream.decoder.hyp()
    return hyp.hypstr.strip() if hyp is not None else ""


def final(sid: int) -> str:
    """End stream ``sid``'s utterance: its transcript (grammar phrase, else open vocabulary)."""
    stream = _streams.get(sid)
    if stream is None:
        return ""
    stream.decoder.end_utt()
    hyp = stream.decoder.hyp()
    text = hyp.hypstr.strip() if hyp is not None else ""
    if stream.key is None or text in stream.key:
        return text
    audio = b"".join(stream.audio)
    if len(audio) < 3200:  # < 0.1 s: nothing to hear
        return ""
    # the grammar again, over the whole utterance with its own normalisation (≈ 5 % of real
    # time), then the same with wider beams (≈ 9 %)
    for wide in (False, True):
        text = _decode(_batch_decoder(stream.key, wide), audio)
        if text in stream.key:
            return text
    return _decode(_open_vocabulary(), audio)


def drop(sid: int) -> None:
    """Forget stream ``sid`` (session over): its decoder goes back to the idle pool."""
    stream = _streams.pop(sid, None)
    if stream is not None:
        try:
            stream.decoder.end_utt()
        except Exception:
            pass
        if stream.key is not None:
            _idle.setdefault(stream.key, []).append(stream.decoder)
