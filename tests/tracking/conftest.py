"""A fresh MLflow tracking store, a small sentiment classifier to register in it, and a check that the
mlflow CLI starts (for the tests that serve a model)."""

from __future__ import annotations

import subprocess
import sys

import mlflow
import pytest
import torch
from mlflow import MlflowClient

from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.model import model_config
from lmladder.model.classifier import ClassifierConfig, SequenceClassifier
from lmladder.model.directory import ModelBundle
from lmladder.tracking.registry import log_and_register_classifier

LABELS = ("neg", "neu", "pos")
MAX_TEXT_CHARS = 20000  # the default of evaluation.max_text_chars
TEXTS = ["the movie was good and the acting was great", "the film was bad and the plot was dull"] * 20


def make_bundle(seed: int = 0, labels: tuple[str, ...] = LABELS) -> ModelBundle:
    tokenizer = train_bpe_tokenizer(TEXTS, 300)
    torch.manual_seed(seed)
    config = model_config("nano", vocab_size=tokenizer.get_vocab_size(), max_positions=32)
    model = SequenceClassifier(config, ClassifierConfig(labels, "last"))
    torch.nn.init.normal_(model.head.weight, std=1.0)  # distinct, confident predictions per text
    return ModelBundle(model.eval(), tokenizer, {"task": "sentiment"})


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """A fresh SQLite tracking store and registry; the previous URIs come back afterwards."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    previous_tracking, previous_registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment_id = MlflowClient(uri).create_experiment("lmladder-test", artifact_location=(tmp_path / "artifacts").as_uri())
    yield uri, experiment_id
    mlflow.set_tracking_uri(previous_tracking)
    mlflow.set_registry_uri(previous_registry)


def register(
    experiment_id, bundle, name="clf", alias="candidate", tags=None, allow_label_set_change=False, max_text_chars=MAX_TEXT_CHARS
) -> dict:
    with mlflow.start_run(experiment_id=experiment_id):
        return log_and_register_classifier(
            bundle, name, alias, ["good film", ""], tags=tags, allow_label_set_change=allow_label_set_change, max_text_chars=max_text_chars
        )


@pytest.fixture(scope="module")
def mlflow_cli():
    """Skips the test when the mlflow CLI cannot start."""
    probe = subprocess.run([sys.executable, "-m", "mlflow", "--version"], capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        pytest.skip(f"the mlflow CLI cannot be started: {probe.stderr.strip()[-500:]}")
