"""Entry point of the `vatel-nb` command: one argparse subcommand per job.

Add a subcommand by writing ``_add_<name>(subparsers)`` that registers its parser with
``set_defaults(run=<function(args) -> int>)`` and listing it in :data:`_SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from collections.abc import Callable


def _add_simulator(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulator",
        help="run the Vatel simulator on 127.0.0.1 until interrupted",
        description="Serve a simulated Vatel API (REST + voice WebSocket). Prints its base URL on the first "
        "line, then the API key and the demo agent id; stops cleanly on Ctrl-C / SIGTERM.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to bind (default 0 = a free port)")
    p.add_argument("--api-key", default=None, help="Bearer key clients must send (default: random)")
    p.add_argument(
        "--asr",
        choices=("auto", "pocketsphinx", "scripted", "placeholder"),
        default="auto",
        help="how user speech is transcribed (default auto: pocketsphinx when installed)",
    )
    p.add_argument(
        "--voice",
        choices=("auto", "espeak", "synthetic"),
        default="auto",
        help="the agent's voice (default auto: espeak-ng when installed)",
    )
    p.add_argument(
        "--profile",
        choices=("vendor", "spec"),
        default=None,
        help="wire profile: vendor (what the real service sends; default, or $VATEL_NB_SIM_PROFILE) "
        "or spec (openapi.json exactly); see docs/compatibility.md",
    )
    p.set_defaults(run=_run_simulator)


def _run_simulator(args: argparse.Namespace) -> int:
    from ..simulator import DEMO_AGENT_ID, Simulator

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sim = await Simulator(
            api_key=args.api_key,
            host=args.host,
            port=args.port,
            asr=args.asr,
            voice=args.voice,
            profile=args.profile,
        ).start()
        # A dedicated server process: move the start-up heap (imports, app) out of the garbage
        # collector's reach, so full collections scan only what calls allocate — they paused
        # audio pacing by ~20 ms at 50 sessions (bench/bench_simulator.py, gc column).
        gc.collect()
        gc.freeze()
        print(sim.base_url, flush=True)
        print(f"api key: {sim.api_key}", flush=True)
        print(f"demo agent: {DEMO_AGENT_ID}", flush=True)
        try:
            await stop.wait()
        finally:
            await sim.stop()
            print("simulator stopped", file=sys.stderr, flush=True)

    try:
        asyncio.run(serve())
    except OSError as e:
        print(f"vatel-nb simulator: {e}", file=sys.stderr)
        return 2
    return 0


from ._call import add_call  # noqa: E402
from ._demo import add_demo  # noqa: E402
from ._report import add_report  # noqa: E402
from ._suite import add_suite  # noqa: E402
from ._talk import add_talk  # noqa: E402

_SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_simulator,
    add_demo,
    add_call,
    add_talk,
    add_report,
    add_suite,
]


def build_parser() -> argparse.ArgumentParser:
    """The `vatel-nb` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="vatel-nb", description="Talk to a Vatel voice agent and analyse calls."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the `vatel-nb` command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    return int(args.run(args))
