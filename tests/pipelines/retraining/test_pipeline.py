"""Scheduled retraining against the real SQLite registry, as a user schedules it: one scenario of real
`kedro retrain` runs on conf/test, in order: a plain `kedro run` of the pipeline is refused; the
first retraining promotes; unchanged inputs skip; a held lock refuses; changed inputs retrain; then,
from the project's own pretrained model (`retraining.train: finetune`, the default), a worse
challenger is rejected and a failure leaves the champion alone."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from filelock import FileLock
from mlflow import MlflowClient

from lmladder.pipelines.retraining import create_pipeline
from lmladder.tracking.orphans import PID_TAG as OWNER_PID_TAG
from tests.conftest import PLAIN_LOGGING, copy_project, kedro_run, outputs

ENV = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
MODEL = "lmladder-classifier-test"  # one registered model per environment


def retrain(project, params: str = ""):
    """`kedro retrain --env test [--params ...]`; its output on one line, the newest MLflow run and a client."""
    variables = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "KEDRO_LOGGING_CONFIG": str(PLAIN_LOGGING)}
    command = [sys.executable, "-m", "kedro", "retrain", "--env", "test", *(["--params", params] if params else [])]
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, env=variables, timeout=900)
    output = " ".join((result.stdout + result.stderr).split())
    client = MlflowClient(tracking_uri=f"sqlite:///{project}/mlflow.db")
    return result, output, newest_run(client), client


def newest_run(client):
    experiment = client.get_experiment_by_name("lmladder")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1) if experiment else []
    return runs[0] if runs else None


def owned_and_running(run, other_than: str) -> bool:
    """Whether the run is a new one, RUNNING and already tagged with the process that owns it."""
    return run.info.run_id != other_than and run.info.status == "RUNNING" and OWNER_PID_TAG in run.data.tags


def champion(client) -> str:
    return str(client.get_model_version_by_alias(MODEL, "champion").version)


def versions(client) -> int:
    return len(client.search_model_versions(f"name = '{MODEL}'"))


def champion_files(client) -> dict[str, str]:
    """The champion's registered artifacts, each file's sha256 by its path."""
    version = client.get_model_version_by_alias(MODEL, "champion").version
    folder = Path(url2pathname(urlparse(client.get_model_version_download_uri(MODEL, version)).path))
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.rglob("*") if path.is_file()}


def test_retraining_scenario(tmp_path):
    project = copy_project(tmp_path)

    # `kedro run --pipelines retraining` would train without deciding: refused before any MLflow run
    result = kedro_run(project, "--pipelines", "retraining")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0 and "ConfigError: the retraining pipeline runs through `kedro retrain`" in output
    assert newest_run(MlflowClient(tracking_uri=f"sqlite:///{project}/mlflow.db")) is None

    # the first retraining (conf/test: train: pretrain) promotes
    result, output, run, client = retrain(project)
    assert result.returncode == 0, output[-3000:]
    assert "Retraining decision: promoted (no champion yet" in output
    assert run.info.status == "FINISHED" and run.data.tags["decision"] == "promoted"
    assert run.data.tags["kedro_pipelines"] == "retraining_pretrain"
    assert champion(client) == "1"
    version = client.get_model_version(MODEL, "1")
    assert version.tags["decision"] == "promoted"
    assert version.tags["retraining_fingerprint"] == run.data.tags["retraining_fingerprint"]
    assert not (outputs(project) / "06_models" / "classifier").exists()  # the challenger lives under retraining/
    assert (outputs(project) / "06_models" / "retraining" / "challenger" / "model.safetensors").exists()

    # unchanged inputs: nothing is trained
    result, output, run, client = retrain(project)
    assert result.returncode == 0, output[-3000:]
    assert "up to date: champion v1 was trained on this data" in output
    assert "pretrain_model" not in output and "finetune_classifier" not in output
    assert run.info.status == "FINISHED" and run.data.tags["decision"] == "skipped"
    assert versions(client) == 1 and champion(client) == "1"

    # another retraining holds its locks: this one does nothing, says so, and does not wait for it
    with FileLock(outputs(project) / ".retraining.lock"), FileLock(project / "data" / ".locks" / "project.lock"):
        result, output, run, client = retrain(project, "retraining.force=true")
    assert result.returncode == 0, output[-3000:]
    assert "another retraining is running" in output
    assert run.data.tags["decision"] == "refused"
    assert versions(client) == 1

    # a retraining killed (SIGKILL) once its MLflow run is open leaves it RUNNING; the next one marks it FAILED
    command = [sys.executable, "-m", "kedro", "retrain", "--env", "test", "--params", "retraining.force=true"]
    killed = subprocess.Popen(command, cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline, skipped = time.monotonic() + 300, run.info.run_id
    # wait for the owner tags too: kedro-mlflow opens the run a moment before the project's hook tags it,
    # and a run killed in between names no process the next session could check
    while not owned_and_running(newest_run(client), skipped) and time.monotonic() < deadline:
        assert killed.poll() is None, "the retraining ended before it could be killed"
        time.sleep(0.2)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    killed_run = newest_run(client).info.run_id
    assert client.get_run(killed_run).info.status == "RUNNING"

    # changed inputs retrain
    result, output, run, client = retrain(project, "data_processing.cleaning.min_chars=45")
    assert result.returncode == 0, output[-3000:]
    assert client.get_run(killed_run).info.status == "FAILED"
    assert f"process {killed.pid} on " in client.get_run(killed_run).data.tags["failure_reason"]
    assert run.data.tags["decision"] in {"promoted", "rejected"}
    assert versions(client) == 2
    assert str(client.get_model_version_by_alias(MODEL, "challenger").version) == "2"
    assert champion(client) == ("2" if run.data.tags["decision"] == "promoted" else "1")

    # the default mode fine-tunes the project's pretrained model: pretrain one, then retrain from it
    pretrained = kedro_run(project, "--pipelines", "data_processing,data_validation,pretraining")
    assert pretrained.returncode == 0, pretrained.stderr[-3000:]
    before = champion(client)
    # lr 1e-12: the classification head never leaves its random initialisation
    result, output, run, client = retrain(project, "retraining.train=finetune,finetuning.optimizer.lr=1.0e-12")
    assert result.returncode == 0, output[-3000:]
    assert "Retraining: training a challenger (train: finetune)" in output
    assert "Running node: pretrain_model" not in output  # nothing pretrained: it starts from the project's model
    assert run.data.tags["kedro_pipelines"] == "retraining"
    assert run.data.tags["decision"] == "rejected" and "< champion" in run.data.tags["decision_reasons"]
    assert champion(client) == before
    newest = client.get_model_version_by_alias(MODEL, "challenger")
    assert str(newest.version) == "3" and newest.tags["decision"] == "rejected"

    # a failure half-way (torch's AdamW refuses fused together with foreach when fine-tuning builds it; an
    # argument AdamW does not take at all is refused before the run starts): the champion is untouched
    champion_before = champion_files(client)
    assert any(name.endswith("model.safetensors") for name in champion_before)
    failing = "retraining.train=finetune,retraining.force=true,finetuning.optimizer.fused=true,finetuning.optimizer.foreach=true"
    result, output, run, client = retrain(project, failing)
    assert result.returncode != 0
    assert "`fused` and `foreach` cannot be `True` together" in output
    assert run.info.status == "FAILED"
    assert champion(client) == before and versions(client) == 3
    assert champion_files(client) == champion_before
    # released: the next run can take them
    with FileLock(outputs(project) / ".retraining.lock", timeout=0), FileLock(project / "data" / ".locks" / "project.lock", timeout=0):
        pass


def test_finetune_mode_starts_from_the_projects_pretrained_model():
    pipeline = create_pipeline(mode="finetune")
    assert "pretrained_model" in pipeline.inputs()
    assert not any(node.name.endswith("pretrain_model") for node in pipeline.nodes)
    assert {node.namespace for node in pipeline.nodes} == {"retraining"}  # one Airflow task
    assert any(node.name == "retraining.pretrain_model" for node in create_pipeline(mode="pretrain").nodes)
