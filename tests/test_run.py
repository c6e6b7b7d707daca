"""End to end: `kedro run` of the default pipeline in a scratch copy of the project, then the
MLflow SQLite store is opened and checked like a user would in the UI."""

from __future__ import annotations

import re

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lmladder.errors import ConfigError
from tests.conftest import kedro_run, outputs, runs_of, written


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

    assert run.data.params["model.n_layer"] == "2"
    assert int(run.data.params["model.flops_per_token"]) > 0
    losses = client.get_metric_history(run.info.run_id, "train_loss")
    assert len({metric.step for metric in losses}) > 1
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 3  # every 10 of 30 steps
    assert metrics["pretraining_metrics.final_step"] == 30

    for name in (
        "classifier.accuracy",
        "classifier.macro_f1",
        "classifier.ece",
        "scratch.macro_f1",
        "tfidf.macro_f1",
        "lm.perplexity",
        "lm.bits_per_byte",
        "cost.p50_ms",
        "cost.p95_ms",
        "cost.throughput_per_s",
        "cost.size_on_disk_bytes",
        "cost.parameters",
    ):
        assert f"evaluation_metrics.{name}" in metrics, name
    assert 0 <= metrics["evaluation_metrics.classifier.macro_f1"] <= 1
    assert len(client.get_metric_history(run.info.run_id, "finetune.val_macro_f1")) == 2  # one per epoch
    assert len(client.get_metric_history(run.info.run_id, "baseline.val_macro_f1")) == 2

    folders = ("data", "validation", "pretrained_model", "plots", "evaluation")
    artifacts = {a.path for folder in folders for a in client.list_artifacts(run.info.run_id, folder)}
    assert artifacts == {
        "data/tokenizer.json",
        "data/corpus_summary.json",
        "validation/validation_report.json",
        "validation/validation_report.md",
        "pretrained_model/model.safetensors",
        "pretrained_model/config.json",
        "pretrained_model/tokenizer.json",
        "plots/pretraining_loss_curve.png",
        "plots/confusion_matrix.png",
        "plots/reliability_diagram.png",
        "plots/attention_heatmap.png",
        "plots/finetuning_curves.png",
        "evaluation/model_card.md",
        "evaluation/per_class_table.md",
        "evaluation/sample_generations.md",
        "evaluation/evaluation_summary.json",
    }
    card = (outputs(project_copy) / "08_reporting" / "model_card.md").read_text()
    assert "## Results" in card and "TF-IDF" in card and tags["data_fingerprint"] in card

    version = client.get_model_version_by_alias("lmladder-classifier-test", "candidate")  # one registered model per environment
    assert str(version.version) == "1"
    assert version.run_id == run.info.run_id
    assert version.tags["data_fingerprint"] == tags["data_fingerprint"]
    assert (outputs(project_copy) / "04_feature" / "train_tokens.bin").stat().st_size > 0
    assert (outputs(project_copy) / "06_models" / "pretrained_model" / "model.safetensors").exists()


def test_a_failing_run_is_marked_failed_and_says_why(project_copy):
    result = kedro_run(project_copy, "--params", "data_processing.cleaning.min_chars=20000")
    assert result.returncode != 0
    assert "0 documents left after quality filters" in result.stdout + result.stderr

    _, runs = runs_of(project_copy)
    assert [run.info.status for run in runs] == ["FAILED"]
    assert not (outputs(project_copy) / "04_feature" / "train_tokens.bin").exists()


def _nothing_ran(project) -> bool:
    return not written(outputs(project) / "03_primary") and runs_of(project)[1] == []


