"""Field checks shared by the message classes: a missing or mistyped field → ``_FieldError``."""

from __future__ import annotations

from typing import Any

__all__ = ["_FieldError", "_get"]


class _FieldError(Exception):
    """Internal: a field is missing or of the wrong type (turned into InvalidMessage)."""


def _get(
    data: dict, key: str, kind: type | tuple[type, ...], *, required: bool = True, default: Any = None
) -> Any:
    try:
        value = data[key]
    except KeyError:
        if required:
            raise _FieldError(f"missing required field data.{key}") from None
        return default
    # bool is a subclass of int: never accept True for a number or a number for a bool
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        names = "/".join(t.__name__ for t in _as_tuple(kind))
        raise _FieldError(f"data.{key} must be {names}, got {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
