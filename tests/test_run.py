"""End to end: `kedro run` of the default pipeline in a scratch copy of the project, then the
MLflow SQLite store is opened and checked like a user would in the UI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow import MlflowClient


def runs_of(project) -> list:
    client = MlflowClient(tracking_uri=f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("lmladder")
    return client, client.search_runs([experiment.experiment_id]) if experiment else []


def test_default_pipeline_is_one_tracked_mlflow_run(project_copy):
    bootstrap_project(project_copy)
    with KedroSession.create(project_path=project_copy, env="test") as session:
        session.run()

    client, runs = runs_of(project_copy)
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "__default__"
    assert run.info.artifact_uri.startswith(f"{project_copy}/mlartifacts") or str(project_copy) in run.info.artifact_uri

    tags = run.data.tags
    assert tags["kedro_env"] == "test"
    assert tags["git_commit"]
    assert len(tags["data_fingerprint"]) == 64

    metrics = run.data.metrics
    for name in ("docs_in", "removed_too_short", "removed_near_duplicates", "removed_contaminated", "docs_out"):
        assert f"corpus_metrics.corpus.{name}" in metrics, name
    assert metrics["corpus_metrics.tokens.vocab_size"] == 512
    assert metrics["corpus_metrics.tokens.train_tokens"] > 100_000
    assert metrics["corpus_metrics.corpus.removed_contaminated"] > 0

    assert run.data.params["data_processing.tokenizer.vocab_size"] == "512"
    assert run.data.params["data_processing.cleaning.min_chars"] == "40"

    artifacts = {a.path for folder in ("data", "validation") for a in client.list_artifacts(run.info.run_id, folder)}
    assert artifacts == {
        "data/tokenizer.json",
        "data/corpus_summary.json",
        "validation/validation_report.json",
        "validation/validation_report.md",
    }
    assert (project_copy / "data" / "04_feature" / "train_tokens.bin").stat().st_size > 0


def test_a_failing_run_is_marked_failed_and_says_why(project_copy):
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env", "test", "--params", "data_processing.cleaning.min_chars=1000000"],
        cwd=project_copy, capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode != 0
    assert "0 documents left after quality filters" in result.stdout + result.stderr

    _, runs = runs_of(project_copy)
    assert [run.info.status for run in runs] == ["FAILED"]
    assert not (project_copy / "data" / "04_feature" / "train_tokens.bin").exists()
