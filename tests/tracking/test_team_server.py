"""The team's tracking path: real `kedro run` / `kedro retrain` runs logging through an MLflow server
whose backend store is PostgreSQL and whose artifacts the server stores (`conf/team/mlflow.yml`).

They need the server `make team-up` starts (`.ci/run` does, and exports where it is); without
LMLADDER_TEAM_TRACKING_URI they are skipped, unless LMLADDER_REQUIRE_TEAM_SERVER=1 (as in CI). Each test uses an environment of its own (a copy of
conf/test with conf/team's tracking), so its experiment and registered model are its own on the
shared server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from tests.conftest import PLAIN_LOGGING, PROJECT_ROOT, copy_project

TRACKING_URI = os.environ.get("LMLADDER_TEAM_TRACKING_URI")
BACKEND_URI = os.environ.get("LMLADDER_TEAM_BACKEND_URI")
REQUIRED = os.environ.get("LMLADDER_REQUIRE_TEAM_SERVER") == "1"
pytestmark = pytest.mark.skipif(
    not (TRACKING_URI and BACKEND_URI) and not REQUIRED,
    reason='no team MLflow server: `make team-up && eval "$(scripts/team-server env)"` (.ci/run does)',
)


@pytest.fixture(autouse=True)
def team_server_configured():
    assert TRACKING_URI and BACKEND_URI, "LMLADDER_REQUIRE_TEAM_SERVER=1 but LMLADDER_TEAM_TRACKING_URI/_BACKEND_URI are unset"


# A stopped server fails a run after MLflow's HTTP retries (about four minutes by default): one retry here.
FAST_FAILURE = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


def team_project(folder: Path, tracking_uri: str) -> tuple[Path, str]:
    """A project copy with an environment of its own: conf/test's sizes, conf/team's tracking pointed
    at ``tracking_uri``, an experiment named after the environment."""
    project = copy_project(folder)
    env = f"team_{uuid.uuid4().hex[:8]}"
    (project / "conf" / env).mkdir()
    (project / "conf" / env / "parameters.yml").write_text((PROJECT_ROOT / "conf" / "test" / "parameters.yml").read_text())
    mlflow_conf = yaml.safe_load((PROJECT_ROOT / "conf" / "team" / "mlflow.yml").read_text())
    mlflow_conf["server"]["mlflow_tracking_uri"] = mlflow_conf["server"]["mlflow_registry_uri"] = tracking_uri
    mlflow_conf["tracking"]["experiment"]["name"] = f"lmladder-{env}"
    (project / "conf" / env / "mlflow.yml").write_text(yaml.safe_dump(mlflow_conf))
    return project, env


def kedro(project: Path, env: str, *args: str, extra_env: dict | None = None) -> subprocess.Popen:
    """`kedro <args> --env <env>` started in the background, its output to a file (a pipe nobody reads
    while the test polls MLflow would fill up and stop it)."""
    variables = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "KEDRO_LOGGING_CONFIG": str(PLAIN_LOGGING), **(extra_env or {})}
    command = [sys.executable, "-m", "kedro", *args, "--env", env]
    log = project / f"kedro-{uuid.uuid4().hex[:8]}.log"
    process = subprocess.Popen(command, cwd=project, stdout=log.open("w"), stderr=subprocess.STDOUT, env=variables)
    process.log = log
    return process


def finish(process: subprocess.Popen) -> tuple[int, str]:
    """Wait for a `kedro` command (killed if it runs past 15 minutes); its exit code and output on one line."""
    try:
        process.wait(timeout=900)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, " ".join(process.log.read_text().split())


def runs(client: MlflowClient, env: str) -> list:
    experiment = client.get_experiment_by_name(f"lmladder-{env}")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"]) if experiment else []


def test_two_default_runs_at_once_log_everything_and_register_through_the_server(tmp_path):
    projects = [team_project(tmp_path / name, TRACKING_URI) for name in ("alice", "bob")]
    started = [kedro(project, env, "run") for project, env in projects]  # at the same time
    finished = [finish(process) for process in started]  # both, before any assertion
    for returncode, output in finished:
        assert returncode == 0, output[-3000:]

    client = MlflowClient(tracking_uri=TRACKING_URI, registry_uri=TRACKING_URI)
    for _, env in projects:
        [run] = runs(client, env)
        assert run.info.status == "FINISHED" and run.data.tags["kedro_env"] == env
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # stored by the server, not the checkout
        # every logged point arrived: 30 steps logged every 5, validation every 10, two epochs
        assert len(client.get_metric_history(run.info.run_id, "train_loss")) == 6
        assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 3
        assert len(client.get_metric_history(run.info.run_id, "finetune.val_macro_f1")) == 2
        assert "evaluation_metrics.classifier.macro_f1" in run.data.metrics
        artifacts = {artifact.path for artifact in client.list_artifacts(run.info.run_id, "pretrained_model")}
        assert artifacts == {"pretrained_model/config.json", "pretrained_model/model.safetensors", "pretrained_model/tokenizer.json"}
        version = client.get_model_version_by_alias(f"lmladder-classifier-{env}", "candidate")
        assert version.run_id == run.info.run_id
    # the two runs logged the same keys: nothing was lost to the other
    first, second = (runs(client, env)[0].data for _, env in projects)
    assert set(first.metrics) == set(second.metrics) and set(first.params) == set(second.params)

    import mlflow.pyfunc
    import pandas as pd

    # the registry too (conftest's no_mlflow_state_left_behind resets it after the test)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(TRACKING_URI)
    mlflow.set_registry_uri(TRACKING_URI)
    try:
        model = mlflow.pyfunc.load_model(f"models:/lmladder-classifier-{projects[0][1]}@candidate")  # downloaded from the server
    finally:
        mlflow.set_tracking_uri(previous)
    assert len(model.predict(pd.DataFrame({"text": ["Open a socket and send the request."]}))) == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, artifacts: Path, log: Path) -> subprocess.Popen:
    """`mlflow server` on the team's PostgreSQL database, in a process group of its own."""
    mlflow_command = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow_command), "server", "--backend-store-uri", BACKEND_URI, "--artifacts-destination", str(artifacts)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(
        command,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    raise AssertionError(f"the MLflow server did not start: {log.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_retraining_skips_rejects_promotes_through_the_server_and_survives_it_stopping(tmp_path):
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = start_server(port, tmp_path / "artifacts", tmp_path / "server.log")
    try:
        project, env = team_project(tmp_path / "project", uri)
        model = f"lmladder-classifier-{env}"
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)

        returncode, output = finish(kedro(project, env, "retrain"))
        assert returncode == 0, output[-3000:]
        assert "Retraining decision: promoted (no champion yet" in output
        assert client.get_model_version_by_alias(model, "champion").version == "1"

        returncode, output = finish(kedro(project, env, "retrain"))
        assert returncode == 0 and "up to date: champion v1 was trained on this data" in output, output[-3000:]
        assert runs(client, env)[0].data.tags["decision"] == "skipped"

        # lr 1e-12: the classification head never leaves its random initialisation
        returncode, output = finish(kedro(project, env, "retrain", "--params", "retraining.force=true,finetuning.optimizer.lr=1.0e-12"))
        assert returncode == 0, output[-3000:]
        newest = runs(client, env)[0]
        assert newest.data.tags["decision"] == "rejected" and "< champion" in newest.data.tags["decision_reasons"]
        assert client.get_model_version_by_alias(model, "challenger").version == "2"
        assert client.get_model_version_by_alias(model, "champion").version == "1"

        # the server stops while a retraining trains: that run fails, saying so; the champion stays
        retraining = kedro(project, env, "retrain", "--params", "retraining.force=true", extra_env=FAST_FAILURE)
        try:
            deadline = time.monotonic() + 300
            while not any("model.n_layer" in run.data.params and run.info.status == "RUNNING" for run in runs(client, env)[:1]):
                assert retraining.poll() is None, f"the retraining ended before the server stopped: {finish(retraining)[1][-3000:]}"
                assert time.monotonic() < deadline, "the retraining did not start training"
                time.sleep(0.5)
        except BaseException:
            retraining.kill()  # never left running behind a failed test
            raise
        stop_server(server)  # while it trains
        returncode, output = finish(retraining)
        assert returncode != 0
        assert f"MLflow tracking server {uri} stopped answering" in output, output[-3000:]

        server = start_server(port, tmp_path / "artifacts", tmp_path / "server.log")  # back up
        assert client.get_model_version_by_alias(model, "champion").version == "1"
        assert len(client.search_model_versions(f"name = '{model}'")) == 2  # the failed run registered nothing
        killed = runs(client, env)[0]
        assert killed.info.status == "RUNNING"  # nobody could close it while the server was down ...
        returncode, output = finish(kedro(project, env, "retrain"))  # ... the next session does
        assert returncode == 0 and "up to date" in output, output[-3000:]
        assert client.get_run(killed.info.run_id).info.status == "FAILED"
    finally:
        stop_server(server)
