"""The evaluation pipeline on real tiny models: metrics, plots, model card and a registered pyfunc model."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from mlflow import MlflowClient

from lmladder.pipelines.evaluation import create_pipeline
from tests.conftest import add_parameters, load_parameters
from tests.pipelines.conftest import run_finetuning
from tests.pipelines.model_inputs import model_inputs

CORPUS_SUMMARY = {
    "fingerprint": "f" * 64,
    "corpus": {"docs_out": 10},
    "tokens": {"train_tokens": 1000, "val_tokens": 100},
    "labelled": {"train_examples": 72, "val_examples": 24, "test_examples": 24},
}
CORPUS_VAL = pd.DataFrame(
    {
        "doc_id": ["a", "b", "c"],
        "text": ["Open a socket and send the request.", "Read the file from the directory.", "Round the decimal to an integer."],
    }
)


@pytest.fixture
def tracking(tmp_path):
    previous = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    experiment = MlflowClient(uri).create_experiment("evaluation-test")
    with mlflow.start_run(experiment_id=experiment) as run:
        yield run
    mlflow.set_tracking_uri(previous)


def test_evaluation_scores_registers_and_writes_the_model_card(tmp_path, tracking):
    catalog = DataCatalog()
    inputs = {**model_inputs(tmp_path), **run_finetuning(tmp_path), "corpus_summary": CORPUS_SUMMARY, "corpus_val": CORPUS_VAL}
    for name, value in inputs.items():
        catalog[name] = value
    params = load_parameters("test")
    add_parameters(catalog, params)
    outputs = {name: dataset.load() for name, dataset in SequentialRunner().run(create_pipeline(), catalog).items()}

    metrics = outputs["evaluation_metrics"]
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
    ):
        assert f"{name}" in metrics, name
    assert metrics["tfidf.accuracy"]["value"] == 1.0  # the toy topics are separable by their words
    assert metrics["cost.p50_ms"]["value"] <= metrics["cost.p95_ms"]["value"]

    summary = outputs["evaluation_summary"]
    assert len(summary["classifier"]["confusion"]) == 3 and sum(map(sum, summary["classifier"]["confusion"])) == 24
    registered_name = params["evaluation"]["registered_model_name"]  # one per environment
    assert summary["registration"]["model_uri"] == f"models:/{registered_name}@candidate"
    version = MlflowClient().get_model_version_by_alias(registered_name, "candidate")
    assert version.run_id == tracking.info.run_id and version.tags["data_fingerprint"] == "f" * 64

    card = outputs["model_card"]
    assert "f" * 64 in card and "TF-IDF + logistic regression | 1.000" in card
    assert "| Scripts of the labelled texts | Latin 100% |" in card and "| Source |" not in card
    # prompts: null (the default) takes the opening words of held-out corpus documents
    assert [line.split("**")[1] for line in outputs["sample_generations"].splitlines() if line.startswith("**")] == [
        "Open a socket and",
        "Read the file from",
        "Round the decimal to",
    ]
