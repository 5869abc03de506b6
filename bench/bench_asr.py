"""Benchmark: the simulator's recognizer on generated speech, clean and in noise.

Utterances of the demo agent's repertoire are synthesized with espeak-ng (``vatel-nb[voice]``)
in several voices and speaking rates, padded with 0.6 s before and 1 s after, and — for the
noisy conditions — mixed with noise (hiss plus 50 Hz hum harmonics) that runs through the whole
clip, at 20 dB and 10 dB SNR (speech power over its voiced frames vs noise power). Each voice
and condition is one session, as a caller's call is: one stream of 20 ms chunks (2 s of the
noise first — the greeting plays before anyone speaks — then every clip in turn) through the
same parts a simulator session of the demo agent uses: the kit's VAD (:class:`vatel_nb._vad.Vad`,
start 0.2 s / stop 0.5 s, with the demo agent's speech model: Silero when installed), the
:class:`~vatel_nb.simulator._listen.Listener` (its holdback and post-roll) and the pocketsphinx
recognizer constrained to the demo phrases. A clip is judged on the segments that end inside it.
Chunks are paced at ``--speed`` × real time (default 1.0).

Reported per condition:
- ``intent`` — share of utterances whose final transcript the demo agent reads as the intended
  request (:func:`vatel_nb.simulator.intent`: same intent, city and long/short story);
- ``WER`` — word error rate of the final transcripts against the text spoken;
- ``segs≠1`` — clips where the VAD did not find exactly one segment (noise it took for speech,
  or speech split in two);
- ``end→text p50/p95`` — from the arrival of the audio where the speech ended (the VAD's end,
  known only later) to the recognizer's return of the final transcript, ms: what recognition
  costs, including the post-roll it waits for; with early finals it mostly runs inside the
  VAD's hangover (``stop_secs`` 0.5 s), which hides it from the next figure;
- ``eos→final p50/p95`` — from the VAD's end-of-speech decision (when ``speech_stopped`` would
  be due) to the final transcript, ms, perf_counter;
- ``cpu/s`` — CPU seconds (this process + the recognizer's worker process) per second of audio;
- ``early`` — recognizer finals taken early, at a pause (see :mod:`vatel_nb.simulator._listen`):
  used at the stop / taken (the rest were dropped: the speech went on).

Baseline, in the same run: the kit's previous recognition (open-vocabulary pocketsphinx over
the whole segment, decoded once the segment has ended) on the clean clips of the first voice.

Run: ``.venv/bin/python bench/bench_asr.py [--voices en-us en-us+f3 …] [--rates 150 195] [--quick]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import numpy as np

from vatel_nb._speech_model import speech_model
from vatel_nb._vad import Vad
from vatel_nb.protocol import SAMPLE_RATE
from vatel_nb.simulator import DEMO_PHRASES, PocketsphinxRecognizer, intent, speak
from vatel_nb.simulator._agents import demo_agent
from vatel_nb.simulator._asr import _worker, warm_pocketsphinx
from vatel_nb.simulator._listen import PREROLL_SAMPLES, Listener
from vatel_nb.simulator._repertoire import normalize

UTTERANCES = [
    "What time is it?",
    "What time is it in Tokyo?",
    "What's the time in London?",
    "What is the time in New York?",
    "What time is it in Sydney?",
    "Tell me a story.",
    "Tell me a long story.",
    "Stop!",
    "Wait.",
    "Thank you.",
    "Goodbye.",
    "Hello there.",
]
VOICES = ["en-us", "en-us+f3", "en-gb-x-rp+m2", "en+m3"]
RATES = [150, 195]
CHUNK = 480  # 20 ms


def noise(n: int, seed: int) -> np.ndarray:
    """Hiss (white, first-order low-passed) plus mains hum (50 Hz and harmonics), unit RMS."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 1, n)
    hiss = np.convolve(w, [0.6, 0.4], mode="same")
    t = np.arange(n) / SAMPLE_RATE
    hum = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in (1, 2, 3))
    x = hiss / hiss.std() + 0.5 * hum / hum.std()
    return x / x.std()


def clip(
    text: str, voice: str, rate: int, snr_db: float | None, seed: int, lead_s: float | None = None
) -> tuple[np.ndarray, float]:
    """(int16 clip, seconds of speech) for one utterance and condition. ``lead_s``: instead, that
    many seconds of the noise alone, at the level it has with ``text``'s speech."""
    speech = speak(text, voice, rate).astype(np.float64)
    pre, post = np.zeros(int(0.6 * SAMPLE_RATE)), np.zeros(int(1.0 * SAMPLE_RATE))
    x = np.concatenate([pre, speech, post]) if lead_s is None else np.zeros(int(lead_s * SAMPLE_RATE))
    if snr_db is not None:
        frames = speech[: speech.size // 240 * 240].reshape(-1, 240)
        p = (frames**2).mean(axis=1)
        p_speech = p[p > p.max() * 1e-3].mean()  # voiced frames
        x = x + noise(x.size, seed) * np.sqrt(p_speech / 10 ** (snr_db / 10))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16), speech.size / SAMPLE_RATE


