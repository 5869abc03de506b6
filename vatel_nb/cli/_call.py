"""`vatel-nb call`: a scripted headless call against any Vatel server and agent, saved to a folder.

Where to connect: ``--base-url``/``--api-key``/``--agent-id``, else ``$VATEL_BASE_URL`` /
``$VATEL_API_KEY`` / ``$VATEL_AGENT_ID``, else an embedded simulator with a demo agent whose
transcripts follow the script (:func:`vatel_nb.caller.demo_simulator`).
What to say: ``--say TEXT`` and ``--wav FILE`` (repeatable, spoken in the order given);
``--barge-in S`` makes the last utterance talk over the agent's previous reply S seconds after
it starts. Writes a session folder (see :mod:`._outputs`) and prints the summary.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
from pathlib import Path
from typing import Any

from ._outputs import default_folder, fail, format_summary, progress, write_report

__all__ = ["DEFAULT_SCRIPT", "build_script", "get_time", "run_scripted_call"]

#: What `vatel-nb call` says when given no --say / --wav.
DEFAULT_SCRIPT = ("Hello, can you hear me?", "What time is it?")


def get_time(timezone: str = "UTC") -> str:
    """The demo agent's client tool: the current time (HH:MM) in an IANA time zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        tz: dt.tzinfo = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        tz, timezone = dt.timezone.utc, "UTC"
    return f"{dt.datetime.now(tz):%H:%M} in {timezone}"


def build_script(items: list[tuple[str, str]], *, think: float, barge_in: float | None) -> list[Any]:
    """``[("say", text) | ("wav", path), …]`` → utterances; ``barge_in`` applies to the last one."""
    from ..caller import Utterance

    out = []
    for kind, value in items:
        if kind == "wav":
            path = Path(value)
            if not path.is_file():
                raise FileNotFoundError(f"--wav {value}: no such file (give a 16-bit PCM WAV file)")
            out.append(Utterance(audio=path, think=think))
        else:
            out.append(Utterance.say(value, think=think))
    if barge_in is not None:
        if len(out) < 2:
            raise ValueError("--barge-in needs at least two utterances (the last one interrupts a reply)")
        last = out[-1]
        out[-1] = Utterance(audio=last.audio, think=last.think, barge_in=barge_in, text=last.text)
    return out


def run_scripted_call(
    script: list[Any],
    folder: Path,
    *,
    agent_id: str | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    reply_timeout: float = 10.0,
    max_duration: float = 300.0,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run one scripted call (real time), autosaving into ``folder``; write the report files.

    Returns :func:`write_report`'s dict plus ``"_session"``. Raises what the session raises
    (``VatelError`` subclasses for configuration, connection and HTTP errors)."""
    from ..caller import ScriptedCaller
    from ..session import VatelSession

    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"{folder} already holds files; pick a new --out folder")
    say = (lambda _line: None) if quiet else progress

    async def main() -> Any:
        session = VatelSession(
            agent_id,
            api_key=api_key,
            base_url=base_url,
            tools={"get_time": get_time},
            autosave=folder,
            verbose=False,
        )
        caller = ScriptedCaller(
            session, script, reply_timeout=reply_timeout, max_duration=max_duration, progress=say
        )
        await caller.run()
        return session

    session = asyncio.run(main())
    session.close()  # the autosave folder then holds all the report below is made from
    if not (folder / "calls.json").exists():  # autosave could not start: save what we have
        session.save(folder, overwrite=True)
    out = write_report(session.recording, folder)
    out["_session"] = session
    if session.status == "error":
        say(f"the call failed: {session.error}")
    return out


def add_call(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "call",
        help="make a scripted call (no browser) and save it with its analysis",
        description="Call an agent from a script, in real time, with no browser: synthesized --say texts "
        "and --wav files are streamed as the microphone, the agent's playback is modelled (marked "
        "clock=modelled in the log). Writes a session folder: events, audio, recording.wav, "
        "summary.json, turns.csv and plots. With no URL/key anywhere, uses the embedded simulator.",
    )
    p.add_argument("--base-url", default=None, help="server root (default $VATEL_BASE_URL)")
    p.add_argument("--api-key", default=None, help="API key (default $VATEL_API_KEY)")
    p.add_argument("--agent-id", default=None, help="agent UUID (default $VATEL_AGENT_ID)")
    p.add_argument(
        "--say", dest="script", action="append", type=lambda s: ("say", s), metavar="TEXT", help="say TEXT"
    )
    p.add_argument(
        "--wav", dest="script", action="append", type=lambda s: ("wav", s), metavar="FILE", help="play FILE"
    )
    p.add_argument(
        "--barge-in", type=float, default=None, metavar="SECONDS", help="last utterance interrupts"
    )
    p.add_argument("--think", type=float, default=0.6, metavar="SECONDS", help="pause before each utterance")
    p.add_argument("--reply-timeout", type=float, default=10.0, metavar="SECONDS")
    p.add_argument("--max-duration", type=float, default=300.0, metavar="SECONDS")
    p.add_argument("--out", type=Path, default=None, help="folder to write (default ./vatel-call-<time>)")
    p.set_defaults(run=run_call)


def run_call(args: argparse.Namespace) -> int:
    from .._errors import VatelError

    folder = args.out or default_folder("vatel-call")
    env = os.environ.get
    real = args.api_key or env("VATEL_API_KEY") or args.base_url or env("VATEL_BASE_URL")
    if real and not (args.agent_id or os.environ.get("VATEL_AGENT_ID")):
        return fail("vatel-nb call", "no agent id: pass --agent-id or set VATEL_AGENT_ID")
    sim = None
    try:
        items = args.script or [("say", s) for s in DEFAULT_SCRIPT]
        script = build_script(items, think=args.think, barge_in=args.barge_in)
        where = {"agent_id": args.agent_id, "api_key": args.api_key, "base_url": args.base_url}
        if not real:  # an embedded simulator whose transcripts follow the script (no recognizer here)
            from ..caller import demo_simulator

            progress("vatel-nb call: no --base-url/--api-key or VATEL_* set: using an embedded simulator")
            sim, agent = demo_simulator([u.text or f"[{Path(str(u.audio)).name}]" for u in script])
            where = {"agent_id": agent, "api_key": sim.api_key, "base_url": sim.base_url}
        out = run_scripted_call(
            script, folder, reply_timeout=args.reply_timeout, max_duration=args.max_duration, **where
        )
    except KeyboardInterrupt:
        return fail("vatel-nb call", f"interrupted; what was recorded is in {folder}", 130)
    except (VatelError, OSError, ValueError) as e:
        return fail("vatel-nb call", str(e))
    finally:
        if sim is not None:
            sim.close()
    print(format_summary(out["_summary"]))
    print(f"session folder: {folder}")
    return 1 if out["_session"].status == "error" else 0
