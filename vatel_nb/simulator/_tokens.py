"""Session tokens: JWT-shaped (HS256), signed with a per-simulator secret, short-lived.

Payload claims: ``agent_id``, ``version_id`` (or ``None``), ``scopes`` (``["voice"]`` plus
``"chat"`` when asked), ``parameters`` (``first_message``, ``prompt``, ``chat_id``; each may be
``None``), ``iat`` / ``exp`` (UTC epoch seconds) and ``jti`` (random id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

__all__ = ["TokenError", "TokenSigner"]


class TokenError(Exception):
    """A token was refused: ``status`` is the HTTP status to answer (400 malformed, 401 bad/expired)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and verifies session tokens; ``ttl`` is the lifetime in seconds."""

    _HEADER = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())

    def __init__(self, ttl: float = 300.0, secret: bytes | None = None) -> None:
        self.ttl = float(ttl)
        self._secret = secret or secrets.token_bytes(32)

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest())

    def issue(
        self,
        agent_id: str,
        *,
        version_id: str | None = None,
        first_message: str | None = None,
        prompt: str | None = None,
        chat_id: str | None = None,
        chat: bool = False,
    ) -> str:
        """A signed token for ``agent_id`` valid for ``ttl`` seconds from now (wall clock)."""
        now = time.time()
        payload = {
            "iss": "vatel-nb-simulator",
            "agent_id": agent_id,
            "version_id": version_id,
            "scopes": ["voice", "chat"] if chat else ["voice"],
            "parameters": {"first_message": first_message, "prompt": prompt, "chat_id": chat_id},
            "iat": now,
            "exp": now + self.ttl,
            "jti": str(uuid.uuid4()),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = f"{self._HEADER}.{body}"
        return f"{signing_input}.{self._sign(signing_input)}"

    def verify(self, token: str | None) -> dict[str, Any]:
        """The token's payload; raises :class:`TokenError` (400 missing/malformed, 401 forged/expired)."""
        if not token:
            raise TokenError(400, "missing query parameter 'token': get one from POST /v1/session-token")
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError(400, "malformed session token (expected header.payload.signature)")
        if not hmac.compare_digest(self._sign(f"{parts[0]}.{parts[1]}"), parts[2]):
            raise TokenError(
                401, "invalid session token signature: get a new one from POST /v1/session-token"
            )
        try:
            payload = json.loads(_unb64(parts[1]))
        except ValueError:
            raise TokenError(400, "malformed session token payload") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("agent_id"), str):
            raise TokenError(400, "session token carries no agent_id")
        if float(payload.get("exp", 0)) < time.time():
            raise TokenError(
                401,
                f"session token expired (tokens live {self.ttl:g} s): get a new one (POST /v1/session-token)",
            )
        return payload
