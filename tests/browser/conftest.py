"""Fixtures for the browser suite: Debian chromium (fake mic), JupyterLab / Notebook 7 servers.

Chromium missing is an error, never a skip: the message says `apt-get install chromium`.
Screenshots and logs go to ``artifacts/browser/`` at the repository root (gitignored).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ._chromium import NotebookPage, find_chromium, launch
from ._fake_mic import Script, write_wav
from ._jupyter import JupyterServer

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"
EXPOSE_APP = {
    "lab": "--LabApp.expose_app_in_browser=True",
    "notebook": "--JupyterNotebookApp.expose_app_in_browser=True",
}


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# Module scope, not session: Playwright's sync API runs an event loop in the main thread while it
# is started, and every later test that calls asyncio.run() would fail ("cannot be called from a
# running event loop"). Stopping it after each browser module keeps the rest of the suite clean.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Any]:
    find_chromium()  # fail fast, with the install hint, before starting anything else
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="module")
def browser_for(playwright_driver: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable]:
    """``browser_for(name, script)``: a chromium whose microphone loops ``script`` (one per name)."""
    browsers: dict[str, Any] = {}
    wav_dir = tmp_path_factory.mktemp("fake-mic")

    def get(name: str, script: Script) -> Any:
        if name not in browsers:
            wav = write_wav(script, wav_dir / f"{name}.wav")
            browsers[name] = launch(playwright_driver, wav)
        return browsers[name]

    yield get
    for b in browsers.values():
        b.close()


@pytest.fixture(scope="module", params=["lab", "notebook"])
def jupyter(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServer]:
    """A JupyterLab or Notebook 7 server (module-scoped), isolated dirs, app exposed as window.jupyterapp."""
    app = request.param
    server = JupyterServer(
        app, workdir=tmp_path_factory.mktemp(f"jupyter-{app}"), extra_args=[EXPOSE_APP[app]]
    )
    server.start()
    yield server
    server.shutdown_kernels()
    server.stop()
    if ARTIFACTS.exists():
        shutil.copy(server.log_path, ARTIFACTS / server.log_path.name)


@pytest.fixture
def notebook_page(request: pytest.FixtureRequest, artifacts: Path) -> Iterator[Callable[..., NotebookPage]]:
    """``notebook_page(browser, server, notebook)`` → an opened page; closed (kernels shut) after the test."""
    pages: list[tuple[NotebookPage, Any]] = []

    def make(browser: Any, server: JupyterServer, notebook: str) -> NotebookPage:
        page = NotebookPage(browser, server, notebook, artifacts)
        pages.append((page, server))
        page.open()
        return page

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for page, server in pages:
        if failed:
            page.screenshot("failed-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name))
        page.close()
        server.shutdown_kernels()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep
