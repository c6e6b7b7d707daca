"""Model directories: ``model.safetensors`` + ``config.json`` + ``tokenizer.json``. No pickle anywhere.

``config.json`` holds the model config under ``model``, a classifier's labels and pooling under
``classifier`` (its presence makes the directory load as a ``SequenceClassifier``), and any
other metadata beside them.

A directory is written under a temporary name and renamed into place, so a reader never sees a
half-written model and a failed save leaves the previous model intact (and nothing else behind).

``config.json`` also records the sha256 of ``model.safetensors`` (``weights_sha256``): a weights file
whose bytes changed after saving (same size, valid header, so safetensors loads it) would otherwise
surface much later as a diverging or useless model. Directories saved before the checksum existed
load with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from tokenizers import Tokenizer

from lmladder.atomic import atomic_directory, recover_directory
from lmladder.errors import ConfigError, CorruptFileError
from lmladder.model.classifier import ClassifierConfig, SequenceClassifier
from lmladder.model.model import ModelConfig, build_model

log = logging.getLogger(__name__)

WEIGHTS, CONFIG, TOKENIZER = "model.safetensors", "config.json", "tokenizer.json"
CHECKSUM = "weights_sha256"
RESERVED_KEYS = {"model", "classifier", CHECKSUM}


@dataclass
class ModelBundle:
    """A model with its tokenizer and free-form metadata (kept in config.json beside the model config)."""

    model: torch.nn.Module
    tokenizer: Tokenizer
    metadata: dict = field(default_factory=dict)


def save_model_directory(bundle: ModelBundle, path: str | Path) -> None:
    reserved = sorted(RESERVED_KEYS & set(bundle.metadata))
    if reserved:
        raise ConfigError(f"model directory metadata may not use the keys {reserved}: config.json keeps the model config there")
    with atomic_directory(path) as staging:
        save_model(bundle.model, str(staging / WEIGHTS))  # handles tied weights, unlike save_file
        config = {"model": bundle.model.config.to_dict(), **bundle.metadata, CHECKSUM: file_sha256(staging / WEIGHTS)}
        if isinstance(bundle.model, SequenceClassifier):
            config["classifier"] = bundle.model.classifier_config.to_dict()
        (staging / CONFIG).write_text(json.dumps(config, indent=2))
        bundle.tokenizer.save(str(staging / TOKENIZER))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_model_directory(path: str | Path) -> ModelBundle:
    """Load a model directory; any missing or damaged file raises ``CorruptFileError`` naming it."""
    path = Path(path)
    recover_directory(path)  # a save killed half-way may have left the previous model aside
    for name in (WEIGHTS, CONFIG, TOKENIZER):
        if not (path / name).is_file():
            raise CorruptFileError(f"model directory {path} has no {name}; re-run the step that wrote it")
    try:
        config = json.loads((path / CONFIG).read_text())
        if not isinstance(config, dict):
            raise TypeError(f"expected a JSON object, got {type(config).__name__}")
        model_config = ModelConfig.from_dict(config.pop("model"))
        classifier = config.pop("classifier", None)
        recorded = config.pop(CHECKSUM, None)
        if classifier is not None:
            model = SequenceClassifier(model_config, ClassifierConfig(**{**classifier, "labels": tuple(classifier["labels"])}))
        else:
            model = build_model(model_config)
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptFileError(f"{path / CONFIG} is not a valid model config ({error})") from error
    try:
        load_model(model, str(path / WEIGHTS))
    except (SafetensorError, RuntimeError, OSError) as error:
        raise CorruptFileError(f"{path / WEIGHTS} could not be loaded ({error}); it is truncated or from another model") from error
    _check_weights(path / WEIGHTS, recorded)  # after loading: a truncated file gets the more precise message above
    try:
        tokenizer = Tokenizer.from_file(str(path / TOKENIZER))
    except Exception as error:  # tokenizers raises a bare Exception on bad JSON
        raise CorruptFileError(f"{path / TOKENIZER} could not be loaded ({error})") from error
    model.eval()
    return ModelBundle(model=model, tokenizer=tokenizer, metadata=config)


def _check_weights(weights: Path, recorded: str | None) -> None:
    if recorded is None:
        log.warning("%s has no recorded checksum (saved by an older lmladder): loading it unverified", weights)
        return
    if file_sha256(weights) != recorded:
        raise CorruptFileError(
            f"{weights} changed since it was saved: its sha256 is not the one {weights.parent / CONFIG} recorded "
            f"({str(recorded)[:12]}...), so its weights are damaged or were replaced. Re-run the step that wrote it "
            "(or restore the directory from its MLflow artifacts)."
        )
