"""Start a real Jupyter server (``jupyter server`` / ``lab`` / ``notebook``) for tests and benches.

Isolated from the user's setup: fresh JUPYTER_CONFIG_DIR, JUPYTER_DATA_DIR (user-level only: no
user kernelspecs), JUPYTER_RUNTIME_DIR, JUPYTERLAB_WORKSPACES_DIR (no restored tabs or kernels),
JUPYTERLAB_SETTINGS_DIR (user settings such as ``commsOverSubshells``) and IPYTHONDIR. These only
replace the *user* level of Jupyter's search paths, so the prebuilt labextensions (ipywidgets,
anywidget) and kernelspec in ``sys.prefix/share/jupyter`` and the environment-wide config
(``sys.prefix/etc/jupyter``, where vatel_nb enables its server extension) are still found.
Binds 127.0.0.1 on port 0 and reads the
real port from the server's runtime file.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["JupyterServer", "JupyterStartError", "stop_process"]

SUBSHELL_SETTING = ("@jupyterlab/apputils-extension", "kernels-settings")
NOTIFICATION_SETTING = ("@jupyterlab/apputils-extension", "notification")


class JupyterStartError(RuntimeError):
    """The server exited or never answered; the message carries the tail of its log."""


def stop_process(proc: subprocess.Popen[bytes] | None, log: Any = None) -> None:
    """Stop a server process (SIGTERM, then SIGKILL after 15 s) and close its log file."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    if log is not None:
        log.close()


def _jupyter_exe() -> str:
    exe = Path(sys.executable).with_name("jupyter")
    return str(exe) if exe.exists() else "jupyter"


class JupyterServer:
    """One Jupyter server process on 127.0.0.1 with isolated dirs; use as a context manager.

    ``app``: "server" | "lab" | "notebook". ``root_dir``: where notebooks live (created).
    ``extra_args``: more command-line flags. ``env``: extra environment variables.
    Attributes after start: ``url`` (with trailing slash), ``port``, ``token``, ``log_path``.
    """

    def __init__(
        self,
        app: str = "lab",
        root_dir: Path | str | None = None,
        *,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        workdir: Path | str | None = None,
        start_timeout_s: float = 60.0,
    ) -> None:
        if app not in ("server", "lab", "notebook"):
            raise ValueError(f"app must be 'server', 'lab' or 'notebook', not {app!r}")
        self.app = app
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"vatel-jupyter-{app}-"))
        self.root_dir = Path(root_dir) if root_dir else self.workdir / "root"
        self.token = secrets.token_hex(16)
        self.extra_args = list(extra_args or [])
        self.extra_env = dict(env or {})
        self.start_timeout_s = start_timeout_s
        self.dirs = {
            name: self.workdir / name
            for name in ("config", "data", "runtime", "workspaces", "settings", "ipython")
        }
        self.log_path = self.workdir / f"jupyter-{app}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.url = ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> JupyterServer:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        for d in self.dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        # no "would you like Jupyter news?" toast over the notebook (and no request to the internet)
        self.write_user_setting(NOTIFICATION_SETTING, {"fetchNews": "false", "checkForUpdates": False})
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.dirs["config"]),
            JUPYTER_DATA_DIR=str(self.dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(self.dirs["runtime"]),
            JUPYTERLAB_WORKSPACES_DIR=str(self.dirs["workspaces"]),
            JUPYTERLAB_SETTINGS_DIR=str(self.dirs["settings"]),
            IPYTHONDIR=str(self.dirs["ipython"]),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        cmd = [
            _jupyter_exe(),
            self.app,
            "--no-browser",
            "--ip=127.0.0.1",
            "--port=0",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")  # jupyter refuses to run as root otherwise
        cmd += self.extra_args
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        runtime_file = self.dirs["runtime"] / f"jpserver-{self.proc.pid}.json"
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise JupyterStartError(
                    f"jupyter {self.app} exited with code {self.proc.returncode}:\n{self.log_tail()}"
                )
            if not self.port and runtime_file.exists():
                try:
                    info = json.loads(runtime_file.read_text())
                    self.port = int(info["port"])
                    self.url = f"http://127.0.0.1:{self.port}{info.get('base_url', '/')}"
                except (ValueError, KeyError):
                    pass  # half-written; read again
            if self.port:
                try:
                    self.api("api/status")
                    return
                except (OSError, urllib.error.URLError):
                    pass
            time.sleep(0.1)
        raise JupyterStartError(
            f"jupyter {self.app} did not answer within {self.start_timeout_s:.0f} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        stop_process(self.proc, getattr(self, "_log", None))
        self._log = None

    def cleanup(self) -> None:
        """Stop and delete the work dir (only if this object created it)."""
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> JupyterServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            code = self.proc.returncode if self.proc else None
            raise JupyterStartError(f"jupyter {self.app} died (exit code {code}):\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # ------------------------------------------------------------------ REST
    def api(self, path: str, method: str = "GET", body: Any = None, timeout: float = 10.0) -> Any:
        """Call the server's REST API with the token; returns decoded JSON (None for empty bodies)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path.lstrip("/"),
            method=method,
            data=data,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def page_url(self, notebook: str) -> str:
        """Browser URL that opens ``notebook`` (path relative to root_dir) in this app."""
        prefix = {"lab": "lab/tree/", "notebook": "notebooks/"}.get(self.app)
        if prefix is None:
            raise ValueError("plain 'jupyter server' has no notebook UI")
        return f"{self.url}{prefix}{notebook}?token={self.token}"

    def kernel_for(self, notebook: str) -> dict[str, Any] | None:
        """The kernel model of the session whose path is ``notebook``, or None."""
        try:
            sessions = self.api("api/sessions")
        except (OSError, urllib.error.URLError):
            return None  # jupyter_server can answer 500 while a kernel is starting
        for s in sessions or []:
            if s.get("path") == notebook and s.get("kernel"):
                return s["kernel"]
        return None

    def wait_kernel_idle(self, notebook: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait until the notebook's kernel exists, is idle and has a websocket connection."""
        deadline = time.monotonic() + timeout_s
        k: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            self.check_alive()
            k = self.kernel_for(notebook)
            if k and k.get("execution_state") == "idle" and k.get("connections", 0) >= 1:
                return k
            time.sleep(0.1)
        raise TimeoutError(f"kernel for {notebook} not idle+connected after {timeout_s:.0f} s (last: {k})")

    def shutdown_kernels(self) -> None:
        try:
            for s in self.api("api/sessions") or []:
                self.api(f"api/sessions/{s['id']}", method="DELETE")
        except (OSError, urllib.error.URLError):
            pass

    # ------------------------------------------------------------------ user settings
    def set_comms_over_subshells(self, mode: str | None) -> None:
        """Write (or remove, for None) the JupyterLab user setting ``commsOverSubshells``.

        Read by the page when it loads, so call before opening the notebook.
        Values JupyterLab accepts: "disabled", "perComm", "perCommTarget" (the default).
        """
        self.write_user_setting(SUBSHELL_SETTING, None if mode is None else {"commsOverSubshells": mode})

    def write_user_setting(self, plugin: tuple[str, str], values: dict[str, Any] | None) -> None:
        """Write (or remove, for None) the user settings of ``(package, plugin)`` in the isolated dir."""
        path = self.dirs["settings"] / plugin[0] / f"{plugin[1]}.jupyterlab-settings"
        if values is None:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