def _nothing_written(project) -> bool:
    """No output of any pipeline under data/<env>/ and no MLflow run."""
    return not written(outputs(project)) and runs_of(project)[1] == []


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"pretraining": {"model": {"preset": "huge"}}}, "unknown model preset 'huge'"),
        ({"pretraining": {"data": {"batch_size": "abc"}}}, "pretraining.data.batch_size must be a positive integer, got 'abc'"),
        ({"pretraining": {"model": {"n_head": 5}}}, "must be divisible by model.n_head=5"),
        # a typo in any section, an unknown top-level key, a negative learning rate: at session start
        ({"finetuning": {"max_epoch": 1}}, "unknown parameter finetuning.max_epoch; did you mean 'max_epochs'"),
        ({"data_processing": {"tokenizer": {"vocab_sise": 300}}}, "unknown parameter data_processing.tokenizer.vocab_sise; did you mean"),
        ({"pretrainig": {"data": {"batch_size": 4}}}, "unknown parameter pretrainig; did you mean 'pretraining'"),
        ({"finetuning": {"optimizer": {"lr": -0.001}}}, "finetuning.optimizer.lr must be a number > 0, got -0.001"),
        ({"pretraining": {"optimizer": {"lr": -0.003}}}, "pretraining.optimizer.lr must be a number > 0, got -0.003"),
    ],
)
def test_bad_training_config_fails_before_any_processing(project_copy, override, message):
    bootstrap_project(project_copy)
    with pytest.raises(ConfigError, match=re.escape(message)):
        with KedroSession.create(project_path=project_copy, env="test", runtime_params=override) as session:
            session.run()
    assert _nothing_written(project_copy)


def test_a_parameter_typo_on_the_command_line_fails_before_any_processing(project_copy):
    result = kedro_run(project_copy, "--params", "pretraining.trainer.max_step=10")
    assert result.returncode != 0
    assert "ConfigError: unknown parameter pretraining.trainer.max_step; did you mean 'max_steps'" in " ".join(
        (result.stdout + result.stderr).split()
    )
    assert _nothing_ran(project_copy)


def test_an_unknown_pipeline_is_named_before_anything_runs(project_copy):
    result = kedro_run(project_copy, "--pipelines", "pretrainig")
    assert result.returncode != 0
    assert "pretrainig" in result.stdout + result.stderr
    assert runs_of(project_copy)[1] == []


@pytest.mark.parametrize(
    ("where", "path"),
    [
        # the security review's payload: `--params "pretraining.lr_schedule.warmup_steps._target_=builtins.open,...file=..,...mode=w"`
        (("pretraining", "lr_schedule", "warmup_steps"), "pretraining.lr_schedule.warmup_steps._target_"),
        # a free argument of a Hydra mapping, which Hydra would build recursively
        (("pretraining", "optimizer", "anything"), "pretraining.optimizer.anything._target_"),
    ],
)
def test_a_target_passed_as_a_parameter_is_refused_before_anything_is_built(project_copy, where, path):
    target_file = project_copy / "owned.txt"
    override = {"_target_": "builtins.open", "file": str(target_file), "mode": "w"}
    for key in reversed(where):
        override = {key: override}
    bootstrap_project(project_copy)
    with pytest.raises(ConfigError, match=re.escape(f"{path}='builtins.open' is not allowed: Hydra would import and call it")):
        with KedroSession.create(project_path=project_copy, env="test", runtime_params=override) as session:
            session.run()
    assert not target_file.exists()
    assert _nothing_written(project_copy)


def test_a_batch_too_large_for_memory_is_refused_before_any_node_runs(project_copy):
    """`--params pretraining.data.batch_size=100000000` once grew to 22.8 GB and froze the machine."""
    bootstrap_project(project_copy)
    override = {"pretraining": {"data": {"batch_size": 100_000_000}}}
    with pytest.raises(
        ConfigError,
        match=r"^pretraining: training needs about [\d,]+\.\d GB of memory \(a batch of 100000000 x 64 tokens, 512 logits each\) "
        r"but [\d,]+\.\d GB is available; lower pretraining\.data\.batch_size",
    ):
        with KedroSession.create(project_path=project_copy, env="test", runtime_params=override) as session:
            session.run()
    assert _nothing_written(project_copy)
