"""`vatel-nb demo | call | report` as subprocesses, against the embedded simulator or a
`vatel-nb simulator` subprocess (real servers on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vatel_nb.cli._outputs import REPORT_FILES
from vatel_nb.simulator import DEMO_AGENT_ID

# the session's calls apart: calls.json and one folder per call (a scripted call is one call)
SESSION_FILES = (
    "calls.json",
    *(f"call-1/{n}" for n in ("meta.json", "events.jsonl", "user.wav", "agent.wav", "clock.jsonl")),
)
REPO = Path(__file__).resolve().parents[1]
VATEL_NB = str(Path(sys.executable).parent / "vatel-nb")  # the installed entry point


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("VATEL_")}


def cli(*args: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VATEL_NB, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(),
        cwd=cwd,
    )


def one_sentence_error(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, p.stderr
    return lines[0]


@contextlib.contextmanager
def simulator_subprocess(*args: str):
    """`vatel-nb simulator ARGS` in a subprocess: (base_url, api_key); stopped with SIGINT."""
    proc = subprocess.Popen(
        [VATEL_NB, "simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        api_key = proc.stdout.readline().split(":", 1)[1].strip()
        assert base_url.startswith("http://127.0.0.1:"), proc.stderr
        yield base_url, api_key
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def simulator_process():
    """`vatel-nb simulator` in a subprocess: (base_url, api_key)."""
    with simulator_subprocess() as started:
        yield started


@pytest.mark.slow
def test_demo_headless_writes_a_session_folder_and_report_reads_it_back(tmp_path):
    out = tmp_path / "demo"
    p = cli("demo", "--headless", "--out", str(out))
    assert p.returncode == 0, p.stderr
    for name in (*SESSION_FILES, *REPORT_FILES):
        assert (out / name).stat().st_size > 0, name
    # progress on stderr, a line per utterance; the summary on stdout
    assert sum(line.startswith("user ") for line in p.stderr.splitlines()) == 4
    assert "v2v_ms" in p.stdout and "interrupted" in p.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["turns"]["value"] == 4 and summary["interrupted"]["value"] == 1
    assert summary["tool_ms"]["n"] == 1 and summary["v2v_ms"]["n"] >= 3
    assert summary["v2v_ms"]["p50"] >= summary["server_e2e_ms"]["p50"]
    # the report command reads the folder back and rewrites the plots and summary
    (out / "chronogram.png").unlink()
    (out / "summary.json").unlink()
    r = cli("report", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "chronogram.png").stat().st_size > 0
    assert json.loads((out / "summary.json").read_text()) == summary
    assert "v2v_ms" in r.stdout and p.stdout.splitlines()[1] == r.stdout.splitlines()[1]


@pytest.mark.slow
def test_call_against_a_simulator_process(simulator_process, tmp_path):
    base_url, api_key = simulator_process
    out = tmp_path / "call"
    args = ["call", "--base-url", base_url, "--api-key", api_key, "--agent-id", DEMO_AGENT_ID]
    p = cli(*args, "--say", "hello there", "--say", "goodbye", "--think", "0.2", "--out", str(out))
    assert p.returncode == 0, p.stderr
    for name in (*SESSION_FILES, *REPORT_FILES):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    # (the subprocess simulator recognizes speech with pocketsphinx: segments may split, not merge)
    assert summary["turns"]["value"] >= 2 and summary["responded"]["value"] >= 1
    meta = json.loads((out / "call-1" / "meta.json").read_text())
    assert meta["meta"]["frontend"]["kind"] == "headless scripted caller"
    # a wrong key: one sentence, exit ≠ 0, nothing written
    bad = tmp_path / "bad"
    p = cli(
        "call", "--base-url", base_url, "--api-key", "wrong", "--agent-id", DEMO_AGENT_ID, "--out", str(bad)
    )
    assert "HTTP 401" in one_sentence_error(p)
    assert not bad.exists()
    unknown = ["--agent-id", "00000000-0000-4000-8000-000000000000"]
    p = cli("call", "--base-url", base_url, "--api-key", api_key, *unknown, "--out", str(bad))
    assert "HTTP 404" in one_sentence_error(p) and not bad.exists()
    # an existing folder is not overwritten
    p = cli(*args, "--out", str(out))
    assert "already holds files" in one_sentence_error(p)


def test_error_paths_are_one_sentence(tmp_path):
    refused = ["--base-url", "http://127.0.0.1:9", "--api-key", "k", "--agent-id", DEMO_AGENT_ID]
    assert "could not reach" in one_sentence_error(cli("call", *refused, "--out", str(tmp_path / "a")))
    assert "--agent-id" in one_sentence_error(cli("call", "--api-key", "k", "--out", str(tmp_path / "b")))
    missing_wav = cli("call", "--wav", str(tmp_path / "nope.wav"), "--out", str(tmp_path / "c"))
    assert "nope.wav" in one_sentence_error(missing_wav)
    assert "not a folder" in one_sentence_error(cli("report", str(tmp_path / "missing")))
    assert "meta.json" in one_sentence_error(cli("report", str(tmp_path)))


@pytest.mark.slow
def test_demo_serves_jupyterlab_and_stops_cleanly_on_sigint(tmp_path):
    proc = subprocess.Popen(
        [VATEL_NB, "demo", "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(
            env(),
            JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
            JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        ),
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and "/lab/tree/quickstart.ipynb?token=" in url
        root, token = url.split("/lab/")[0], url.split("token=")[1]
        status = httpx.get(f"{root}/api/status", params={"token": token}, timeout=10)
        assert status.status_code == 200 and "started" in status.json()
        assert httpx.get(f"{root}/api/status", timeout=10).status_code == 403  # the token is required
        classic = httpx.get(f"{root}/notebooks/quickstart.ipynb", params={"token": token}, timeout=30)
        assert classic.status_code == 200  # Notebook 7 is installed and served by the same server
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and err.rstrip().endswith("vatel-nb demo: stopped")
    assert f"{root}/notebooks/quickstart.ipynb?token=" in err
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{root}/api/status", timeout=1)
        except httpx.HTTPError:
            break  # JupyterLab is gone too
        time.sleep(0.2)
    else:
        pytest.fail("JupyterLab still answers after the demo stopped")


@pytest.mark.parametrize("profile, status", [("vendor", 200), ("spec", 400)])
def test_simulator_profile_flag(profile, status):
    """`--profile spec` serves openapi.json to the letter: the vendor SDK's explicit nulls get 400."""
    with simulator_subprocess("--profile", profile) as (base_url, api_key):
        body = {"agent_id": DEMO_AGENT_ID, "version_id": None, "chat_id": None, "first_message": None}
        r = httpx.post(
            f"{base_url}/v1/session-token", json=body, headers={"Authorization": f"Bearer {api_key}"}
        )
        assert r.status_code == status, r.text
