"""The interactive call view: ``CallView(session_or_folder, call=…)`` / ``session.view()``, and its
self-contained HTML export (``view.to_html(path)``, ``vatel-nb report`` → ``call.html``)."""

import os
from pathlib import Path
from typing import Any

from ._data import TIMES, ViewData, build_view_data
from ._envelope import DEFAULT_BUCKETS, Envelope, envelope_levels
from ._html import html_text, write_html
from ._messages import VIEW_BROWSER_KINDS, VIEW_KERNEL_KINDS
from ._source import CallSource, call_title, find_session_folders, resolve_source


def __getattr__(name: str) -> type:
    # CallView imports anywidget/ipywidgets: only when asked for (headless reports skip it).
    if name == "CallView":
        from ._widget import CallView

        return CallView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def write_call_html(
    source: Any, path: str | os.PathLike, *, call: Any = None, title: str | None = None
) -> Path:
    """Write the self-contained HTML view of a session / event log / saved folder to ``path``
    without a widget (what ``vatel-nb report`` does). Returns the path."""
    src = resolve_source(source, call)
    return write_html(build_view_data(src.log, title=src.title if title is None else title), path)


__all__ = [
    "DEFAULT_BUCKETS",
    "TIMES",
    "VIEW_BROWSER_KINDS",
    "VIEW_KERNEL_KINDS",
    "CallSource",
    "CallView",
    "Envelope",
    "ViewData",
    "build_view_data",
    "call_title",
    "envelope_levels",
    "find_session_folders",
    "html_text",
    "resolve_source",
    "write_call_html",
    "write_html",
]
