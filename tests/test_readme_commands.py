"""The README's commands on a fresh project: each pipeline of its table alone, in the table's order,
and `make ui` without an activated virtual environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import PROJECT_ROOT, kedro_run, outputs, runs_of

PIPELINES_IN_ORDER = ("data_processing", "data_validation", "pretraining", "finetuning", "evaluation")


def test_each_pipeline_runs_alone_after_the_ones_it_depends_on(project_copy):
    for name in PIPELINES_IN_ORDER:
        result = kedro_run(project_copy, "--pipelines", name)
        assert result.returncode == 0, (name, " ".join((result.stdout + result.stderr).split())[-3000:])
    _, runs = runs_of(project_copy)
    assert sorted((run.info.run_name, run.info.status) for run in runs) == sorted((name, "FINISHED") for name in PIPELINES_IN_ORDER)
    assert (outputs(project_copy) / "08_reporting" / "model_card.md").exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_ui_serves_the_mlflow_ui_without_an_activated_venv(project_copy):
    venv = Path(sys.executable).parent.parent  # the environment running the tests, as `make` would use .venv
    path = os.pathsep.join(entry for entry in os.environ["PATH"].split(os.pathsep) if Path(entry) != venv / "bin")
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"} | {"PATH": path}
    port = free_port()
    server = subprocess.Popen(
        ["make", "-f", str(PROJECT_ROOT / "Makefile"), f"VENV={venv}", "ui", f"ARGS=--port {port}"],
        cwd=project_copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline, page = time.monotonic() + 180, None
        while page is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode("utf-8", errors="replace")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(1)
        assert page is not None, server.stdout.read() if server.poll() is not None else "no answer within 180 s"
        assert "<title>MLflow</title>" in page
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
