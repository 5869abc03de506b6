"""Every example notebook runs headless in a real kernel (ipykernel from this venv) and shows results.

``VATEL_NB_HEADLESS=1`` makes the notebooks use the scripted caller instead of the widget (the
quickstart, which reads as a first notebook, gets its caller cell from this file); no
``VATEL_*`` connection variables are set, so they talk to simulators on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["quickstart", "latency_study", "tools", "compare_sessions"]


#: Stands in for the reader of the quickstart (whose first cell shows the widget): a scripted
#: caller speaks generated speech to the embedded simulator's demo agent, which recognizes it.
QUICKSTART_CALLER = """
from vatel_nb.caller import ScriptedCaller, Utterance

script = [
    Utterance.say("What time is it in Tokyo?", think=0.3),
    Utterance.say("Tell me a long story.", think=0.3),
    Utterance.say("Stop!", barge_in=0.8),
]
await ScriptedCaller(session, script, reply_timeout=10, tail=0.5).run()
"""


def run(name: str, tmp_path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    if name == "quickstart":
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell(QUICKSTART_CALLER, id="test-caller"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VATEL_")}
    env["VATEL_NB_HEADLESS"] = "1"
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=env)
    return nb


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def text_of(nb: nbformat.NotebookNode) -> str:
    parts = []
    for o in outputs(nb):
        data = o.get("data", {})
        parts.append(
            str(data.get("text/plain", "")) + str(data.get("text/html", "")) + str(o.get("text", ""))
        )
    return "\n".join(parts)


def n_figures(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for o in outputs(nb))


def test_notebooks_are_stored_without_outputs():
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert all(
            not c.get("outputs") and c.get("execution_count") is None
            for c in nb.cells
            if c.cell_type == "code"
        )


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_headless(name, tmp_path):
    nb = run(name, tmp_path)
    assert not [o for o in outputs(nb) if o.get("output_type") == "error"]
    text = text_of(nb)
    assert "Traceback" not in text
    if name == "quickstart":
        assert "In Tokyo it is" in text  # recognized, get_time called with Asia/Tokyo, answered
        for metric in ("v2v_ms", "server_e2e_ms", "eou_ms", "responded", "interrupted"):
            assert metric in text
        assert "agent-initiated" in text and "interrupted" in text
        assert n_figures(nb) == 2
        assert "saved to" in text
    elif name == "latency_study":
        assert all(s in text for s in ("fast", "medium", "slow", "injected_ms"))
        error = re.search(r"max \|measured - injected\| = (\d+) ms", text)
        assert error and int(error.group(1)) < 60  # localhost transport + scheduling only
        assert n_figures(nb) == 1
    elif name == "tools":
        assert "tool-finished" in text and "get_weather" in text and "convert" in text
        assert "sunny and 21 degrees in Paris" in text and "10.8" in text
    elif name == "compare_sessions":
        assert all(s in text for s in ("snappy", "typical", "sluggish", "v2v_ms"))
        assert n_figures(nb) == 1
