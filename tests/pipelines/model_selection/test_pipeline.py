"""The model_selection pipeline on conf/test's IsoFLOP ladder, run as a user runs it (the session's
``selection_run``, tests/conftest.py), then read back from MLflow; and the Airflow DAG that runs the
rungs in parallel. A second full run of the ladder must recommend the same: the Airflow DAG's run
(tests/pipelines/test_airflow_dags.py) or, without Airflow installed, a second `kedro run` here."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from lmladder.pipelines.model_selection.pipeline import create_pipeline
from tests.conftest import PROJECT_ROOT, copy_project, kedro_run, outputs, run_model_selection, runs_of, written

# conf/test: two budgets of d1, d2, d3; c1 with a second seed; a d2 encoder and encoder-decoder at c1; a three-point
# learning-rate sweep at d1 (the first size of the smallest budget); a held-out explicit rung.
ISOFLOP = {f"{budget}_{size}": size for budget in ("c1", "c2") for size in ("d1", "d2", "d3")}
SEEDS = {f"c1_{size}_seed1": size for size in ("d1", "d2", "d3")}
FINE_TUNED = {**ISOFLOP, **SEEDS, "c1_d2_encoder": "d2", "c1_d2_encoder_decoder": "d2", "default_model": "nano"}
SWEEP = {f"lr_sweep_{index}": "d1" for index in (1, 2, 3)}
RUNGS = {**FINE_TUNED, **SWEEP}


def summary_of(project) -> dict:
    return json.loads((outputs(project) / "08_reporting" / "model_selection.json").read_text())


def test_each_rung_is_a_nested_mlflow_run_with_comparable_params_and_metrics(selection_run):
    client, runs = runs_of(selection_run)
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert [run.info.run_name for run in parents] == ["model_selection"]
    parent = parents[0]
    children = {run.info.run_name: run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert set(children) == set(RUNGS)

    for rung, size in RUNGS.items():
        child = children[rung]
        assert child.info.status == "FINISHED"
        assert child.data.tags["rung"] == rung
        # the same names in every rung's run: MLflow's compare view lines them up
        assert child.data.params["pretraining.model.preset"] == size
        assert child.data.params["model.preset"] == size
        assert child.data.params["rung.kind"] == ("lr_sweep" if rung in SWEEP else "explicit" if rung == "default_model" else "isoflop")
        # values the ladder sets when the rung runs are metrics, never stale params
        assert "pretraining.optimizer.lr" not in child.data.params
        for metric in (
            "rung.val_loss",
            "rung.params",
            "rung.train_flops",
            "rung.tokens",
            "rung.lr",
            "rung.seed",
            "pretraining_metrics.final_step",
        ):
            assert metric in child.data.metrics, (rung, metric)
        if rung != "c1_d1":  # see below: it reuses a sweep point's finished training
            assert "val_loss" in child.data.metrics  # Lightning's logger wrote into the rung's run
        artifacts = {item.path for folder in ("plots", "rung") for item in client.list_artifacts(child.info.run_id, folder)}
        assert "rung/rung_parameters.json" in artifacts and "plots/pretraining_loss_curve.png" in artifacts
        if rung in FINE_TUNED:
            assert child.data.params["finetuning.max_epochs"] == "1"  # conf/test's rung_finetuning
            assert {"rung.macro_f1", "rung.latency_ms"} <= set(child.data.metrics)
            assert "plots/confusion_matrix.png" in artifacts
        else:  # a sweep point is pretrained only
            assert "rung.macro_f1" not in child.data.metrics and "plots/confusion_matrix.png" not in artifacts
    # c1_d1 is the sweep's size at the chosen multiplier: the same training as that sweep point, so it
    # resumes from that point's finished checkpoint instead of training again
    (chosen,) = [rung for rung in SWEEP if children[rung].data.metrics["rung.lr"] == children["c1_d1"].data.metrics["rung.lr"]]
    assert children["c1_d1"].data.metrics["rung.val_loss"] == children[chosen].data.metrics["rung.val_loss"]
    assert children["c1_d1_seed1"].data.metrics["rung.seed"] == children["c1_d1"].data.metrics["rung.seed"] + 1
    assert children["c1_d2_encoder"].data.params["pretraining.model.architecture"] == "encoder"
    assert children["c1_d2_encoder_decoder"].data.params["pretraining.model.architecture"] == "encoder-decoder"
    # every size of a budget gets the budget's FLOPs, so smaller models see more tokens
    flops = [children[f"c2_{size}"].data.metrics["rung.train_flops"] for size in ("d1", "d2", "d3")]
    assert max(flops) / min(flops) < 1.2
    assert (
        children["c2_d1"].data.metrics["rung.tokens"]
        > children["c2_d2"].data.metrics["rung.tokens"]
        > children["c2_d3"].data.metrics["rung.tokens"]
    )
    # the learning rate falls with size (the rule), and the sweep's points differ only in it
    assert children["c2_d1"].data.metrics["rung.lr"] > children["c2_d3"].data.metrics["rung.lr"]
    assert len({children[rung].data.metrics["rung.lr"] for rung in SWEEP}) == 3

    # nothing of a rung leaked into the parent, which holds the shared steps and the selection
    assert "rung.val_loss" not in parent.data.metrics
    for metric in (
        "model_selection_metrics.law.alpha",
        "model_selection_metrics.noise.val_loss.std",
        "model_selection_metrics.learning_rate.multiplier",
    ):
        assert metric in parent.data.metrics, metric
    assert "model_selection_metrics.held_out.default_model.bits_per_byte_error" in parent.data.metrics
    assert "corpus_metrics.tokens.vocab_size" in parent.data.metrics
    assert parent.data.params["model_selection.budgets.c1.flops"] == "10000000000.0"
    parent_artifacts = {item.path for folder in ("model_selection", "plots") for item in client.list_artifacts(parent.info.run_id, folder)}
    assert {
        "model_selection/model_selection.md",
        "model_selection/model_selection.json",
        "plots/isoflop_curves.png",
        "plots/optimal_scaling.png",
        "plots/held_out_check.png",
        "plots/architecture_comparison.png",
        "plots/loss_vs_params.png",
        "plots/quality_vs_latency.png",
        "plots/ladder_loss_curves.png",
    } <= parent_artifacts


def test_report_table_sections_plots_and_summary(selection_run):
    reporting = outputs(selection_run) / "08_reporting"
    report = (reporting / "model_selection.md").read_text()
    summary = summary_of(selection_run)
    rows = {row["name"]: row for row in summary["rungs"]}
    assert set(rows) == set(RUNGS)
    for rung, size in RUNGS.items():
        row = rows[rung]
        assert f"| {rung} | {size} |" in report
        assert row["val_loss"] > 0
        saved = json.loads((outputs(selection_run) / "07_model_output" / "ladder" / rung / "rung_summary.json").read_text())
        assert saved["val_curve"] or rung == "c1_d1", rung  # c1_d1 reuses a sweep point's training
        if rung in FINE_TUNED:
            assert 0 <= row["macro_f1"] <= 1 and row["latency_ms"] > 0
            assert (outputs(selection_run) / "06_models" / "ladder" / rung / "classifier" / "model.safetensors").exists()
    assert rows["default_model"]["tokens"] == 12288  # 12,000 rounded up to whole steps of 8 x 64 tokens
    assert rows["c1_d1"]["params"] < rows["c1_d2"]["params"] < rows["c1_d3"]["params"]
    assert "| tfidf_baseline |" in report

    # noise from the three seed pairs; both fits; the held-out check; the architecture verdict
    assert [group["names"] for group in summary["noise"]["groups"]] == [[f"c1_{size}", f"c1_{size}_seed1"] for size in ("d1", "d2", "d3")]
    assert summary["noise"]["pooled"]["val_loss"] > 0
    assert set(summary["isoflop"]["profiles"]) == {"c1", "c2"}
    for profile in summary["isoflop"]["profiles"].values():
        assert profile["interior"] or profile["reason"] in report  # a flagged budget says why
    assert summary["scaling_law_text"] in report
    (check,) = summary["held_out"]
    assert check["name"] == "default_model" and f"| default_model | {check['params']:,.0f} |" in report
    assert "predicted_bits_per_byte" in check and check["measured_bits_per_byte"] == rows["default_model"]["val_bits_per_byte"]
    (comparison,) = summary["architectures"]
    assert comparison["budget"] == "c1" and set(comparison["best"]) == {"decoder", "encoder", "encoder-decoder"}
    assert summary["learning_rate"]["multiplier"] in (0.5, 1.0, 2.0) and len(summary["learning_rate"]["rows"]) == 3
    for section in (
        "## Recommendation",
        "## Learning rate",
        "## Run-to-run noise",
        "## IsoFLOP profiles",
        "## Held-out check",
        "## Which architecture",
    ):
        assert section in report, section
    for plot in (
        "isoflop_curves",
        "optimal_scaling",
        "held_out_check",
        "architecture_comparison",
        "loss_vs_params",
        "quality_vs_latency",
        "ladder_loss_curves",
    ):
        assert (reporting / f"{plot}.png").stat().st_size > 5_000, plot
        assert f"({plot}.png)" in report


@pytest.mark.skipif(
    importlib.util.find_spec("airflow") is not None, reason="the Airflow DAG test runs the ladder a second time and compares"
)
def test_a_second_full_run_recommends_the_same(selection_run, tmp_path):
    again = run_model_selection(copy_project(tmp_path))
    first, second = summary_of(selection_run)["recommendation"], summary_of(again)["recommendation"]
    assert second["recommended"] == first["recommended"]
    assert second["tied"] == first["tied"]


def test_each_rung_is_a_namespace_after_one_shared_data_namespace():
    names = [node.name for node in create_pipeline(["a", "lr_sweep_1"]).nodes]
    assert "a.pretrain_model" in names and "a.finetune_classifier" in names and "select_model" in names
    assert "lr_sweep_1.pretrain_model" in names and "lr_sweep_1.finetune_classifier" not in names  # a sweep point is not fine-tuned
    assert "calibrate_learning_rate" in names and "shared_data.tokenize_train" in names


def test_a_bad_rung_fails_before_any_processing(project_copy):
    result = kedro_run(project_copy, "--pipelines", "model_selection", "--params", "model_selection.rungs.default_model.preset=huge")
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "model_selection.rungs.default_model -> pretraining" in output and "unknown model preset 'huge'" in output
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
            "--jinja-file",
            "conf/airflow/grouped_dag.j2",
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
    task = {rung: rung.replace("_", "-") for rung in RUNGS}  # Kedro-Airflow's task ids
    assert set(_task_ids(source)) == {"shared-data", "calibrate-learning-rate", "select-model", *task.values()}
    edges = set(_edges(source))
    for rung in RUNGS:
        assert ("shared-data", task[rung]) in edges and (task[rung], "select-model") in edges
    # the sweep's points run in parallel; every other rung waits for the learning rate they calibrate
    for rung in SWEEP:
        assert (task[rung], "calibrate-learning-rate") in edges
    for rung in FINE_TUNED:
        assert ("calibrate-learning-rate", task[rung]) in edges
    tasks = set(task.values())
    assert not any(a in tasks and b in tasks for a, b in edges)  # rungs never wait for each other


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
