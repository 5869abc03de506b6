"""`vatel-nb talk`: a full-duplex call from a terminal through this computer's mic and speaker.

Where to connect: as `vatel-nb call` (``--base-url``/``--api-key``/``--agent-id``, else
``$VATEL_*``, else the embedded simulator and its demo agent, which recognizes speech with
pocketsphinx when the ``asr`` extra is installed). The devices: ``--input`` / ``--output`` (a number
or part of a name from ``--list-devices``). Shows the transcript as it becomes final, the latency
of each reply and a level meter; Ctrl-C (or SIGTERM) ends the call cleanly and writes the session
folder (the report files included; ``vatel-nb report`` works on it). There is no echo
cancellation: headphones, or ``--half-duplex``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from ._outputs import default_folder, fail, format_summary, progress, write_report

__all__ = ["TalkDisplay", "add_talk", "meter_bar"]

_BAR = 20  # characters of a level bar
_FLOOR_DB = -60.0


def meter_bar(db: float, width: int = _BAR) -> str:
    """A level bar for ``db`` dBFS: ``width`` characters, empty at -60 dBFS, full at 0."""
    filled = round(max(0.0, min(1.0, (db - _FLOOR_DB) / -_FLOOR_DB)) * width)
    return "#" * filled + "." * (width - filled)


class TalkDisplay:
    """What `talk` shows: final transcript lines and latency lines on ``out``, the status and a
    level meter line on ``err`` (redrawn in place when ``err`` is a terminal)."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.live = bool(getattr(self.err, "isatty", lambda: False)())
        self._printed: set[tuple[Any, ...]] = set()
        self._latency: float | None = None
        self._meter_shown = False

    def _line(self, text: str, stream: TextIO | None = None) -> None:
        if self._meter_shown:  # clear the meter line first
            self.err.write("\r\x1b[K")
            self._meter_shown = False
        print(text, file=stream or self.out, flush=True)

    def state(self, changes: dict[str, Any]) -> None:
        """The session's UI state changed (status, transcript, latency, error)."""
        status = changes.get("status")
        if status:
            self._line(f"[{status}]", self.err)
        if changes.get("error"):
            self._line(f"error: {changes['error']}", self.err)
        for i, e in enumerate(changes.get("transcript") or ()):
            key = (e.get("role"), e.get("turn_id"), i if e.get("turn_id") is None else None, e.get("text"))
            if not e.get("final") or key in self._printed:
                continue
            self._printed.add(key)
            who = "you  " if e.get("role") == "user" else "agent"
            cut = " [interrupted]" if e.get("interrupted") else ""
            self._line(f"{who}: {e.get('text')}{cut}")
        latency = changes.get("last_latency_ms")
        if latency is not None and latency != self._latency:
            self._latency = latency
            kind = changes.get("last_latency_kind") or "latency"
            self._line(f"       latency {latency:.0f} ms ({kind})")

    def finish(self) -> None:
        """Clear the meter line (the call is over)."""
        if self._meter_shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self._meter_shown = False

    def meter(self, mic_db: float, speaker_db: float) -> None:
        """Redraw the level meter (only on a terminal)."""
        if not self.live:
            return
        last = f"   last reply {self._latency:.0f} ms" if self._latency is not None else ""
        self.err.write(
            f"\r\x1b[Kmic [{meter_bar(mic_db)}] {mic_db:6.1f} dB   "
            f"speaker [{meter_bar(speaker_db)}] {speaker_db:6.1f} dB{last}"
        )
        self.err.flush()
        self._meter_shown = True


