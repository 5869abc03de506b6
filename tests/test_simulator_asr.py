"""Recognition in the simulator: the demo repertoire, the pluggable Recognizer, streaming off the
event loop, the reply that waits for the user (and the setting that makes it talk over them),
pocketsphinx on generated speech, and the one VAD in noise."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest
from test_simulator_helpers import Caller, silence, tone

from vatel_nb._speech_model import SileroSpeech, silero_available, speech_model
from vatel_nb._vad import Vad, speech_segments
from vatel_nb.simulator import (
    DEMO_PHRASES,
    Latency,
    Recognizer,
    Simulator,
    demo_reply,
    intent,
    speak,
)

SR = 24_000
VAD = {"start_secs": 0.1, "stop_secs": 0.3}


# --------------------------------------------------------------------------- repertoire


@pytest.mark.parametrize(
    ("said", "name", "zone"),
    [
        ("What time is it?", "time", None),
        ("what's the time in Tokyo", "time", "Asia/Tokyo"),
        ("What is the time in New York?", "time", "America/New_York"),
        ("what time is it in Europe/Paris", "time", "Europe/Paris"),
        ("Tell me a long story.", "story", None),
        ("Stop!", "stop", None),
        ("wait a second", "wait", None),
        ("Thank you very much", "thanks", None),
        ("good bye", "goodbye", None),
        ("Hello there", "greeting", None),
    ],
)
def test_intents(said, name, zone):
    it = intent(said)
    assert it is not None and it.name == name and it.zone == zone
    assert intent("I like green apples") is None and intent("") is None


def test_demo_reply_calls_get_time_with_the_city_zone_and_says_that_city():
    reply = demo_reply("what time is it in tokyo", [{"role": "user", "text": "what time is it in tokyo"}])
    assert [(t.name, t.arguments) for t in reply.tool_calls] == [("get_time", {"timezone": "Asia/Tokyo"})]
    history = [
        {"role": "user", "text": "what time is it in tokyo", "turn_id": "u1"},
        {"role": "tool", "name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}, "output": "08:05",
         "timed_out": False, "turn_id": "u1"},
    ]  # fmt: skip
    assert demo_reply("what time is it in tokyo", history).text == "In Tokyo it is 08:05."
    assert demo_reply("tell me a long story", [{"role": "user"}]).text.startswith("Once upon a time")
    assert len(demo_reply("tell me a long story", []).text) > 2 * len(demo_reply("tell me a story", []).text)
    assert demo_reply("goodbye", []).end_call
    assert demo_reply("I like green apples", []).text == "You said: I like green apples"
    assert all(intent(p) is not None for p in DEMO_PHRASES)  # the grammar is all repertoire


# --------------------------------------------------------------------------- the one VAD in noise


def _noisy(snr_db: float, bursts, total_s: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(int(total_s * SR))
    for a, b in bursts:
        x[int(a * SR) : int(b * SR)] += tone(b - a).astype(float)
    speech_power = np.mean(tone(1.0).astype(float) ** 2)
    x += rng.normal(0, np.sqrt(speech_power / 10 ** (snr_db / 10)), x.size)
    return np.clip(x, -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("snr_db", [15.0, 10.0])
def test_vad_finds_utterances_in_steady_noise(snr_db):
    bursts = [(2.0, 3.0), (4.5, 5.2)]
    pcm = _noisy(snr_db, bursts, 7.0)
    assert (
        20 * np.log10(np.sqrt(np.mean(pcm[:SR].astype(float) ** 2)) / 32768) > -40
    )  # above the old threshold
    vad = Vad(0.2, 0.5)
    events = [e for i in range(0, pcm.size, 480) for e in vad.feed(pcm[i : i + 480])]
    starts = [e.position / SR for e in events if e.kind == "start"]
    stops = [e.position / SR for e in events if e.kind == "stop"]
    if starts and starts[0] < 1.0:  # documented: no floor known yet in the first second
        assert stops[0] <= 1.0 + 0.05, events
        starts, stops = starts[1:], stops[1:]
    assert len(starts) == len(stops) == 2, events  # not one endless utterance
    for (a, b), s, e in zip(bursts, starts, stops, strict=True):
        assert abs(s - a) < 0.05 and abs(e - b) < 0.05
    segs = speech_segments(pcm) / SR
    assert len(segs) == 2 and np.allclose(segs, bursts, atol=0.05)


def _bench_noise(n: int, seed: int) -> np.ndarray:
    """Hiss plus 50 Hz hum harmonics, unit RMS (what bench/bench_asr.py mixes in)."""
    rng = np.random.default_rng(seed)
    hiss = np.convolve(rng.normal(0, 1, n), [0.6, 0.4], mode="same")
    t = np.arange(n) / SR
    hum = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in (1, 2, 3))
    x = hiss / hiss.std() + 0.5 * hum / hum.std()
    return x / x.std()


def _speech_in_noise(texts: list[str], snr_db: float | None) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """2 s of noise, then each text (espeak-ng) with 1 s around it; the true speech spans (s)."""
    parts, spans, t = [np.zeros(2 * SR)], [], 2.0
    levels = []
    for text in texts:
        sp = speak(text, "en-us", 175).astype(float)
        loud = np.flatnonzero(np.abs(sp) > 300)
        spans.append((t + 1.0 + loud[0] / SR, t + 1.0 + loud[-1] / SR))
        parts += [np.zeros(SR), sp, np.zeros(SR)]
        t += 2.0 + sp.size / SR
        frames = sp[: sp.size // 240 * 240].reshape(-1, 240)
        p = (frames**2).mean(axis=1)
        levels.append(p[p > p.max() * 1e-3].mean())
    x = np.concatenate(parts)
    if snr_db is not None:
        x += _bench_noise(x.size, 7) * np.sqrt(np.mean(levels) / 10 ** (snr_db / 10))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16), spans


def _live_segments(vad: Vad, pcm: np.ndarray) -> list[tuple[float, float]]:
    events = [e for i in range(0, pcm.size, 480) for e in vad.feed(pcm[i : i + 480])]
    starts = [e.position / SR for e in events if e.kind == "start"]
    stops = [e.position / SR for e in events if e.kind == "stop"]
    return list(zip(starts, stops, strict=False))


TEXTS = ["What time is it in Tokyo?", "Stop!", "Tell me a long story.", "Thank you."]


@pytest.mark.parametrize("snr_db", [None, 20.0, 10.0])
def test_the_speech_model_finds_every_utterance_in_noise_with_the_edges_energy_gives(snr_db):
    pcm, spans = _speech_in_noise(TEXTS, snr_db)
    found = _live_segments(Vad(0.2, 0.5, model=speech_model("silero")), pcm)
    assert len(found) == len(spans), (found, spans)
    for (a, b), (s, e) in zip(spans, found, strict=True):
        # within 0.12 s: a quiet "th" is ≈ 80 ms, and at 10 dB the release of the "p" of "Stop!" is lost
        assert abs(s - a) < 0.12 and abs(e - b) < 0.12, (found, spans)
    if snr_db is None:  # clean: the same edges as energy alone, to the frame
        energy = _live_segments(Vad(0.2, 0.5), pcm)
        assert np.allclose(found, energy, atol=0.011), (found, energy)
    if snr_db == 10.0:  # what the model is for: energy alone loses utterances once it knows the floor
        assert len(_live_segments(Vad(0.2, 0.5), pcm)) < len(spans)


def test_the_speech_model_gives_the_same_frame_probabilities_however_the_stream_is_cut():
    pcm, _ = _speech_in_noise(["What time is it?"], 20.0)
    pcm = pcm[: pcm.size // 240 * 240]
    whole = SileroSpeech().frame_probs(pcm)
    model, cut = SileroSpeech(), []
    for a, b in zip(range(0, pcm.size, 240 * 7), range(240 * 7, pcm.size + 240 * 7, 240 * 7), strict=False):
        cut.append(model.frame_probs(pcm[a:b]))
    assert whole.shape == (pcm.size // 240,) and np.array_equal(np.concatenate(cut), whole)
    assert whole.max() > 0.9 and whole[:100].max() < 0.5  # speech heard, the noise before it not
    # a frame is judged on the last complete 32 ms window at its end, never on later audio
    assert np.array_equal(SileroSpeech().frame_probs(pcm[: 240 * 150]), whole[:150])


def test_model_mode_quiet_speech_counts_towards_the_start_but_moves_no_edge():
    """The measured "Stop!" at 10 dB (en+m3, 195 wpm): 2 loud frames, 4 quiet, 2 loud, then 10
    frames loud and speech to the model, then 16 that the model hears as speech below the level."""
    loud = np.array([0] * 50 + [1, 1, 0, 0, 0, 0, 1, 1] + [1] * 10 + [0] * 16 + [0] * 60, bool)
    held = np.array([0] * 58 + [1] * 10 + [1] * 16 + [0] * 60, bool)
    vad = Vad(0.2, 0.5, model=object())  # type: ignore[arg-type] — step() is fed directly
    events = vad.step(loud & held, loud, held)
    assert [e.kind for e in events] == ["start", "stop"]
    start, stop = events
    assert start.position == 50 * 240  # moved back over the loud run, its 40 ms gap bridged
    assert start.decided_at == (50 + 20) * 240  # 20 frames counted: loud, then model-only ones
    assert stop.position == 68 * 240  # the last frame above the level: the held ones moved no edge
    # energy alone, the same frames: 14 loud ones, never 0.2 s of them: no segment
    assert Vad(0.2, 0.5).step(loud) == []


def test_speech_model_settings():
    assert speech_model("energy") is None
    assert (speech_model("auto") is not None) == silero_available()
    with pytest.raises(ValueError, match="vad_model must be"):
        speech_model("webrtc")
    with pytest.raises(ValueError, match="vad_model must be"):
        Simulator().add_agent("x", vad_model="loud")


# --------------------------------------------------------------------------- pluggable recognizer


class SlowRecognizer(Recognizer):
    """Records its calls (and their threads); its final transcript takes ``delay`` seconds."""

    def __init__(self, phrases, delay: float = 0.0) -> None:
        self.phrases, self.delay = phrases, delay
        self.samples, self.threads, self.n = 0, set(), 0

    def start(self) -> None:
        self.samples = 0
        self.n += 1

    def feed(self, pcm: np.ndarray) -> None:
        assert pcm.dtype == np.int16
        self.samples += pcm.size
        self.threads.add(threading.get_ident())

    def partial(self) -> str | None:
        return f"part {self.n}"

    def final(self) -> str:
        time.sleep(self.delay)  # blocking on purpose: must not stall the event loop
        self.threads.add(threading.get_ident())
        return f"utterance {self.n} of {self.samples / SR:.2f} s"


def test_a_plugged_in_recognizer_streams_off_the_loop_and_gets_the_agents_phrases():
    made: list[SlowRecognizer] = []

    def factory(phrases):
        made.append(SlowRecognizer(phrases, delay=0.5))
        return made[-1]

    async def main() -> None:
        sim = await Simulator(asr=factory, voice="synthetic", profile="spec").start()
        try:
            agent = sim.add_agent(
                "P", vad_settings=VAD, phrases=["book a table"], reply=lambda t, h: f"ok {t}"
            )
            c = Caller(sim.base_url, sim.api_key)
            await c.connect(await c.token(agent))
            loop_ticks = []

            async def ticker() -> None:
                while True:
                    loop_ticks.append(time.perf_counter())
                    await asyncio.sleep(0.01)

            tick = asyncio.get_running_loop().create_task(ticker())
            await c.stream(np.concatenate([silence(0.2), tone(1.0), silence(0.5)]))
            _, final = await c.wait_for("input_audio_transcript", is_final=True)
            tick.cancel()
            # the recognizer hears pre-roll 0.15 s + 1.0 s of speech + post-roll 0.2 s, not the
            # 0.3 s hangover after it: the end is known before it is decided
            assert final["data"]["transcript"] == "utterance 1 of 1.35 s"
            partials = [m for _, m in c.of("input_audio_transcript") if not m["data"]["is_final"]]
            assert partials and partials[0]["data"]["transcript"] == "part 1"
            assert max(np.diff(loop_ticks)) < 0.3  # the 0.5 s blocking final ran elsewhere
            await c.wait_for("response_text", is_final=True, text=f"ok {final['data']['transcript']}")
            await c.close()
        finally:
            await sim.stop()
        assert made and made[0].phrases == ["book a table"]
        assert threading.main_thread().ident not in made[0].threads

    asyncio.run(main())


@pytest.mark.parametrize("talk_over_user", [False, True])
def test_the_reply_waits_while_the_user_goes_on_unless_told_to_talk_over(talk_over_user):
    """Transcription slower than the user's pause: the default agent answers both parts after the
    user stops; ``talk_over_user=True`` answers the first part while the user is still talking."""

    async def main() -> None:
        sim = await Simulator(asr="scripted", voice="synthetic", profile="spec").start()
        try:
            agent = sim.add_agent(
                "T", vad_settings=VAD, script=["what time", "is it"], reply=lambda t, h: f"heard {t}",
                latency=Latency(transcription=0.6), talk_over_user=talk_over_user,
            )  # fmt: skip
            c = Caller(sim.base_url, sim.api_key)
            await c.connect(await c.token(agent))
            # part 1, a 0.4 s pause (VAD stops after 0.3 s), part 2 for 1.5 s: the final of part 1
            # (0.6 s after speech_stopped) arrives while part 2 is being spoken
            await c.stream(np.concatenate([silence(0.2), tone(0.5), silence(0.4), tone(1.5), silence(0.6)]))
            _, text = await c.wait_for("response_text", is_final=True, timeout=10)
            segs = sim.ground_truth(sim.session_ids()[0]).segments
            assert len(segs) == 2
            user2_end = segs[1].end_t
            t_text = next(t for t, m in c.messages if m["type"] == "response_text")
            if talk_over_user:
                assert text["data"]["text"] == "heard what time"
                assert t_text < user2_end  # the agent started while the user was still talking
            else:
                assert text["data"]["text"] == "heard what time is it"
                assert t_text > user2_end
            await c.close()
        finally:
            await sim.stop()

    asyncio.run(main())


# --------------------------------------------------------------------------- pocketsphinx


def test_pocketsphinx_hears_the_repertoire_in_two_voices():
    from vatel_nb.simulator import PocketsphinxRecognizer

    heard = []
    for voice in ("en-us", "en-us+f3"):
        rec = PocketsphinxRecognizer(DEMO_PHRASES)
        for text in ("what time is it in tokyo", "tell me a long story", "thank you"):
            # what the Listener feeds it: 0.15 s before the speech, 0.2 s after (the post-roll)
            pcm = np.concatenate([silence(0.15), speak(text, voice, 160), silence(0.2)])
            rec.start()
            for i in range(0, pcm.size, 2400):
                rec.feed(pcm[i : i + 2400])
            heard.append((text, rec.final()))
        rec.close()
    assert all(text == got for text, got in heard), heard


def test_the_recognizer_adds_noise_36_db_under_the_loudest_frame_heard_and_never_less_than_61_dbfs():
    from vatel_nb.simulator import _ps_worker as ps

    def rms(b: bytes) -> float:
        return float(np.sqrt(np.mean(np.frombuffer(b, "<i2").astype(np.float64) ** 2)))

    stream = ps._Stream(None, None, np.random.default_rng(0))
    assert rms(ps._to_16k(stream, silence(1.0).tobytes())) == pytest.approx(30, rel=0.05)
    loud = (8000 * np.sqrt(2) * np.sin(2 * np.pi * 300 * np.arange(SR // 10) / SR)).astype(np.int16)
    ps._to_16k(stream, loud.tobytes())
    assert stream.peak == pytest.approx(8000, rel=0.01)
    assert rms(ps._to_16k(stream, silence(1.0).tobytes())) == pytest.approx(8000 / 10 ** (36 / 20), rel=0.05)


def test_the_recognizer_worker_exits_when_its_parent_is_killed():
    """A kernel killed by a restart (SIGKILL) must not leave its pocketsphinx worker (≈ 200 MB)
    running forever: the worker watches its parent and exits within seconds."""
    import os
    import signal
    import subprocess
    import sys

    code = (
        "import os, sys, time\n"
        "from vatel_nb.simulator import _asr\n"
        "print(_asr._worker().submit(os.getpid).result(), flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        os.kill(worker, 0)  # alive while its parent is
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.kill(worker, signal.SIGKILL)
            pytest.fail(f"the worker {worker} outlived its killed parent by 15 s")
    finally:
        if parent.poll() is None:
            parent.kill()
