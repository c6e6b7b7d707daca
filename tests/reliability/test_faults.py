"""Faults a long training run meets, each provoked for real against `kedro run` on conf/test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pandas as pd
import psutil
import pytest

from lmladder.corpus.packing import read_token_file
from tests.conftest import kedro_run, outputs, runs_of, written

ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
PRETRAINING_ONLY = "data_processing,data_validation,pretraining"
LONG_PRETRAINING = "pretraining.trainer.max_steps=150,pretraining.trainer.val_check_interval=10"


def test_sigkill_mid_pretraining_then_the_same_command_resumes_and_finishes(project_copy):
    command = [sys.executable, "-m", "kedro", "run", "--env", "test", "--pipelines", PRETRAINING_ONLY, "--params", LONG_PRETRAINING]
    process = subprocess.Popen(command, cwd=project_copy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    checkpoints = outputs(project_copy) / "06_models" / "pretraining" / "checkpoints"
    deadline = time.monotonic() + 300
    while not list(checkpoints.glob("*/last.ckpt")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
    time.sleep(2)  # a few more steps past the first checkpoint
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _, runs = runs_of(project_copy)
    assert [run.info.status for run in runs] == ["RUNNING"]  # nobody closed it
    killed = runs[0].info.run_id

    result = kedro_run(project_copy, "--pipelines", PRETRAINING_ONLY, "--params", LONG_PRETRAINING)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, output[-3000:]
    assert "resuming from" in output and "of 150)" in output
    client, runs = runs_of(project_copy)
    finished = [run for run in runs if run.info.status == "FINISHED"]
    assert finished and finished[0].data.metrics["pretraining_metrics.final_step"] == 150
    # the next session marked the killed run FAILED, saying why
    killed_run = client.get_run(killed)
    assert killed_run.info.status == "FAILED"
    assert f"process {process.pid} on " in killed_run.data.tags["failure_reason"] and "ended without closing this run" in output


def test_a_diverging_run_fails_names_step_and_lr_and_registers_nothing(project_copy):
    result = kedro_run(project_copy, "--params", "pretraining.optimizer.lr=1.0e+6,pretraining.trainer.gradient_clip_val=null")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "TrainingDivergedError" in output and "training loss became" in output and " at step " in output and "learning rate" in output
    client, runs = runs_of(project_copy)
    assert [run.info.status for run in runs] == ["FAILED"]
    assert client.search_registered_models() == []


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:///{project}/pyproject.toml/under-a-file/mlflow.db",  # unwritable: its folder would be inside a file
        "http://127.0.0.1:9",  # unreachable: nothing listens on the discard port
    ],
)
def test_an_unusable_tracking_store_fails_before_any_processing(project_copy, uri, monkeypatch):
    uri = uri.format(project=project_copy)
    (project_copy / "conf" / "test" / "mlflow.yml").write_text(f"server:\n  mlflow_tracking_uri: {uri}\n")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail at once instead of backing off
    result = kedro_run(project_copy)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert f"ConfigError: MLflow tracking store {uri} is unreachable or unwritable" in output
    assert not written(outputs(project_copy))


ARROW_CORPUS_WITH_PANDAS_SPLITS = """
raw_corpus:
  type: lmladder.datasets.TextSourceDataset
  source: text_files
  path: data/01_raw/corpus
  in_memory: false
"""


@pytest.mark.parametrize(
    ("setting", "args", "message"),
    [
        ({"mlflow.yml": "tracking:\n  run:\n    nested: true\n"}, ("--pipelines", "data_processing"), "tracking.run.nested: true"),
        ({}, ("--pipelines", "model_selection", "--runner", "ParallelRunner"), "not ParallelRunner"),
        ({"catalog.yml": ARROW_CORPUS_WITH_PANDAS_SPLITS}, ("--pipelines", "data_processing"), "corpus_train and corpus_val must be"),
    ],
    ids=["nested-runs", "parallel-runner", "arrow-corpus-pandas-splits"],
)
def test_a_setting_that_would_misroute_metrics_or_data_fails_before_any_run(project_copy, setting, args, message):
    for name, text in setting.items():
        (project_copy / "conf" / "test" / name).write_text(text)
    result = kedro_run(project_copy, *args)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "ConfigError" in output and message in output, output[-3000:]
    assert runs_of(project_copy)[1] == []
    assert not written(outputs(project_copy))


def test_two_runs_at_once_take_turns_and_both_outputs_are_whole(project_copy):
    command = [sys.executable, "-m", "kedro", "run", "--env", "test", "--pipelines", "data_processing"]
    first = subprocess.Popen(command, cwd=project_copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    second = subprocess.Popen(command, cwd=project_copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    logs = [process.communicate(timeout=600)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], logs
    assert any("waiting for it to finish" in " ".join(log.split()) for log in logs)

    assert any("/data/.locks/project.lock" in "".join(log.split()) for log in logs)  # the log may wrap the path

    for split in ("train", "val"):
        tokens = read_token_file(outputs(project_copy) / "04_feature" / f"{split}_tokens.bin")  # checks size against metadata
        assert len(tokens.tokens) == tokens.metadata["token_count"] > 0
    for name in ("corpus_train", "corpus_val"):
        assert len(pd.read_parquet(outputs(project_copy) / "03_primary" / f"{name}.parquet")) > 0


def test_a_secret_parameter_is_refused_before_anything_is_logged(project_copy):
    result = kedro_run(project_copy, "--pipelines", "data_processing", "--params", "hub.hfAccessToken=hf_abc123")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "ConfigError: parameter hub.hfAccessToken looks like a secret" in output and "conf/local/credentials.yml" in output
    _, runs = runs_of(project_copy)
    assert runs == []  # no MLflow run, so the token is nowhere in the tracking store
    assert "hf_abc123" not in (project_copy / "mlflow.db").read_bytes().decode("latin-1")


def listening_addresses(process: psutil.Process) -> set[str]:
    """The addresses ``process`` and its children accept connections on."""
    addresses = set()
    for member in [process, *process.children(recursive=True)]:
        try:
            addresses |= {conn.laddr.ip for conn in member.net_connections(kind="inet") if conn.status == psutil.CONN_LISTEN}
        except psutil.NoSuchProcess:
            continue
    return addresses


@pytest.mark.slow
def test_mlflow_ui_binds_to_localhost_by_default(project_copy):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # kedro-mlflow starts `mlflow ui` by name: the venv's bin must be on PATH, as when it is activated
    env = {**ENV, "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    command = [sys.executable, "-m", "kedro", "mlflow", "ui", "--env", "test", "--port", str(port)]
    process = subprocess.Popen(
        command, cwd=project_copy, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline, addresses = time.monotonic() + 120, set()
        while not addresses and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            addresses = listening_addresses(psutil.Process(process.pid))
        assert addresses == {"127.0.0.1"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
            assert response.status == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
