"""A minimal Jupyter frontend over the server's kernel websocket (``/api/kernels/{id}/channels``).

Speaks the legacy JSON protocol (no subprotocol) with ``websockets``: execute code, open a comm,
send comm messages and wait for replies. Used to exercise the real server path without a browser.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import websockets

__all__ = ["ECHO_TARGET_CODE", "KernelChannel"]

#: Kernel code registering comm target ``vatel_echo``: every message is answered with its ``seq``.
ECHO_TARGET_CODE = r"""
def _vatel_echo_target(comm, open_msg):
    @comm.on_msg
    def _h(msg):
        comm.send({"type": "echo", "seq": msg["content"]["data"]["seq"]})
get_ipython().kernel.comm_manager.register_target("vatel_echo", _vatel_echo_target)
"""


class KernelChannel:
    """One websocket connection to a kernel through a Jupyter server (async context manager)."""

    def __init__(self, base_url: str, token: str, kernel_id: str) -> None:
        self.ws_url = base_url.replace("http://", "ws://", 1) + f"api/kernels/{kernel_id}/channels"
        self.token = token
        self.session = uuid.uuid4().hex
        self.ws: Any = None

    async def __aenter__(self) -> KernelChannel:
        self.ws = await websockets.connect(
            f"{self.ws_url}?session_id={self.session}",
            additional_headers={"Authorization": f"token {self.token}"},
            max_size=None,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()

    def _msg(self, msg_type: str, content: dict[str, Any], channel: str = "shell") -> str:
        header = {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "session": self.session,
            "username": "test",
            "date": "",
            "version": "5.3",
        }
        return json.dumps(
            {
                "channel": channel,
                "header": header,
                "parent_header": {},
                "metadata": {},
                "content": content,
                "buffers": [],
            }
        )

    async def recv(self, timeout: float = 30.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def execute(self, code: str, timeout: float = 60.0) -> list[str]:
        """Run ``code``; return its stdout/stderr stream texts. Raises RuntimeError on an error reply."""
        await self.ws.send(
            self._msg(
                "execute_request",
                {"code": code, "silent": False, "store_history": False, "user_expressions": {}},
            )
        )
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            m = await self.recv(max(0.1, deadline - time.monotonic()))
            if m["msg_type"] == "stream":
                out.append(m["content"]["text"])
            elif m["msg_type"] == "error":
                raise RuntimeError("\n".join(m["content"].get("traceback", [])) or m["content"]["evalue"])
            elif m["msg_type"] == "execute_reply":
                if m["content"].get("status") != "ok":
                    raise RuntimeError(f"execute failed: {m['content']}")
                # stream output may arrive on iopub just after the reply: drain briefly
                try:
                    while True:
                        m2 = await self.recv(0.2)
                        if m2["msg_type"] == "stream":
                            out.append(m2["content"]["text"])
                except asyncio.TimeoutError:
                    pass
                return out

    async def open_comm(self, target: str, data: dict[str, Any] | None = None) -> str:
        comm_id = uuid.uuid4().hex
        await self.ws.send(
            self._msg("comm_open", {"comm_id": comm_id, "target_name": target, "data": data or {}})
        )
        return comm_id

    async def comm_round_trip(self, comm_id: str, seq: int, timeout: float = 10.0) -> float:
        """Send ``{seq}`` to the echo comm, wait for the echo; returns the round trip in ms."""
        t0 = time.perf_counter()
        await self.ws.send(self._msg("comm_msg", {"comm_id": comm_id, "data": {"type": "ping", "seq": seq}}))
        while True:
            m = await self.recv(timeout)
            if m["msg_type"] == "comm_msg" and m["content"]["data"].get("seq") == seq:
                return (time.perf_counter() - t0) * 1000.0
