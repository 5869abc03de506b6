"""The event-log schema: sources, clocks, row fields and the frame's columns with their dtypes."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["CLOCKS", "COLUMNS", "FIELDS", "SOURCES", "empty_frame"]

#: Allowed ``source`` values.
SOURCES: tuple[str, ...] = ("server", "client", "browser", "local")
#: Allowed ``clock`` values (where a row's timing came from): ``device`` = a kernel-side audio
#: device's own clock (PortAudio stream time, the local-audio front-end), measured like ``browser``.
CLOCKS: tuple[str, ...] = ("kernel", "browser", "modelled", "device")
#: Named row fields (keyword arguments of :meth:`EventLog.append`); any other keyword goes to ``detail``.
FIELDS: tuple[str, ...] = (
    "turn_id",
    "text",
    "is_final",
    "tool_call_id",
    "tool_name",
    "seq",
    "samples",
    "t_browser",
    "clock",
    "detail",
)
STR = pd.StringDtype()
#: Columns of :meth:`EventLog.frame` and their dtypes.
COLUMNS: dict[str, Any] = {
    "t": "float64",
    "wall": "datetime64[ns, UTC]",
    "source": "category",
    "type": "category",
    "turn_id": STR,
    "text": STR,
    "is_final": "boolean",
    "tool_call_id": STR,
    "tool_name": STR,
    "seq": "Int64",
    "samples": "Int64",
    "t_browser": "float64",
    "t_mapped": "float64",
    "clock": "category",
    "detail": "object",
}


def empty_frame() -> pd.DataFrame:
    """An empty events frame with the right columns and dtypes."""
    out = {}
    for name, dtype in COLUMNS.items():
        if dtype == "category":
            cats = SOURCES if name == "source" else CLOCKS if name == "clock" else []
            out[name] = pd.Categorical([], categories=list(cats))
        else:
            out[name] = pd.Series([], dtype=dtype)
    return pd.DataFrame(out)
