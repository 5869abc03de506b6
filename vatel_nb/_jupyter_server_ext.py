"""Jupyter server extension: turn on TCP_NODELAY for kernel websockets.

jupyter_server's kernel websocket (tornado) leaves Nagle's algorithm on. Small comm messages (a
20 ms audio chunk, a ping) then wait for the peer's delayed ACK: ≈44 ms added to every round trip
between the page and the kernel (measured; see docs). This extension patches
``jupyter_server.services.kernels.websocket.KernelWebsocketHandler.open`` once so that every kernel
websocket calls ``set_nodelay(True)`` as it opens.

It is enabled automatically when vatel_nb is installed
(``etc/jupyter/jupyter_server_config.d/vatel_nb.json``). To switch it off:

- per server: ``jupyter lab --ServerApp.jpserver_extensions="{'vatel_nb._jupyter_server_ext': False}"``
  (the standard Jupyter way; the patch is not applied at all), or
- per environment: ``VATEL_NB_KERNEL_WS_NODELAY=0`` (the extension loads, leaves the socket option
  alone and says so in the status endpoint; the bench uses this as its baseline).

It also serves ``GET /api/vatel-nb/kernel-ws`` (authenticated like the rest of ``/api``): whether
the patch is active and, for every open kernel websocket, the socket's actual ``TCP_NODELAY``
value read with ``getsockopt`` — so a test can check the option on the server side.

This module imports only jupyter_server / tornado / stdlib: it runs inside the server process.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import socket
import weakref
from typing import Any

__all__ = ["ENV_VAR", "STATUS_PATH", "nodelay_status"]

#: Environment variable: ``0`` / ``false`` / ``no`` / ``off`` leaves TCP_NODELAY off (baseline runs).
ENV_VAR = "VATEL_NB_KERNEL_WS_NODELAY"
#: URL path (under the server's base_url) of the status endpoint.
STATUS_PATH = "api/vatel-nb/kernel-ws"

_MARK = "_vatel_nb_nodelay_patched"
_handlers: weakref.WeakSet[Any] = weakref.WeakSet()
_counts = {"opened": 0, "nodelay_set": 0, "errors": 0}
_state: dict[str, Any] = {"patched": False, "enabled": False, "problem": None}


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "vatel_nb._jupyter_server_ext"}]


def _enabled_by_env() -> bool:
    return os.environ.get(ENV_VAR, "1").strip().lower() not in {"0", "false", "no", "off"}


def _handler_socket(handler: Any) -> socket.socket | None:
    """The accepted TCP socket under an open websocket handler, or None if it is gone."""
    conn = getattr(handler, "ws_connection", None)
    stream = getattr(conn, "stream", None)
    sock = getattr(stream, "socket", None)
    return sock if isinstance(sock, socket.socket) else None


def _read_nodelay(handler: Any) -> int | None:
    sock = _handler_socket(handler)
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    try:
        return int(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0)
    except OSError:
        return None


def nodelay_status() -> dict[str, Any]:
    """What the extension did in this server process (JSON-able).

    ``patched``: the handler's ``open`` is wrapped; ``enabled``: the wrapper sets TCP_NODELAY (False
    when ``VATEL_NB_KERNEL_WS_NODELAY=0``); ``counts``: kernel websockets opened / set; ``sockets``:
    one entry per open kernel websocket with ``kernel_id`` and ``tcp_nodelay`` (0/1, read now from the
    socket with ``getsockopt``; None if the socket is closed or not TCP).
    """
    sockets = [
        {"kernel_id": getattr(h, "kernel_id", None), "tcp_nodelay": _read_nodelay(h)} for h in list(_handlers)
    ]
    return {**_state, "counts": dict(_counts), "sockets": sockets}


def _patch(handler_cls: type, enabled: bool, log: Any) -> bool:
    """Wrap ``handler_cls.open`` once (idempotent). Returns True if it was patched by this call."""
    if getattr(handler_cls, _MARK, False):
        return False
    original = handler_cls.open

    @functools.wraps(original)
    async def open(self: Any, *args: Any, **kwargs: Any) -> Any:
        _counts["opened"] += 1
        _handlers.add(self)
        if _state["enabled"]:
            try:
                self.set_nodelay(True)
                _counts["nodelay_set"] += 1
            except Exception as exc:  # never break the kernel connection over a socket option
                _counts["errors"] += 1
                log.warning("vatel_nb: could not set TCP_NODELAY on a kernel websocket: %r", exc)
        result = original(self, *args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    handler_cls.open = open  # type: ignore[method-assign]
    setattr(handler_cls, _MARK, True)
    return True


def _status_handler_class() -> type:
    from jupyter_server.base.handlers import APIHandler
    from tornado import web

    class _NodelayStatusHandler(APIHandler):
        @web.authenticated
        def get(self) -> None:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(nodelay_status()))

    return _NodelayStatusHandler


def _load_jupyter_server_extension(serverapp: Any) -> None:
    log = serverapp.log
    _state["enabled"] = _enabled_by_env()
    try:
        from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

        if _patch(KernelWebsocketHandler, _state["enabled"], log) or getattr(
            KernelWebsocketHandler, _MARK, False
        ):
            _state["patched"] = True
        if _state["enabled"]:
            log.info("vatel_nb: TCP_NODELAY on for kernel websockets (saves ≈40 ms per small comm message)")
        else:
            log.info("vatel_nb: %s=0, leaving TCP_NODELAY off on kernel websockets", ENV_VAR)
    except Exception as exc:  # the import path or the class changed: keep the server running
        _state["problem"] = repr(exc)
        log.warning(
            "vatel_nb: could not patch the kernel websocket for TCP_NODELAY (%r); comm round trips "
            "may be ≈40 ms slower. Please report this with your jupyter_server version.",
            exc,
        )
    try:
        from jupyter_server.utils import url_path_join

        web_app = serverapp.web_app
        route = url_path_join(web_app.settings.get("base_url", "/"), STATUS_PATH)
        web_app.add_handlers(".*$", [(route, _status_handler_class())])
    except Exception as exc:
        log.warning("vatel_nb: status endpoint %s not available (%r)", STATUS_PATH, exc)
