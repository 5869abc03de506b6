"""Start a real marimo server (``marimo run NOTEBOOK.py``) on 127.0.0.1 for the browser tests.

Isolated from the user's setup: HOME and XDG_CONFIG_HOME point into the server's work dir (no
user marimo config, no update check state), the working directory is the work dir (a notebook
that saves files writes them there), and no ``VATEL_*`` variable is passed on (the quickstart
talks to its embedded simulator). ``marimo run`` executes every cell for each page that opens it,
in a kernel of its own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ._jupyter import stop_process

__all__ = ["MarimoServer", "MarimoStartError"]


class MarimoStartError(RuntimeError):
    """The server exited or never answered; the message carries the tail of its log."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MarimoServer:
    """``marimo run notebook`` on 127.0.0.1 (a free port), logs in ``workdir/marimo.log``."""

    def __init__(self, notebook: Path, workdir: Path, *, start_timeout_s: float = 90.0) -> None:
        self.notebook = Path(notebook)
        self.workdir = Path(workdir)
        self.start_timeout_s = start_timeout_s
        self.log_path = self.workdir / "marimo.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""

    def start(self) -> MarimoServer:
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("VATEL_")}
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), PYTHONUNBUFFERED="1")
        self.port = _free_port()
        cmd = [
            sys.executable, "-m", "marimo", "run", str(self.notebook),
            "--host", "127.0.0.1", "--port", str(self.port), "--headless", "--no-token",
        ]  # fmt: skip
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir
        )
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    if r.status == 200:
                        return self
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.3)
        self.stop()
        raise MarimoStartError(
            f"marimo did not answer on {self.url} in {self.start_timeout_s:.0f} s:\n{self.log_tail()}"
        )

    def check_alive(self) -> None:
        """Raise :class:`MarimoStartError` (with the log) if the server process has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            raise MarimoStartError(f"marimo exited with code {self.proc.returncode}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        stop_process(self.proc, getattr(self, "_log", None))
        self._log = None

    def __enter__(self) -> MarimoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
