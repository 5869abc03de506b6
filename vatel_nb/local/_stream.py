"""The local-audio front-end's shell: PortAudio input and output streams around :class:`LocalAudioCore`.

:class:`LocalAudio` is a front-end like the page: the session calls its ``send`` (kernel → page
envelopes) and ``update_state``; it hands ``ready`` / ``mic`` / ``playback`` / ``pong`` to
``session.handle_frontend`` (thread-safe). Capture and playback times are PortAudio's own
(``inputBufferAdcTime`` / ``outputBufferDacTime`` of each callback; ``pong`` carries
``Pa_GetStreamTime``), sent with ``clock="device"``: measured, not modelled.

There is no echo cancellation on this path: use headphones, or ``half_duplex=True`` (the mic
sends silence while the agent is audible).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from .. import envelope as env
from ..envelope import SAMPLE_RATE
from ._core import DEVICE_CLOCK, LocalAudioCore
from ._dac_clock import DacClock
from ._devices import AudioDevice, LocalAudioError, audio_devices, import_sounddevice, pick

__all__ = ["ECHO_WARNING", "LocalAudio"]

#: Said wherever the local-audio path starts.
ECHO_WARNING = (
    "there is no echo cancellation on the kernel's audio devices: use headphones, or half duplex "
    "(the mic is muted while the agent is audible)"
)
_BLOCK = 480  # samples per callback (20 ms at 24 kHz)


class LocalAudio:
    """The kernel's own microphone and speaker as the session's front-end (module docstring).

    ``input`` / ``output``: a device number or part of its name (None: the default device);
    ``half_duplex``: mute the mic while the agent is audible; ``jitter_ms``: audio buffered before
    a turn starts playing; ``latency``: PortAudio's suggested input latency ("low", "high" or
    seconds); ``output_latency``: the output buffer (s; default 0.15: with less, a busy process —
    a notebook kernel running the simulator — underruns, and ALSA's pulse plugin then stalls for
    about a second; the DAC times include it, so the heard latency stays measured);
    ``on_state(changes)``: called (on the session's loop) with every UI state change the session
    pushes — status, transcript, last_latency_ms, …
    """

    def __init__(
        self,
        session: Any,
        *,
        input: str | int | None = None,
        output: str | int | None = None,
        half_duplex: bool = False,
        jitter_ms: float = 60.0,
        latency: str | float = "low",
        output_latency: str | float = 0.15,
        on_state: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.session = session
        self.core = LocalAudioCore(jitter_s=jitter_ms / 1e3, half_duplex=half_duplex)
        self.on_state = on_state
        self.latency = latency
        self.output_latency = output_latency
        self._sd = import_sounddevice()
        devices = audio_devices(self._sd)
        self.input_device: AudioDevice = pick(devices, input, "input")
        self.output_device: AudioDevice = pick(devices, output, "output")
        self._lock = threading.Lock()
        self._stream: Any = None  # output: its time answers pings
        self._input: Any = None
        self._in_latency = 0.0
        self.ended = asyncio.Event()
        #: The last UI state the session pushed.
        self.state: dict[str, Any] = {}
        #: PortAudio status flags seen in callbacks: input overflows, output underflows.
        self.xruns = {"input_overflow": 0, "output_underflow": 0}
        self.callback_errors = 0
        self.last_callback_error = ""
        #: Callbacks PortAudio made so far, per stream.
        self.blocks = {"input": 0, "output": 0}
        self._dac = DacClock(SAMPLE_RATE)  # output sample → DAC time (see _dac_clock)
        self._out_n = 0  # output samples rendered so far
        #: playback events (with the provisional anchor they used) until the DAC clock settles
        self._held: list[tuple[dict[str, Any], list[bytes], float]] = []

    # ----------------------------------------------------------------- front-end interface

    def send(self, envelope: dict[str, Any], buffers: list[bytes] | tuple[bytes, ...] = ()) -> None:
        """Called by the session (on its loop) for every kernel → page envelope."""
        kind = envelope.get("kind")
        if kind == "ping":
            self._to_session(env.pong(int(envelope["id"]), self.time() * 1e3, clock=DEVICE_CLOCK))
            return
        with self._lock:
            if kind == "audio":
                self.core.audio(
                    envelope.get("turn_id"), env.as_bytes(buffers[0]), bool(envelope.get("final"))
                )
            elif kind == "interrupt":
                self.core.interrupt(envelope.get("turn_id"))
            elif kind == "end":
                self.core.end()
        if kind == "end":
            self.ended.set()

    def update_state(self, changes: dict[str, Any]) -> None:
        """Called by the session when its UI state changes; a call that went live records this
        front-end in its ``meta["frontend"]``."""
        self.state.update(changes)
        if changes.get("status") == "live":
            self.session.log.meta["frontend"] = self.describe()
        if self.on_state is not None:
            self.on_state(changes)

    def resume(self) -> None:
        """Another call on the open streams (the widget's Start after End): capture again."""
        with self._lock:
            self.core.resume()
        self.ended = asyncio.Event()

    def _to_session(self, envelope: dict[str, Any], buffers: list[bytes] | None = None) -> None:
        self.session.handle_frontend(envelope, buffers or [])

    # ----------------------------------------------------------------- the stream

    def time(self) -> float:
        """PortAudio's stream time now (device s; ``Pa_GetStreamTime``)."""
        stream = self._stream
        return float(stream.time) if stream is not None else time.perf_counter()

    @property
    def levels(self) -> tuple[float, float]:
        """(mic, speaker) RMS levels of the last 20 ms, dBFS."""
        return self.core.input_db, self.core.output_db

    def _adc_time(self, t: Any) -> float:
        """The callback's ADC time of its first sample; a host API that leaves it 0 gets the
        callback's current time less the input latency."""
        adc = float(t.inputBufferAdcTime)
        return adc if adc > 0 else float(t.currentTime) - self._in_latency

    def _dac_time(self, t: Any) -> float:
        """The callback's DAC time of its first sample; when the host API leaves it 0, the
        callback's current time plus the output latency."""
        dac = float(t.outputBufferDacTime)
        return dac if dac > 0 else float(t.currentTime) + self.core.output_latency_s

    def _on_input(self, indata: Any, frames: int, t: Any, status: Any) -> None:
        self.blocks["input"] += 1
        try:
            if status.input_overflow:
                self.xruns["input_overflow"] += 1
            with self._lock:
                mics = self.core.capture(indata[:, 0], self._adc_time(t))
            for envelope, buffers in mics:
                self._to_session(envelope, buffers)
        except Exception as e:  # never let an error escape into PortAudio's thread: count it
            self.callback_errors += 1
            self.last_callback_error = f"{type(e).__name__}: {e}"

    def _on_output(self, outdata: Any, frames: int, t: Any, status: Any) -> None:
        self.blocks["output"] += 1
        try:
            if status.output_underflow:
                self.xruns["output_underflow"] += 1
            t_dac, anchor = self._dac.block(self._out_n, self._dac_time(t), float(t.currentTime))
            self._out_n += frames
            with self._lock:
                block, played = self.core.render(frames, t_dac)
            outdata[:, 0] = block
            if not self._dac.settled:  # start-up: times are provisional, hold the events
                self._held += [(e, b, anchor) for e, b in played]
                return
            if self._held:  # just settled: the held events, moved to the steady anchor
                final = self._dac.anchor or 0.0
                held = [({**e, "t_browser": e["t_browser"] + (final - a) * 1e3}, b) for e, b, a in self._held]
                played, self._held = held + played, []
            for envelope, buffers in played:
                self._to_session(envelope, buffers)
        except Exception as e:  # never let an error escape into PortAudio's thread: count it, play silence
            self.callback_errors += 1
            self.last_callback_error = f"{type(e).__name__}: {e}"
            outdata.fill(0)

    def _open_stream(self, kind: str) -> Any:
        sd = self._sd
        device = self.input_device if kind == "input" else self.output_device
        cls, callback = (
            (sd.InputStream, self._on_input) if kind == "input" else (sd.OutputStream, self._on_output)
        )
        try:
            return cls(
                samplerate=SAMPLE_RATE,
                blocksize=_BLOCK,
                device=device.index,
                channels=1,
                dtype="int16",
                latency=self.latency if kind == "input" else self.output_latency,
                callback=callback,
            )
        except Exception as e:
            raise LocalAudioError(
                f"could not open the {kind} device {device.name!r} as mono 24 kHz: {e}. Pick another "
                f"with --{kind} (see --list-devices); the 'default' or 'pulse' devices resample any rate"
            ) from e

    def open(self) -> None:
        """Open and start the input and output streams (mono PCM16 at 24 kHz; two streams, not one
        duplex stream: ALSA's duplex mode stalls when either side is late), attach to the session
        and send ``ready``. :class:`LocalAudioError` says which device refused and what to try.

        Both streams' times are PortAudio's stream time of one host API (one clock)."""
        sd = self._sd
        self._input = self._open_stream("input")
        try:
            self._stream = self._open_stream("output")
        except BaseException:
            self._input.close()
            self._input = None
            raise
        in_latency, out_latency = float(self._input.latency), float(self._stream.latency)
        self._in_latency = in_latency
        self.core.output_latency_s = out_latency
        self._dac, self._out_n, self._held = DacClock(SAMPLE_RATE), 0, []
        self.session.attach(self)
        self._stream.start()
        self._input.start()
        self._to_session(
            env.ready(
                base_latency_ms=in_latency * 1e3,
                output_latency_ms=out_latency * 1e3,
                user_agent=f"vatel-nb local audio ({sd.get_portaudio_version()[1]})",
                processing=False,
                clock=DEVICE_CLOCK,
                frontend="local-audio",
                input_device=self.input_device.name,
                output_device=self.output_device.name,
                host_api=self.input_device.host_api,
                half_duplex=self.core.half_duplex,
                echo_cancellation=False,
            )
        )

    def close(self) -> None:
        """Stop and close the streams (idempotent)."""
        for name in ("_input", "_stream"):
            stream = getattr(self, name)
            setattr(self, name, None)
            if stream is not None:
                try:
                    stream.stop()
                finally:
                    stream.close()
        held, self._held = self._held, []  # closed before the stream settled: provisional times
        for envelope, buffers, _anchor in held:
            self._to_session(envelope, buffers)

    def describe(self) -> dict[str, Any]:
        """What the call's ``meta["frontend"]`` records about this front-end."""
        return {
            "kind": "local audio (PortAudio)",
            "clock": "device: PortAudio stream time (ADC/DAC times of each callback)",
            "input_device": self.input_device.name,
            "output_device": self.output_device.name,
            "host_api": self.input_device.host_api,
            "half_duplex": self.core.half_duplex,
            "echo_cancellation": False,
            "jitter_ms": self.core.jitter_s * 1e3,
        }

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until queued agent audio has played (at most ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while self.core.playing and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    async def run(
        self,
        stop: asyncio.Event | None = None,
        *,
        max_duration: float | None = None,
        reason: str = "the call was ended from the terminal",
    ) -> None:
        """One call through the devices: open, ``session.start()``, until the call ends, ``stop``
        is set or ``max_duration`` s passed; then end the call (``reason``), let the last audio
        play, close. Raises what ``session.start()`` raises."""
        self.ended = asyncio.Event()
        self.open()
        try:
            await self.session.start()
            frontend = self.session.log.meta.setdefault("frontend", self.describe())
            waits = [asyncio.ensure_future(self.ended.wait())]
            if stop is not None:
                waits.append(asyncio.ensure_future(stop.wait()))
            try:
                await asyncio.wait(waits, timeout=max_duration, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
            frontend.update(
                xruns=dict(self.xruns),
                gated_frames=self.core.gated_frames,
                callback_errors=self.callback_errors,
            )
            await self.session.end(reason)
            await self.drain(1.0)
        finally:
            self.close()
