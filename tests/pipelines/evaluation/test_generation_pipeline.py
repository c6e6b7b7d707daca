"""task: generation through the same finetuning and evaluation pipelines, on real tiny models: the generator
and its baseline are trained, scored with BLEU/chrF/ROUGE-L beside the retrieval baseline, registered as
a pyfunc model, and described in the model card."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from mlflow import MlflowClient

from lmladder.corpus.packing import TokenFile
from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.model import build_model, model_config
from lmladder.model.directory import ModelBundle
from lmladder.pipelines.evaluation import create_pipeline as evaluation
from lmladder.pipelines.finetuning import create_pipeline as finetuning
from tests.conftest import add_parameters, load_parameters
from tests.pipelines.model_inputs import passed_gate

THINGS = ["socket", "file", "path", "number", "request", "header", "folder", "value", "client", "server", "record", "column"]
VERBS = ["get", "set", "read", "write"]


def pairs(things: list[str]) -> pd.DataFrame:
    rows = [
        (
            f"m:{verb}_{thing}",
            "m",
            f"def {verb}_{thing}(self):\n    return self._{thing}",
            f"{verb.capitalize()} the {thing} of this object.",
        )
        for verb in VERBS
        for thing in things
    ]
    return pd.DataFrame(rows, columns=["id", "module", "text", "target"])


def generation_inputs(architecture: str) -> dict:
    train, val, test = pairs(THINGS[:8]), pairs(THINGS[8:10]), pairs(THINGS[10:])
    tokenizer = train_bpe_tokenizer(pd.concat([train["text"], train["target"]]).tolist() * 3, 360)
    torch.manual_seed(0)
    model = build_model(model_config("nano", vocab_size=tokenizer.get_vocab_size(), max_positions=48, architecture=architecture))
    pretrained = ModelBundle(model, tokenizer, {"training": {"model.preset": "nano", "model.flops_per_token": 1000, "train.max_steps": 0}})
    return {
        "pretrained_model": pretrained,
        "labelled_train": train,
        "labelled_val": val,
        "labelled_test": test,
        "validated_data": passed_gate(train, val, test),
    }


@pytest.fixture
def tracking(tmp_path):
    previous = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=MlflowClient(uri).create_experiment("generation-test")) as run:
        yield run
    mlflow.set_tracking_uri(previous)


@pytest.mark.parametrize("architecture", ["encoder-decoder", "decoder"])
def test_generation_is_fine_tuned_scored_registered_and_described(tmp_path, tracking, architecture):
    params = load_parameters("test")
    params["task"] = "generation"
    params["finetuning"].update(max_epochs=3, patience=3)
    params["finetuning"]["generation"]["max_target_tokens"] = 12
    params["evaluation"].update(latency_repeats=3, lm_max_windows=2)
    inputs = generation_inputs(architecture)
    tokenizer = inputs["pretrained_model"].tokenizer
    ids = [token for text in inputs["labelled_val"]["text"] for token in tokenizer.encode(text).ids] * 4
    metadata = {"token_count": len(ids), "vocab_size": tokenizer.get_vocab_size(), "dtype": "uint16", "bytes_per_token": 2.0}
    inputs["val_tokens"] = TokenFile(path=tmp_path / "val.bin", tokens=np.array(ids, dtype=np.uint16), metadata=metadata)
    inputs["corpus_summary"] = {
        "fingerprint": "f" * 64,
        "corpus": {"docs_out": 10},
        "tokens": {"train_tokens": 1000, "val_tokens": 100},
        "labelled": {"train_examples": 32, "val_examples": 8, "test_examples": 8},
    }
    catalog = DataCatalog()
    for name, value in inputs.items():
        catalog[name] = value
    add_parameters(catalog, params)
    pipeline = finetuning(task="generation") + evaluation(task="generation")
    outputs = {name: dataset.load() for name, dataset in SequentialRunner().run(pipeline, catalog).items()}

    metrics = outputs["evaluation_metrics"]
    for name in ("generator.chrf", "generator.bleu", "generator.rouge_l", "generator.exact_match", "scratch.chrf", "retrieval.chrf"):
        assert 0 <= metrics[name]["value"] <= 100, name
    assert "cost.ms_per_generated_token" in metrics and "lm.loss" in metrics
    summary = outputs["evaluation_summary"]
    assert summary["task"] == "generation" and summary["generator"]["count"] == 8
    assert summary["finetuning"]["mode"] == "full" and summary["finetuning"]["epochs_run"] == 3
    registered_name = params["evaluation"]["generator_registered_model_name"]
    assert summary["registration"]["model_uri"] == f"models:/{registered_name}@candidate"
    served = mlflow.pyfunc.load_model(f"models:/{registered_name}@candidate")
    answer = served.predict(pd.DataFrame({"text": inputs["labelled_test"]["text"].tolist()[:2]}))
    assert list(answer.columns) == ["generated_text"] and all(isinstance(text, str) for text in answer["generated_text"])

    card = outputs["model_card"]
    assert "Text generator (source text -> target text)" in card and "| Fine-tuned generator |" in card
    assert "TF-IDF nearest neighbour (retrieval)" in card and "Calibration\n\nDoes not apply" in card
    assert "Sample outputs (test split)" in card and "Get the record of this object." in card
