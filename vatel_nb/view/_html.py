"""The call view as ONE self-contained HTML file: the view's JavaScript inlined, the timeline and
envelopes as data elements, the recording as a ``data:`` URI (WAV). It opens from disk with no
server and no network (a Content-Security-Policy forbids every fetch), so it can be attached to a
pull request or a CI run.

Size: the recording dominates — 96 kB per second of call (stereo PCM16 24 kHz), 4/3 of that in
base64, so about 7.7 MB per minute.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

from .._audio import wav_bytes
from ..widget._bundle import widget_esm
from ._data import ViewData

__all__ = ["VIEW_ENTRY", "html_text", "write_html"]

#: The view's entry module in js/src.
VIEW_ENTRY = "view.js"

_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "media-src data: blob:; img-src data:"
)


def _script_safe(text: str) -> str:
    """Text that cannot close its <script> element early."""
    return text.replace("</", "<\\/")


def html_text(data: ViewData, *, audio: bool = True) -> str:
    """The HTML document (str) of one call view (see the module doc). ``audio=False`` leaves the
    recording out (a small file: the timeline and waveforms only; the player says so)."""
    tl = data.timeline
    title = tl.get("title") or "call"
    timeline = _script_safe(json.dumps(tl, separators=(",", ":"), allow_nan=False))
    env = base64.b64encode(data.envelopes).decode("ascii")
    uri = "data:audio/wav;base64," + base64.b64encode(wav_bytes(data.stereo)).decode("ascii") if audio else ""
    module = _script_safe(widget_esm(VIEW_ENTRY))
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)} · vatel_nb call view</title>\n"
        "<style>body { margin: 16px; background: #fafafa; }</style>\n"
        "</head>\n<body>\n"
        '<div id="vatel-view"></div>\n'
        f'<script type="application/json" id="vatel-view-timeline">{timeline}</script>\n'
        f'<script type="application/octet-stream" id="vatel-view-envelopes">{env}</script>\n'
        f'<script type="text/plain" id="vatel-view-audio">{uri}</script>\n'
        f'<script type="module">\n{module}\nbootStaticPage();\n</script>\n'
        "</body>\n</html>\n"
    )


def write_html(data: ViewData, path: str | os.PathLike, *, audio: bool = True) -> Path:
    """Write :func:`html_text` to ``path`` (UTF-8); returns the path."""
    p = Path(path)
    p.write_text(html_text(data, audio=audio), encoding="utf-8")
    return p
