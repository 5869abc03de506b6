"""The server extension really sets TCP_NODELAY on kernel websockets (checked on the server side).

A real ``jupyter server`` (vatel_nb's extension enabled by the installed config), a real kernel and
a websocket client doing comm round trips through ``/api/kernels/{id}/channels``; while the socket
is open, the extension's status endpoint reads ``getsockopt(TCP_NODELAY)`` on the accepted socket.
No timing is asserted (the effect is measured in bench/bench_e2e.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import urllib.error
from types import SimpleNamespace

import pytest
import tornado.web

from vatel_nb import _jupyter_server_ext as ext

from ._jupyter import JupyterServer
from ._kernel_ws import ECHO_TARGET_CODE, KernelChannel

STATUS = "api/vatel-nb/kernel-ws"


def _run(coro):
    """asyncio.run in a fresh thread: Playwright's sync API (browser tests in the same session)
    leaves an event loop installed in the main thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _round_trips_then_status(server: JupyterServer, n: int = 20) -> tuple[list[float], dict]:
    kid = server.api("api/kernels", method="POST", body={"name": "python3"})["id"]
    try:
        async with KernelChannel(server.url, server.token, kid) as ch:
            await ch.execute(ECHO_TARGET_CODE)
            comm_id = await ch.open_comm("vatel_echo")
            rtts = [await ch.comm_round_trip(comm_id, i) for i in range(n)]
            status = await asyncio.to_thread(server.api, STATUS)
            return rtts, {"status": status, "kernel_id": kid}
    finally:
        server.api(f"api/kernels/{kid}", method="DELETE")


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, 1), ({ext.ENV_VAR: "0"}, 0)],
    ids=["enabled", "env-disabled"],
)
def test_kernel_websocket_tcp_nodelay(tmp_path, env, expected):
    with JupyterServer("server", workdir=tmp_path, env=env) as server:
        rtts, got = _run(_round_trips_then_status(server))
        log = server.log_text()
    status = got["status"]
    assert len(rtts) == 20  # the comm path through the patched handler works
    assert status["patched"] is True and status["problem"] is None
    assert status["enabled"] is bool(expected)
    mine = [s for s in status["sockets"] if s["kernel_id"] == got["kernel_id"]]
    assert mine, f"no open kernel websocket for {got['kernel_id']} in {status}"
    assert all(s["tcp_nodelay"] == expected for s in mine), status
    assert status["counts"]["opened"] >= 1
    assert status["counts"]["nodelay_set"] == (status["counts"]["opened"] if expected else 0)
    assert log.count("vatel_nb: TCP_NODELAY on") == expected
    assert log.count("vatel_nb._jupyter_server_ext | extension was successfully loaded") == 1


def test_extension_can_be_switched_off_by_config(tmp_path):
    off = "--ServerApp.jpserver_extensions={'vatel_nb._jupyter_server_ext': False}"
    with JupyterServer("server", workdir=tmp_path, extra_args=[off]) as server:
        with pytest.raises(urllib.error.HTTPError) as err:
            server.api(STATUS)
        log = server.log_text()
    assert err.value.code == 404
    assert "vatel_nb: TCP_NODELAY" not in log


def test_patch_is_idempotent():
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

    log = logging.getLogger("test")
    ext._patch(KernelWebsocketHandler, True, log)
    wrapped = KernelWebsocketHandler.open
    assert ext._patch(KernelWebsocketHandler, True, log) is False
    assert KernelWebsocketHandler.open is wrapped
    assert not hasattr(wrapped.__wrapped__, "__wrapped__")  # wrapped exactly once


def test_missing_handler_module_logs_a_warning_and_keeps_the_server(monkeypatch, caplog):
    # Simulate a jupyter_server whose kernel websocket moved: the import fails.
    monkeypatch.setitem(sys.modules, "jupyter_server.services.kernels.websocket", None)
    monkeypatch.setattr(ext, "_state", {"patched": False, "enabled": False, "problem": None})
    app = SimpleNamespace(log=logging.getLogger("serverapp"), web_app=tornado.web.Application())
    with caplog.at_level(logging.INFO, logger="serverapp"):
        ext._load_jupyter_server_extension(app)  # must not raise
    assert ext.nodelay_status()["patched"] is False
    assert "Error" in (ext.nodelay_status()["problem"] or "")
    assert any(r.levelno == logging.WARNING and "could not patch" in r.getMessage() for r in caplog.records)