def wer(ref: str, hyp: str) -> tuple[int, int]:
    """(edit distance in words, reference words)."""
    r, h = normalize(ref).split(), normalize(hyp).split()
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)], len(r)


def same_intent(ref: str, hyp: str) -> bool:
    a, b = intent(ref), intent(hyp)
    return a is not None and a == b


def _cpu_children() -> float:
    total = time.process_time()
    pool = _worker()
    for pid in list(getattr(pool, "_processes", {}) or {}):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            total += (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


class _TimedRecognizer(PocketsphinxRecognizer):
    """Records when each final transcript was returned (perf_counter)."""

    def __init__(self, phrases: tuple[str, ...]) -> None:
        super().__init__(phrases)
        self.done_at: list[float] = []

    def final(self) -> str:
        text = super().final()
        self.done_at.append(time.perf_counter())
        return text


class Session:
    """One call's stream: the demo agent's VAD and a listener, fed chunk by chunk."""

    def __init__(self, recognizer: _TimedRecognizer) -> None:
        self.recognizer = recognizer
        agent = demo_agent()
        start_s, stop_s = agent.vad_settings["start_secs"], agent.vad_settings["stop_secs"]
        self.vad = Vad(start_s, stop_s, model=speech_model(agent.vad_model))

        async def no_partial(key: object, text: str) -> None:
            return None

        self.listener = Listener(recognizer, no_partial, stop_secs=stop_s)
        self.history: list[np.ndarray] = []  # the last 2 s of the stream
        self.position = 0  # samples of the stream so far
        self.first = 0  # the current segment's first sample given to the recognizer
        self.arrived: list[tuple[int, float]] = []  # (stream samples so far, when), last 2 s

    def recent(self, start: int) -> np.ndarray:
        """The stream from sample ``start`` to now (within the last 2 s)."""
        whole = np.concatenate(self.history)
        return whole[max(0, whole.size - (self.position - start)) :]

    async def stream(self, pcm: np.ndarray, speed: float) -> tuple[list[str], list[float], list[float]]:
        """Stream ``pcm``: (final transcripts, eos→final seconds, end→text seconds) of the segments
        that end in it."""
        finals: list[asyncio.Future] = []
        stops: list[float] = []
        ends: list[float] = []
        t_next = time.perf_counter()
        for off in range(0, pcm.size, CHUNK):
            chunk = pcm[off : off + CHUNK]
            self.history.append(chunk)
            self.position += chunk.size
            self.arrived.append((self.position, time.perf_counter()))
            while len(self.history) > 2 * SAMPLE_RATE // CHUNK:
                self.history.pop(0)
                self.arrived.pop(0)
            if self.vad.speaking:
                self.listener.audio(chunk)
            for ev in self.vad.feed(chunk):
                if ev.kind == "start":
                    self.first = max(0, ev.position - PREROLL_SAMPLES)
                    self.listener.begin(None, self.recent(self.first), self.first)
                else:
                    stops.append(time.perf_counter())
                    ends.append(next(t for pos, t in self.arrived if pos >= ev.position))
                    finals.append(_timed(self.listener.end(ev.position)))
            if self.vad.speaking:
                self.listener.pause(self.vad.pause)
            t_next += CHUNK / SAMPLE_RATE / speed
            await asyncio.sleep(max(0.0, t_next - time.perf_counter()))
        results = [await f for f in finals]
        ready = [max(t for t in self.recognizer.done_at if t <= r[1]) for r in results]
        return (
            [r[0] for r in results],
            [r[1] - s for r, s in zip(results, stops, strict=True)],
            [t - e for t, e in zip(ready, ends, strict=True)],
        )


def _timed(fut: asyncio.Future) -> asyncio.Future:
    async def wait() -> tuple[str, float]:
        text = await fut
        return text, time.perf_counter()

    return asyncio.ensure_future(wait())


async def condition(name: str, snr: float | None, voices: list[str], rates: list[int], speed: float) -> dict:
    n_ok = n = segs_bad = early = dropped = 0
    errs = words = 0
    lat: list[float] = []
    costs: list[float] = []
    audio_s = 0.0
    misses: list[str] = []
    cpu0 = _cpu_children()
    for vi, voice in enumerate(voices):
        session = Session(_TimedRecognizer(DEMO_PHRASES))
        lead, _ = clip(UTTERANCES[0], voice, rates[0], snr, seed=vi * 1000 + 999, lead_s=2.0)
        await session.stream(lead, speed)
        for rate in rates:
            for ui, text in enumerate(UTTERANCES):
                pcm, _ = clip(text, voice, rate, snr, seed=vi * 1000 + rate + ui)
                audio_s += pcm.size / SAMPLE_RATE
                finals, eos, cost = await session.stream(pcm, speed)
                heard = " ".join(f for f in finals if f)
                n += 1
                segs_bad += len(finals) != 1
                ok = same_intent(text, heard)
                n_ok += ok
                if not ok:
                    misses.append(f"{voice}@{rate} {text!r} → {heard!r}")
                e, w = wer(text, heard)
                errs, words = errs + e, words + w
                lat += eos
                costs += cost
        early, dropped = early + session.listener.early_finals, dropped + session.listener.early_dropped
        session.listener.close()
    cpu = _cpu_children() - cpu0
    lat_ms = np.array(lat) * 1000 if lat else np.array([np.nan])
    return {
        "condition": name,
        "n": n,
        "intent": n_ok / n,
        "wer": errs / max(words, 1),
        "segs_bad": segs_bad,
        "p50": float(np.percentile(lat_ms, 50)),
        "p95": float(np.percentile(lat_ms, 95)),
        "text50": float(np.percentile(np.array(costs) * 1000, 50)) if costs else np.nan,
        "text95": float(np.percentile(np.array(costs) * 1000, 95)) if costs else np.nan,
        "cpu_per_s": cpu / audio_s,
        "early": f"{early - dropped}/{early}",
        "misses": misses,
    }


def baseline(voice: str, rates: list[int]) -> dict:
    """Previous recognition: open vocabulary with pocketsphinx's default search (two passes, no
    limits), the whole segment decoded after it ended — in this process, timed per clip."""
    from pocketsphinx import Decoder

    from vatel_nb.simulator import _ps_worker as ps

    decoder = Decoder(samprate=16000, loglevel="FATAL")
    n_ok = n = 0
    lat: list[float] = []
    cpu0 = _cpu_children()
    audio_s = 0.0
    for rate in rates:
        for ui, text in enumerate(UTTERANCES):
            pcm, _ = clip(text, voice, rate, None, seed=ui)
            audio_s += pcm.size / SAMPLE_RATE
            t = time.perf_counter()
            stream = ps._Stream(decoder, None, np.random.default_rng(ui))
            heard = ps._decode(decoder, ps._to_16k(stream, pcm.tobytes()))
            lat.append(time.perf_counter() - t)
            n += 1
            n_ok += same_intent(text, heard)
    cpu = _cpu_children() - cpu0
    return {
        "condition": f"baseline open-vocab ({voice})",
        "n": n,
        "intent": n_ok / n,
        "p50": float(np.percentile(np.array(lat) * 1000, 50)),
        "p95": float(np.percentile(np.array(lat) * 1000, 95)),
        "cpu_per_s": cpu / audio_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voices", nargs="+", default=VOICES)
    ap.add_argument("--rates", nargs="+", type=int, default=RATES)
    ap.add_argument("--speed", type=float, default=1.0, help="chunk pacing, × real time")
    ap.add_argument("--quick", action="store_true", help="two voices, one rate")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--utterances", nargs="+", default=None, help="only these texts (default: all)")
    args = ap.parse_args()
    if args.quick:
        args.voices, args.rates = args.voices[:2], args.rates[:1]
    if args.utterances:
        UTTERANCES[:] = args.utterances
    warm_pocketsphinx(DEMO_PHRASES)
    rows = []
    if not args.no_baseline:
        rows.append(baseline(args.voices[0], args.rates))
    for name, snr in (("clean", None), ("20 dB SNR", 20.0), ("10 dB SNR", 10.0)):
        rows.append(asyncio.run(condition(name, snr, args.voices, args.rates, args.speed)))
    print(f"\nvoices {args.voices}, rates {args.rates} wpm, {len(UTTERANCES)} utterances each, "
          f"pacing {args.speed:g}× real time, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'condition':34s} {'n':>4s} {'intent':>7s} {'WER':>6s} {'segs≠1':>7s} "
          f"{'end→text p50':>13s} {'p95':>7s} {'eos→final p50':>14s} {'p95':>7s} {'cpu/s':>6s} "
          f"{'early':>8s}")  # fmt: skip
    for r in rows:
        print(
            f"{r['condition']:34s} {r['n']:4d} {r['intent']:7.1%} "
            f"{r['wer']:6.1%} {r.get('segs_bad', 0):7d} " if "wer" in r else
            f"{r['condition']:34s} {r['n']:4d} {r['intent']:7.1%} {'':6s} {'':7s} ",
            end="",
        )  # fmt: skip
        cost = f"{r['text50']:10.0f} ms {r['text95']:4.0f} ms " if "text50" in r else f"{'':21s} "
        print(f"{cost}{r['p50']:11.0f} ms {r['p95']:4.0f} ms {r['cpu_per_s']:6.3f} {r.get('early', ''):>8s}")
    for r in rows:
        for m in r.get("misses", []):
            print(f"  miss [{r['condition']}] {m}")


if __name__ == "__main__":
    main()
