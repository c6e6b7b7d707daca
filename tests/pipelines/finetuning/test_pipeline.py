"""The finetuning pipeline: the configured classifier and the from-scratch baseline, on real tiny inputs."""

from __future__ import annotations

import torch

from lmladder.model.classifier import SequenceClassifier
from tests.pipelines.conftest import run_finetuning
from tests.pipelines.model_inputs import model_inputs


def test_classifier_and_scratch_baseline_are_trained_and_described(tmp_path):
    outputs = run_finetuning(tmp_path)
    classifier, baseline = outputs["classifier"], outputs["baseline_classifier"]
    assert isinstance(classifier.model, SequenceClassifier)
    assert classifier.model.classifier_config.labels == ("files", "network", "numbers")
    assert classifier.metadata["finetuning"]["mode"] == "full"
    assert baseline.metadata["finetuning"]["mode"] == "scratch"
    assert classifier.metadata["training"]["model.preset"] == "nano"  # pretraining metadata carried over
    assert [row["epoch"] for row in outputs["finetuning_history"]] == [0, 1, 2]
    assert all(0 <= row["val_macro_f1"] <= 1 for row in outputs["finetuning_history"] + outputs["baseline_history"])
    assert {row["mode"] for row in outputs["baseline_history"]} == {"scratch"}


def test_frozen_mode_keeps_the_pretrained_backbone(tmp_path):
    inputs = model_inputs(tmp_path)
    before = {k: v.clone() for k, v in inputs["pretrained_model"].model.state_dict().items()}
    outputs = run_finetuning(tmp_path, mode="frozen")
    after = outputs["classifier"].model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
