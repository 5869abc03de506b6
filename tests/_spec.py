"""Validate JSON against Vatel's openapi.json (a copy in tests/spec/, so tests do not read /work/shared).

``validate("Agent", obj)`` raises ``jsonschema.ValidationError`` with the failing path;
``validate_server_message`` / ``validate_client_message`` pick the wire schema by ``type``;
``validate_response(method, path, status, obj)`` checks an answer body against the operation's
documented JSON schema. OpenAPI 3.0 schemas are checked as JSON Schema draft 7.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

SPEC_PATH = Path(__file__).parent / "spec" / "openapi.json"
SPEC: dict[str, Any] = json.loads(SPEC_PATH.read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

SERVER_MESSAGE = "VoiceSessionServerMessage"
CLIENT_SCHEMAS = {
    "input_audio": "VoiceSessionClientInputAudioMessage",
    "tool_call_output": "VoiceSessionClientToolCallOutputMessage",
}


@cache
def _validator_for(schema_json: str) -> Draft7Validator:
    schema = json.loads(schema_json)
    return Draft7Validator({**schema, "components": SPEC["components"]})


def validator(schema_name: str) -> Draft7Validator:
    """A validator for ``#/components/schemas/<schema_name>``."""
    if schema_name not in SCHEMAS:
        raise KeyError(f"no schema {schema_name!r} in {SPEC_PATH.name}")
    return _validator_for(json.dumps({"$ref": f"#/components/schemas/{schema_name}"}))


def validate(schema_name: str, obj: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``obj`` matches the named component schema."""
    validator(schema_name).validate(obj)


def is_valid(schema_name: str, obj: Any) -> bool:
    return validator(schema_name).is_valid(obj)


#: The field-less server types, which the real service sends with ``data: null`` (or no data).
EMPTY_TYPES = ("speech_stopped", "interruption", "session_ended")


def validate_server_message(obj: Any, profile: str = "spec") -> None:
    """A server → client wire object (``{"type", "data"}``) must match VoiceSessionServerMessage.

    ``profile="vendor"`` also accepts the real service's documented deviation (docs/compatibility.md):
    ``data: null`` on the field-less types — and nothing else beyond the spec.
    """
    if profile == "vendor" and isinstance(obj, dict) and obj.get("type") in EMPTY_TYPES:
        if set(obj) == {"type", "data"} and obj["data"] is None:
            return
    validate(SERVER_MESSAGE, obj)


def validate_client_message(obj: Any) -> None:
    """A client → server wire object must match the client schema for its ``type``."""
    mtype = obj.get("type") if isinstance(obj, dict) else None
    if mtype not in CLIENT_SCHEMAS:
        raise ValueError(f"not a client message type: {mtype!r}")
    validate(CLIENT_SCHEMAS[mtype], obj)


def _operation(method: str, path: str) -> dict[str, Any]:
    for template, ops in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return ops[method.lower()]
    raise KeyError(f"{method} {path} is not in {SPEC_PATH.name}")


def response_schema(method: str, path: str, status: int) -> dict[str, Any] | None:
    """The JSON schema documented for ``method path`` answering ``status`` (None if not JSON)."""
    resp = _operation(method, path)["responses"].get(str(status))
    if resp is None:
        raise KeyError(f"{method} {path} does not document status {status}")
    content = resp.get("content", {}).get("application/json")
    return None if content is None else content["schema"]


def validate_response(method: str, path: str, status: int, obj: Any) -> None:
    """Check a response body against the operation's documented JSON schema."""
    schema = response_schema(method, path, status)
    if schema is None:
        raise ValueError(f"{method} {path} {status} has no JSON schema")
    _validator_for(json.dumps(schema, sort_keys=True)).validate(obj)


def validate_request_body(method: str, path: str, obj: Any) -> None:
    """Check a JSON request body against the operation's documented schema."""
    schema = _operation(method, path)["requestBody"]["content"]["application/json"]["schema"]
    _validator_for(json.dumps(schema, sort_keys=True)).validate(obj)
