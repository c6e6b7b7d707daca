"""Scheduled retraining against the real SQLite registry, each step a real `kedro run --pipelines
retraining` on conf/test, in order: promote, skip, retrain on changed inputs, refuse a worse
challenger, refuse to run while another retraining holds the lock, survive a failure."""

from __future__ import annotations

import pytest
from filelock import FileLock
from mlflow import MlflowClient

from lmladder.pipelines.retraining.pipeline import create_pipeline
from tests.conftest import copy_project, kedro_run, outputs

MODEL = "lmladder-classifier-test"  # one registered model per environment


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("retraining"))


def retrain(project, params: str = ""):
    result = kedro_run(project, "--pipelines", "retraining", *(["--params", params] if params else []))
    output = " ".join((result.stdout + result.stderr).split())
    client = MlflowClient(tracking_uri=f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("lmladder")
    run = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)[0]
    return result, output, run, client


def champion(client) -> str:
    return str(client.get_model_version_by_alias(MODEL, "champion").version)


def versions(client) -> int:
    return len(client.search_model_versions(f"name = '{MODEL}'"))


def test_1_first_run_promotes(project):
    result, output, run, client = retrain(project)
    assert result.returncode == 0, output[-3000:]
    assert "Retraining decision: promoted (no champion yet" in output
    assert run.info.status == "FINISHED" and run.data.tags["decision"] == "promoted"
    assert champion(client) == "1"
    version = client.get_model_version(MODEL, "1")
    assert version.tags["decision"] == "promoted"
    assert version.tags["retraining_fingerprint"] == run.data.tags["retraining_fingerprint"]
    assert not (outputs(project) / "06_models" / "classifier").exists()  # the challenger lives under retraining/
    assert (outputs(project) / "06_models" / "retraining" / "challenger" / "model.safetensors").exists()


def test_2_unchanged_inputs_skip(project):
    result, output, run, client = retrain(project)
    assert result.returncode == 0, output[-3000:]
    assert "up to date: champion v1 was trained on this data" in output
    assert "pretrain_model" not in output  # nothing was trained
    assert run.info.status == "FINISHED" and run.data.tags["decision"] == "skipped"
    assert versions(client) == 1 and champion(client) == "1"


def test_3_changed_inputs_retrain(project):
    result, output, run, client = retrain(project, "data_processing.cleaning.min_chars=45")
    assert result.returncode == 0, output[-3000:]
    assert run.data.tags["decision"] in {"promoted", "rejected"}
    assert versions(client) == 2
    assert str(client.get_model_version_by_alias(MODEL, "challenger").version) == "2"
    expected = "2" if run.data.tags["decision"] == "promoted" else "1"
    assert champion(client) == expected


def test_4_a_worse_challenger_is_not_promoted(project):
    before = champion(MlflowClient(tracking_uri=f"sqlite:///{project}/mlflow.db"))
    # lr 0: the classification head never leaves its random initialisation
    result, output, run, client = retrain(project, "finetuning.optimizer.lr=0.0")
    assert result.returncode == 0, output[-3000:]
    assert run.data.tags["decision"] == "rejected"
    assert "< champion" in run.data.tags["decision_reasons"]
    assert champion(client) == before
    newest = client.get_model_version_by_alias(MODEL, "challenger")
    assert str(newest.version) == "3" and newest.tags["decision"] == "rejected"


def test_5_a_second_retraining_is_refused_while_one_runs(project):
    client = MlflowClient(tracking_uri=f"sqlite:///{project}/mlflow.db")
    before = versions(client)
    with FileLock(outputs(project) / ".retraining.lock"):
        result, output, run, client = retrain(project, "retraining.force=true")
    assert result.returncode == 0, output[-3000:]
    assert "another retraining is running" in output
    assert run.data.tags["decision"] == "refused"
    assert versions(client) == before


def test_6_a_failure_leaves_the_champion_and_fails_the_run(project):
    client = MlflowClient(tracking_uri=f"sqlite:///{project}/mlflow.db")
    before, count = champion(client), versions(client)
    result, output, run, client = retrain(project, "retraining.force=true,finetuning.optimizer.lr=-1.0")
    assert result.returncode != 0
    assert "Invalid learning rate" in output
    assert run.info.status == "FAILED"
    assert champion(client) == before and versions(client) == count
    with FileLock(outputs(project) / ".retraining.lock", timeout=0):  # released: the next run can take it
        pass


def test_finetune_mode_starts_from_the_projects_pretrained_model():
    pipeline = create_pipeline(plan={"action": "train", "fingerprint": "x", "champion_version": None, "message": ""}, mode="finetune")
    assert "pretrained_model" in pipeline.inputs()
    assert not any(node.name.endswith("pretrain_model") for node in pipeline.nodes)
    assert {node.namespace for node in pipeline.nodes} == {"retraining"}  # one Airflow task
