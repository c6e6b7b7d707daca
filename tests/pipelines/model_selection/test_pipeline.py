"""The model_selection pipeline on conf/test's three tiny rungs, run as a user runs it, then read
back from MLflow; and the Airflow DAG that runs the rungs in parallel."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lmladder.pipelines.model_selection.pipeline import create_pipeline
from tests.conftest import PROJECT_ROOT, copy_project, kedro_run, outputs, runs_of, written

RUNGS = {"nano": "nano", "micro": "micro", "tiny": "tiny"}  # conf/test: rung -> preset


@pytest.fixture(scope="module")
def selection_run(tmp_path_factory):
    """One run of the pipeline for every assertion below (it trains three models)."""
    project = copy_project(tmp_path_factory.mktemp("selection"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(project)
        bootstrap_project(project)
        with KedroSession.create(project_path=project, env="test") as session:
            session.run(pipeline_names=["model_selection"])
    return project


def test_each_rung_is_a_nested_mlflow_run_with_comparable_params_and_metrics(selection_run):
    client, runs = runs_of(selection_run)
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert [run.info.run_name for run in parents] == ["model_selection"]
    parent = parents[0]
    children = {run.info.run_name: run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert set(children) == set(RUNGS)

    for rung, preset in RUNGS.items():
        child = children[rung]
        assert child.info.status == "FINISHED"
        assert child.data.tags["rung"] == rung
        # the same names in every rung's run: MLflow's compare view lines them up
        assert child.data.params["pretraining.model.preset"] == preset
        assert child.data.params["model.preset"] == preset
        assert child.data.params["pretraining.trainer.max_tokens"] == "12000"
        assert child.data.params["finetuning.max_epochs"] == "1"  # conf/test's rung_finetuning
        for metric in (
            "rung.val_loss",
            "rung.macro_f1",
            "rung.latency_ms",
            "rung.params",
            "rung.train_flops",
            "pretraining_metrics.final_step",
        ):
            assert metric in child.data.metrics, (rung, metric)
        assert "val_loss" in child.data.metrics  # Lightning's logger wrote into the rung's run
        artifacts = {item.path for item in client.list_artifacts(child.info.run_id, "plots")}
        assert "plots/confusion_matrix.png" in artifacts and "plots/pretraining_loss_curve.png" in artifacts

    # nothing of a rung leaked into the parent, which holds the shared steps and the selection
    assert "rung.val_loss" not in parent.data.metrics
    assert "model_selection_metrics.law.alpha" in parent.data.metrics
    assert "corpus_metrics.tokens.vocab_size" in parent.data.metrics
    assert parent.data.params["model_selection.rungs.nano.tokens"] == "12000"
    parent_artifacts = {item.path for folder in ("model_selection", "plots") for item in client.list_artifacts(parent.info.run_id, folder)}
    assert {
        "model_selection/model_selection.md",
        "model_selection/model_selection.json",
        "plots/loss_vs_params.png",
        "plots/quality_vs_latency.png",
        "plots/ladder_loss_curves.png",
    } <= parent_artifacts


def test_report_table_plots_and_summary(selection_run):
    reporting = outputs(selection_run) / "08_reporting"
    report = (reporting / "model_selection.md").read_text()
    summary = json.loads((reporting / "model_selection.json").read_text())
    rows = {row["name"]: row for row in summary["rungs"]}
    assert set(rows) == set(RUNGS)
    for rung in RUNGS:
        row = rows[rung]
        assert f"| {rung} | {RUNGS[rung]} | {row['params']:,.0f} | {row['tokens']:,.0f} |" in report
        assert row["tokens"] == 12288  # 12,000 rounded up to whole steps of 8 x 64 tokens
        assert 0 <= row["macro_f1"] <= 1 and row["val_loss"] > 0 and row["latency_ms"] > 0
        saved = json.loads((outputs(selection_run) / "07_model_output" / "ladder" / rung / "rung_summary.json").read_text())
        assert saved["val_curve"], rung
        assert (outputs(selection_run) / "06_models" / "ladder" / rung / "classifier" / "model.safetensors").exists()
    assert rows["nano"]["params"] < rows["micro"]["params"] < rows["tiny"]["params"]
    assert "| tfidf_baseline |" in report
    assert summary["scaling_law_text"] in report
    assert summary["scaling_law"]["B"] == 0  # one token budget: L(N)
    # three rungs cannot support the leave-largest-out check or the loss-to-F1 sigmoid; the report says so
    assert "## Not computed" in report and "leave-largest-out" in report
    assert "## Recommendation" in report
    for plot in ("loss_vs_params", "quality_vs_latency", "ladder_loss_curves"):
        assert (reporting / f"{plot}.png").stat().st_size > 10_000
        assert f"({plot}.png)" in report


def test_each_rung_is_a_namespace_after_one_shared_data_namespace():
    names = [node.name for node in create_pipeline(["a", "b"]).nodes]
    assert "a.pretrain_model" in names and "b.summarise_rung" in names and "select_model" in names
    assert "shared_data.tokenize_train" in names


def test_a_bad_rung_fails_before_any_processing(project_copy):
    result = kedro_run(project_copy, "--pipelines", "model_selection", "--params", "model_selection.rungs.micro.preset=huge")
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "model_selection.rungs.micro -> pretraining" in output and "unknown model preset 'huge'" in output
    assert not written(outputs(project_copy) / "03_primary")
    assert runs_of(project_copy)[1] == []


def test_airflow_dag_has_one_task_per_rung_after_the_shared_data_steps(project_copy):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "kedro",
            "airflow",
            "create",
            "--pipelines",
            "model_selection",
            "--group-by",
            "namespace",
            "--env",
            "test",
            "--target-dir",
            "dags",
        ],
        cwd=project_copy,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"},
    )
    assert result.returncode == 0, result.stderr
    source = (project_copy / "dags" / "lmladder_test_model_selection_dag.py").read_text()
    ast.parse(source)  # valid Python
    task_ids = set(_task_ids(source))
    assert task_ids == {"shared-data", "nano", "micro", "tiny", "select-model"}
    edges = set(_edges(source))
    for rung in RUNGS:
        assert ("shared-data", rung) in edges and (rung, "select-model") in edges
    assert not any(a in RUNGS and b in RUNGS for a, b in edges)  # rungs are independent: they run in parallel


def _task_ids(source: str):
    return re.findall(r'@task\(task_id="([^"]+)"\)', source)


def _edges(source: str):
    return re.findall(r'tasks\["([^"]+)"\] >> tasks\["([^"]+)"\]', source)


def test_the_notebook_reads_the_runs_back_from_mlflow(selection_run):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(PROJECT_ROOT / "notebooks" / "model_selection.ipynb", as_version=4)
    (selection_run / "notebooks").mkdir(exist_ok=True)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(selection_run / "notebooks")}}
    ).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    text = "".join(output.get("text", "") + output.get("data", {}).get("text/plain", "") for output in outputs)
    for rung in RUNGS:
        assert rung in text
    assert "L = " in text and "as logged by the pipeline" in text
    assert sum("image/png" in output.get("data", {}) for output in outputs) == 2  # both figures drawn
