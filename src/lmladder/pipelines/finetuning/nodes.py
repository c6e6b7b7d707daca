"""Thin nodes over ``lmladder.training.finetune``."""

from __future__ import annotations

import pandas as pd
import pytorch_lightning as pl

from lmladder.model.classifier import default_pooling
from lmladder.model.directory import ModelBundle
from lmladder.tracking.lightning import active_run_logger
from lmladder.training.config import build_optimizer_and_schedule, resolve_precision
from lmladder.training.finetune import build_classifier, finetune
from lmladder.training.generation import build_generator, finetune_generator
from lmladder.validation.gate import check_gate, frame_fingerprint


def _recipe(params: dict, seed: int, prefix: str) -> dict:
    """What every fine-tuning run shares: optimizer and schedule (Hydra partials), the recipe's sizes, the
    trainer (precision resolved), the MLflow logger; the seed is set here, before any model is built."""
    optimizer, lr_schedule = build_optimizer_and_schedule(params, "finetuning")
    pl.seed_everything(seed, workers=True)
    trainer = dict(params["trainer"])
    trainer["precision"] = resolve_precision(trainer["precision"], trainer["accelerator"])
    return {
        "optimizer": optimizer,
        "lr_schedule": lr_schedule,
        "batch_size": params["batch_size"],
        "max_epochs": params["max_epochs"],
        "patience": params["patience"],
        "trainer": trainer,
        "logger": active_run_logger(),
        "metric_prefix": prefix,
        "seed": seed,
    }


def _finetune(
    pretrained: ModelBundle, train: pd.DataFrame, val: pd.DataFrame, params: dict, seed: int, mode: str, prefix: str
) -> tuple[ModelBundle, list[dict]]:
    recipe = _recipe(params, seed, prefix)
    labels = sorted(set(train["label"]) | set(val["label"]))
    pooling = params["pooling"] or default_pooling(pretrained.model.config.architecture)
    model = build_classifier(pretrained.model, labels, mode, pooling, params["dropout"])
    result = finetune(
        model,
        pretrained.tokenizer,
        (train["text"].tolist(), train["label"].tolist()),
        (val["text"].tolist(), val["label"].tolist()),
        class_weighted=params["class_weighted"],
        **recipe,
    )
    metadata = {
        **pretrained.metadata,
        "finetuning": {
            "mode": mode,
            "pooling": pooling,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "best_val_macro_f1": result.best_val_macro_f1,
        },
    }
    history = [{**row, "mode": mode} for row in result.history]
    return ModelBundle(result.model, pretrained.tokenizer, metadata), history


def _check_gate(validated_data: dict, train: pd.DataFrame, val: pd.DataFrame) -> None:
    check_gate(validated_data, {"labelled_train": frame_fingerprint(train), "labelled_val": frame_fingerprint(val)}, "fine-tuning")


def finetune_classifier(pretrained, labelled_train, labelled_val, validated_data, params, seed):
    """The classifier that is evaluated, registered and served (``finetuning.mode``)."""
    _check_gate(validated_data, labelled_train, labelled_val)
    return _finetune(pretrained, labelled_train, labelled_val, params, seed, params["mode"], "finetune.")


def finetune_baseline(pretrained, labelled_train, labelled_val, validated_data, params, seed):
    """The same recipe in ``finetuning.baseline_mode`` (default: from scratch), for comparison."""
    _check_gate(validated_data, labelled_train, labelled_val)
    return _finetune(pretrained, labelled_train, labelled_val, params, seed, params["baseline_mode"], "baseline.")


def _finetune_generator(
    pretrained: ModelBundle, train: pd.DataFrame, val: pd.DataFrame, params: dict, seed: int, mode: str, prefix: str
) -> tuple[ModelBundle, list[dict]]:
    recipe = _recipe(params, seed, prefix)
    model = build_generator(pretrained.model, mode)
    generation = params["generation"]
    result = finetune_generator(
        model,
        pretrained.tokenizer,
        (train["text"].tolist(), train["target"].tolist()),
        (val["text"].tolist(), val["target"].tolist()),
        max_target_tokens=generation["max_target_tokens"],
        **recipe,
    )
    metadata = {
        **pretrained.metadata,
        "task": "generation",
        "generation": dict(generation),
        "finetuning": {
            "mode": mode,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "best_val_loss": result.best_val_loss,
        },
    }
    history = [{**row, "mode": mode} for row in result.history]
    return ModelBundle(result.model, pretrained.tokenizer, metadata), history


def finetune_generator_node(pretrained, labelled_train, labelled_val, validated_data, params, seed):
    """The generator that is evaluated, registered and served (``task: generation``, ``finetuning.mode``):
    an encoder-decoder fine-tuned directly, a decoder as a prefix LM."""
    _check_gate(validated_data, labelled_train, labelled_val)
    return _finetune_generator(pretrained, labelled_train, labelled_val, params, seed, params["mode"], "finetune.")


def finetune_generator_baseline(pretrained, labelled_train, labelled_val, validated_data, params, seed):
    """The same recipe in ``finetuning.baseline_mode`` (default: from scratch), for comparison."""
    _check_gate(validated_data, labelled_train, labelled_val)
    return _finetune_generator(pretrained, labelled_train, labelled_val, params, seed, params["baseline_mode"], "baseline.")
