"""Generate the notebooks the browser tests open (nbformat v4, python3 kernel).

Each notebook writes its results as JSON to a path given at generation time (atomically: a temp
file then rename), so the test reads kernel-side facts without scraping the page.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = ["calls_notebook", "conversation_notebook", "probe_notebook", "write_notebook"]

HERE = Path(__file__).resolve().parent


def write_notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def probe_notebook(path: Path, result: Path, capture_s: float) -> Path:
    """Plumbing notebook: the probe widget captures ``capture_s`` of fake mic, plays a 0.5 s tone
    (turn ``t1``), then a 2 s tone interrupted after 0.4 s (turn ``t2``), and dumps everything."""
    return write_notebook(
        path,
        [
            f"import sys\nsys.path.insert(0, {str(HERE)!r})\n"
            "import asyncio, numpy as np\n"
            "from _probe_widget import ProbeWidget\n"
            "w = ProbeWidget()\nw",
            # `await asyncio.sleep` keeps comms flowing while the cell runs (ipykernel ≥ 7.4)
            "async def until(cond, timeout):\n"
            "    for _ in range(int(timeout / 0.05)):\n"
            "        if cond():\n            return True\n"
            "        await asyncio.sleep(0.05)\n"
            "    raise TimeoutError('probe: condition not met')\n"
            "def events(kind, event=None):\n"
            "    return [e for e in w.envelopes\n"
            "            if e['kind'] == kind and (event is None or e.get('event') == event)]\n"
            "await until(lambda: events('ready') or events('status'), 30)\n"
            f"await until(lambda: w.seconds_captured() >= {capture_s}, {capture_s + 30})\n"
            "t = np.arange(12000) / 24000\n"
            "w.play('t1', (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype('<i2'))\n"
            "await until(lambda: events('playback', 'stopped'), 10)\n"
            "t = np.arange(48000) / 24000\n"
            "w.play('t2', (0.3 * 32767 * np.sin(2 * np.pi * 660 * t)).astype('<i2'))\n"
            "await until(lambda: len(events('playback', 'started')) >= 2, 10)\n"
            "await asyncio.sleep(0.4)\n"
            "w.interrupt('t2')\n"
            "await until(lambda: events('playback', 'flushed'), 10)\n"
            f"w.dump({str(result)!r})\n"
            "print('probe done', w.seconds_captured(), 's captured')",
        ],
    )


def conversation_notebook(
    path: Path,
    result: Path,
    script: list[str],
    replies: list[str],
    timeout_s: float,
    *,
    replies_expected: int | None = None,
    options: str = "",
) -> Path:
    """The real thing: ``VatelSession(...).widget()`` against an embedded simulator whose scripted
    agent answers user turn ``n`` with ``replies[n]``; the widget starts on render. The second cell
    waits for the replies to be played (or flushed), ends the call and writes ``result``.
    ``options``: extra keyword arguments for ``start_call``, as Python source (e.g. ``voice="synthetic"``)."""
    expected = len(replies) if replies_expected is None else replies_expected
    return write_notebook(
        path,
        [
            f"import sys\nsys.path.insert(0, {str(HERE)!r})\n"
            "from _conversation_kernel import start_call, finish_call\n"
            f"session, sim, w = start_call({script!r}, {replies!r}{', ' + options if options else ''})\n"
            "w",
            f"await finish_call(session, sim, w, {str(result)!r}, replies_expected={expected}, "
            f"timeout_s={timeout_s})",
        ],
    )


def calls_notebook(
    path: Path, result: Path, script: list[str], replies: list[str], *, calls: int, timeout_s: float
) -> Path:
    """One session, one widget that does not start on its own: the test clicks Start … End
    ``calls`` times; the second cell waits for that and writes ``result``."""
    return write_notebook(
        path,
        [
            f"import sys\nsys.path.insert(0, {str(HERE)!r})\n"
            "from _conversation_kernel import start_call, finish_calls\n"
            f"session, sim, w = start_call({script!r}, {replies!r}, autostart=False)\n"
            "w",
            f"await finish_calls(session, sim, {str(result)!r}, calls={calls}, timeout_s={timeout_s})",
        ],
    )
