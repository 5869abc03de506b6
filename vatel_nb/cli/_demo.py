"""`vatel-nb demo`: the embedded simulator plus JupyterLab on notebooks/quickstart.ipynb.

JupyterLab runs as a child process (its own process group) with ``VATEL_BASE_URL``,
``VATEL_API_KEY`` and ``VATEL_AGENT_ID`` pointing at the simulator this command serves in-process,
so the notebook talks to it. Ctrl-C / SIGTERM stop JupyterLab (SIGTERM, then SIGKILL after
10 s) and the simulator. ``--headless`` instead runs a scripted call against an embedded
simulator and writes its session folder (see :mod:`._outputs`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ._outputs import default_folder, fail, format_summary, progress

__all__ = ["DEMO_SCRIPT", "add_demo", "find_notebooks"]

#: The headless demo, (text, barge-in s): after the greeting, a tool call, a long answer cut by a
#: barge-in, and a goodbye (the agent then ends the call).
DEMO_SCRIPT = (
    ("What time is it in Europe/Paris?", None),
    ("Please tell me a long story about the sea and the ships.", None),
    ("Sorry, stop there.", 1.0),
    ("Thanks, goodbye!", None),
)


def find_notebooks() -> Path:
    """The ``notebooks/`` folder: ``./notebooks`` or the one next to the package (a source checkout)."""
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (base / "notebooks" / "quickstart.ipynb").is_file():
            return base / "notebooks"
    raise FileNotFoundError(
        "notebooks/quickstart.ipynb not found: run `vatel-nb demo` from the vatel-nb source folder"
    )


def add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the simulator + JupyterLab on the quickstart notebook (or --headless: a scripted call)",
        description="Start the Vatel simulator and JupyterLab on notebooks/quickstart.ipynb, wired to it "
        "(no API key needed); prints the URL; Ctrl-C stops both. With --headless, run a scripted call "
        "against an embedded simulator instead, print its summary and write a session folder.",
    )
    p.add_argument("--headless", action="store_true", help="no browser: a scripted call, saved to --out")
    p.add_argument("--out", type=Path, default=None, help="--headless: folder (default ./vatel-demo-<time>)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser (JupyterLab)")
    p.add_argument("--port", type=int, default=0, help="JupyterLab port (default: a free one)")
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    if args.headless:
        return _headless(args)
    return _lab(args)


def _headless(args: argparse.Namespace) -> int:
    from .._errors import VatelError
    from ..caller import Utterance, demo_simulator
    from ..simulator import Latency, Uniform
    from ._call import run_scripted_call

    os.environ["VATEL_NB_HEADLESS"] = "1"
    folder = args.out or default_folder("vatel-demo")
    script = [Utterance.say(text, think=0.4, barge_in=b) for text, b in DEMO_SCRIPT]
    progress("vatel-nb demo: starting the embedded simulator")
    delays = Latency(
        endpointing=0.05, transcription=0.08, text=Uniform(0.15, 0.35, seed=7), audio_first_byte=0.1
    )
    sim, agent = demo_simulator([text for text, _ in DEMO_SCRIPT], latency=delays)
    try:
        out = run_scripted_call(
            script, folder, agent_id=agent, api_key=sim.api_key, base_url=sim.base_url, reply_timeout=6.0
        )
    except KeyboardInterrupt:
        return fail("vatel-nb demo", f"interrupted; what was recorded is in {folder}", 130)
    except (VatelError, OSError, ValueError) as e:
        return fail("vatel-nb demo", str(e))
    finally:
        sim.close()
    print(format_summary(out["_summary"]))
    print(f"session folder: {folder} (recording.wav, summary.json, turns.csv, *.png)")
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lab(args: argparse.Namespace) -> int:
    from ..simulator import DEMO_AGENT_ID, Simulator

    try:
        notebooks = find_notebooks()
    except FileNotFoundError as e:
        return fail("vatel-nb demo", str(e))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    proc: subprocess.Popen[str] | None = None
    sim = Simulator()
    try:
        sim.__enter__()
        token = secrets.token_hex(16)
        port = args.port or _free_port()
        env = dict(os.environ, VATEL_BASE_URL=sim.base_url, VATEL_API_KEY=sim.api_key)
        env["VATEL_AGENT_ID"] = DEMO_AGENT_ID
        env.pop("VATEL_NB_HEADLESS", None)
        cmd = [
            sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={notebooks}",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers: JupyterLab refuses root otherwise
            cmd.append("--allow-root")
        progress(f"vatel-nb demo: simulator at {sim.base_url}; starting JupyterLab…")
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        url, last = _wait_for_url(proc, stop)
        if url is None:
            if stop.is_set():
                return 0
            why = f": {last}" if last else ""
            return fail("vatel-nb demo", f"JupyterLab did not start (try another --port){why}")
        lab_url = f"http://127.0.0.1:{port}/lab/tree/quickstart.ipynb?token={token}"
        print(lab_url, flush=True)
        if importlib.util.find_spec("notebook") is not None:  # Notebook 7, served by the same server
            progress(
                f"vatel-nb demo: or in Notebook 7: http://127.0.0.1:{port}/notebooks/quickstart.ipynb?token={token}"
            )
        progress("vatel-nb demo: open the URL above; Ctrl-C stops JupyterLab and the simulator")
        if not args.no_browser:
            import webbrowser

            webbrowser.open(lab_url)
        while not stop.is_set() and proc.poll() is None:
            stop.wait(0.2)
        if proc.poll() is not None and not stop.is_set():
            return fail("vatel-nb demo", f"JupyterLab exited on its own (exit code {proc.returncode})")
        return 0
    except OSError as e:
        return fail("vatel-nb demo", str(e))
    finally:
        if proc is not None:
            _stop_process(proc)
        sim.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        progress("vatel-nb demo: stopped")


def _wait_for_url(
    proc: subprocess.Popen[str], stop: threading.Event, timeout: float = 120.0
) -> tuple[str | None, str]:
    """Read JupyterLab's log until it prints its URL (it is then serving). Returns (URL or None if
    it died first, its last critical/error log message)."""
    found: list[str] = []
    last = [""]
    ready = threading.Event()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:  # keep draining so the pipe never fills
            m = re.match(r"\[[CE] [^\]]*\]\s*(.*)", line)
            if m:
                last[0] = m.group(1).strip()
            if not found:
                m = re.search(r"http://127\.0\.0\.1:\d+/\S*", line)
                if m:
                    found.append(m.group(0))
                    ready.set()
        ready.set()

    threading.Thread(target=pump, name="jupyterlab-log", daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.is_set() and not stop.is_set() and time.monotonic() < deadline:
        ready.wait(0.2)
    return (found[0] if found else None), last[0]


def _stop_process(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass
