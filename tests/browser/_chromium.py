"""Drive Debian chromium (``/usr/bin/chromium``) with Python playwright, fake mic from a WAV.

Never ``playwright install``: the browser is the distribution's package. If it is missing, the
error says to ``apt-get install chromium``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "ChromiumMissing", "NotebookPage", "chromium_args", "find_chromium", "launch"]

CHROMIUM = os.environ.get("VATEL_NB_CHROMIUM", "/usr/bin/chromium")


class ChromiumMissing(RuntimeError):
    """No chromium binary: the browser tests cannot run."""


def find_chromium() -> str:
    """Path of the chromium executable, or raise :class:`ChromiumMissing` saying how to install it."""
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        raise ChromiumMissing(
            f"Debian chromium not found at {CHROMIUM}: the browser tests need it. Install it with "
            "`apt-get update && apt-get install -y chromium` (do not use `playwright install`), "
            "or point VATEL_NB_CHROMIUM at a chromium binary."
        )
    return path


def chromium_args(fake_mic_wav: Path | str) -> list[str]:
    """Flags: fake media device + permission, the WAV as microphone, autoplay without a gesture."""
    return [
        "--no-sandbox",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={fake_mic_wav}",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-gpu",
        "--disable-dev-shm-usage",
    ]


def launch(playwright: Any, fake_mic_wav: Path | str) -> Any:
    """A headless chromium Browser whose microphone plays ``fake_mic_wav`` (looped by chromium)."""
    return playwright.chromium.launch(
        executable_path=find_chromium(), headless=True, args=chromium_args(fake_mic_wav)
    )


class NotebookPage:
    """One browser page showing one notebook of a :class:`JupyterServer` (lab or notebook 7)."""

    def __init__(self, browser: Any, server: Any, notebook: str, artifacts: Path) -> None:
        self.server = server
        self.notebook = notebook
        self.artifacts = artifacts
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"PAGEERROR: {e}"))

    def open(self, timeout_s: float = 90.0) -> None:
        """Load the notebook and wait until its kernel is idle and connected."""
        self.page.goto(self.server.page_url(self.notebook))
        # Lab restores the notebooks earlier tests opened on this server as background tabs, whose
        # cells are hidden: wait for a cell of the notebook in view
        self.page.locator(".jp-Notebook .jp-Cell >> visible=true").first.wait_for(timeout=timeout_s * 1000)
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout_s * 1000)
        self.server.wait_kernel_idle(self.notebook, timeout_s)

    def run_all(self) -> None:
        """Run All Cells (the app command behind the Run menu's "Run All Cells"). Returns at once
        (the command's promise, which resolves when every cell has run, is not awaited)."""
        self.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    def wait_for(
        self, what: str, check: Callable[[], Any], timeout_s: float = 90.0, interval_s: float = 0.1
    ) -> Any:
        """Poll ``check()`` until truthy; fail with the server log and console tail on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.server.check_alive()
            value = check()
            if value:
                return value
            self.page.wait_for_timeout(interval_s * 1000)
        shot = self.screenshot(f"timeout-{what.replace(' ', '-')}")
        raise TimeoutError(
            f"timed out after {timeout_s:.0f} s waiting for {what}; screenshot {shot}\n"
            f"--- cell outputs:\n{self.outputs_text()[-3000:]}\n--- console:\n"
            + "\n".join(self.console[-25:])
            + f"\n--- server log:\n{self.server.log_tail(25)}"
        )

    def wait_for_file(self, path: Path, timeout_s: float = 90.0) -> dict[str, Any]:
        """Wait for the notebook to write JSON to ``path`` (written atomically by the notebook)."""
        self.wait_for(f"result file {path.name}", path.exists, timeout_s)
        return json.loads(path.read_text())

    def force_comms_over_subshells(self, mode: str) -> bool:
        """Set the kernel manager's ``commsOverSubshells`` (propagates to open kernels and comms).

        What JupyterLab's ``@jupyterlab/apputils-extension:subshell-settings`` plugin does with the
        user setting; Notebook 7.6 does not ship that plugin, so there the setting has no effect.
        Returns True if the mode had to be changed."""
        return self.page.evaluate(
            """(mode) => { const k = window.jupyterapp.serviceManager.kernels;
                           if (k.commsOverSubshells === mode) return false;
                           k.commsOverSubshells = mode; return true; }""",
            mode,
        )

    def kernel_info(self) -> dict[str, Any]:
        """From the page: does the kernel support subshells, the comms-over-subshells mode in force,
        and the subshell id each open comm uses (None = main shell)."""
        return self.page.evaluate(
            """() => {
              const w = window.jupyterapp.shell.currentWidget;
              const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
              if (!k) return {kernel: false};
              const comms = [...(k._comms || new Map()).values()];
              return {kernel: true, supports_subshells: k.supportsSubshells,
                      comms_over_subshells: k.commsOverSubshells,
                      comm_subshells: comms.map(c => c.subshellId === undefined ? null : c.subshellId)};
            }"""
        )

    def widget_models(self) -> list[dict[str, Any]]:
        """Every ipywidgets model the page holds, as ``{id, name, attrs}`` with ``attrs`` =
        ``model.get(k)`` for every key (what any JS on the page can read)."""
        return self.page.evaluate(
            """async () => {
              const managers = new Set(); const seen = new Set();
              const visit = async (w) => {
                if (!w || seen.has(w)) return; seen.add(w);
                if (w._manager && w._manager.promise) managers.add(await w._manager.promise);
                let kids = [];
                try { kids = [...w.children()]; } catch (e) {}
                for (const c of kids) await visit(c);
              };
              await visit(window.jupyterapp.shell);
              const out = [];
              for (const m of managers) {
                const models = m._models instanceof Map
                  ? [...m._models.entries()] : Object.entries(m._models || {});
                for (const [id, p] of models) {
                  const model = await p; const attrs = {};
                  for (const k of Object.keys(model.attributes || {})) {
                    const v = model.get(k);
                    try { attrs[k] = JSON.parse(JSON.stringify(v === undefined ? null : v)); }
                    catch (e) { attrs[k] = String(v); }
                  }
                  out.push({ id, name: model.name, attrs });
                }
              }
              return out;
            }"""
        )

    def outputs_text(self) -> str:
        try:
            return "\n".join(self.page.locator(".jp-OutputArea-output").all_inner_texts())
        except Exception as exc:  # page gone
            return f"(no outputs: {exc!r})"

    def screenshot(self, name: str) -> Path:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        try:
            self.page.screenshot(path=str(path))
        except Exception:
            pass
        return path

    def close(self) -> None:
        try:
            self.context.close()
        except Exception:
            pass