def add_talk(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "talk",
        help="talk to an agent through this computer's microphone and speaker (full duplex)",
        description="A live call from the terminal through PortAudio (the `local` extra and the PortAudio "
        "library). Shows the transcript, each reply's latency and a level meter; Ctrl-C ends the call and "
        "writes the session folder with its report. No echo cancellation: use headphones or --half-duplex. "
        "With no URL/key anywhere, talks to the embedded simulator's demo agent.",
    )
    p.add_argument("--base-url", default=None, help="server root (default $VATEL_BASE_URL)")
    p.add_argument("--api-key", default=None, help="API key (default $VATEL_API_KEY)")
    p.add_argument("--agent-id", default=None, help="agent UUID (default $VATEL_AGENT_ID)")
    p.add_argument("--list-devices", action="store_true", help="list the audio devices and exit")
    p.add_argument("--input", default=None, metavar="DEVICE", help="microphone: number or part of a name")
    p.add_argument("--output", default=None, metavar="DEVICE", help="speaker: number or part of a name")
    p.add_argument(
        "--half-duplex", action="store_true", help="mute the mic while the agent is audible (no headphones)"
    )
    p.add_argument("--jitter-ms", type=float, default=60.0, help="audio buffered before a reply plays")
    p.add_argument(
        "--output-latency",
        type=float,
        default=0.15,
        metavar="SECONDS",
        help="speaker buffer (default 0.15; less risks underruns on a busy machine)",
    )
    p.add_argument("--max-duration", type=float, default=None, metavar="SECONDS", help="end the call after")
    p.add_argument("--out", type=Path, default=None, help="folder to write (default ./vatel-talk-<time>)")
    p.set_defaults(run=run_talk)


def run_talk(args: argparse.Namespace) -> int:
    from .._errors import VatelError
    from ..local import ECHO_WARNING, LocalAudioError, audio_devices, format_devices

    prog = "vatel-nb talk"
    if args.list_devices:
        try:
            print(format_devices(audio_devices()))
        except LocalAudioError as e:
            return fail(prog, str(e))
        return 0
    env = os.environ.get
    real = args.api_key or env("VATEL_API_KEY") or args.base_url or env("VATEL_BASE_URL")
    if real and not (args.agent_id or env("VATEL_AGENT_ID")):
        return fail(prog, "no agent id: pass --agent-id or set VATEL_AGENT_ID")
    folder = args.out or default_folder("vatel-talk")
    if folder.exists() and any(folder.iterdir()):
        return fail(prog, f"{folder} already holds files; pick a new --out folder")
    if args.half_duplex:
        progress(f"{prog}: half duplex: the mic is muted while the agent is audible")
    else:
        progress(f"{prog}: {ECHO_WARNING} (--half-duplex)")
    if not real:
        progress(f"{prog}: no --base-url/--api-key or VATEL_* set: using the embedded simulator")
    display = TalkDisplay()
    try:
        session = asyncio.run(_talk(args, folder, display))
    except LocalAudioError as e:
        return fail(prog, str(e))
    except (VatelError, OSError, ValueError) as e:
        return fail(prog, f"{e}; what was recorded is in {folder}")
    session.close()  # the autosave folder then holds all the report below is made from
    if not session.recording:
        return fail(prog, "no call was made")
    if not (folder / "calls.json").exists():  # autosave could not start: save what we have
        session.save(folder, overwrite=True)
    out = write_report(session.recording, folder)
    print(format_summary(out["_summary"]))
    print(f"session folder: {folder}")
    return 1 if session.status == "error" else 0


async def _talk(args: argparse.Namespace, folder: Path, display: TalkDisplay) -> Any:
    from ..local import LocalAudio
    from ..session import VatelSession
    from ._call import get_time

    session = VatelSession(
        args.agent_id,
        api_key=args.api_key,
        base_url=args.base_url,
        tools={"get_time": get_time},
        autosave=folder,
        verbose=False,
    )
    audio = LocalAudio(
        session,
        input=args.input,
        output=args.output,
        half_duplex=args.half_duplex,
        jitter_ms=args.jitter_ms,
        output_latency=args.output_latency,
        on_state=display.state,
    )
    progress(f"mic: {audio.input_device.name}   speaker: {audio.output_device.name}   (Ctrl-C ends the call)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        stop.set()
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C stops at once
            loop.remove_signal_handler(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)

    async def meter() -> None:
        while True:
            display.meter(*audio.levels)
            await asyncio.sleep(0.1)

    task = loop.create_task(meter())
    try:
        await audio.run(stop, max_duration=args.max_duration)
    finally:
        task.cancel()
        display.finish()
    return session
