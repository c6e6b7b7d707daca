"""Model directories: ``model.safetensors`` + ``config.json`` + ``tokenizer.json``. No pickle anywhere.

``config.json`` holds the model config under ``model``, a classifier's labels and pooling under
``classifier`` (its presence makes the directory load as a ``SequenceClassifier``), and any
other metadata beside them.

A directory is written under a temporary name and renamed into place, so a reader never sees a
half-written model and a failed save leaves the previous model intact.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model
from tokenizers import Tokenizer

from lmladder.errors import ConfigError, CorruptFileError
from lmladder.model.classifier import ClassifierConfig, SequenceClassifier
from lmladder.model.model import ModelConfig, Transformer

WEIGHTS, CONFIG, TOKENIZER = "model.safetensors", "config.json", "tokenizer.json"
RESERVED_KEYS = {"model", "classifier"}


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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a saved model is for everyone who can read the project
    try:
        save_model(bundle.model, str(staging / WEIGHTS))  # handles tied weights, unlike save_file
        config = {"model": bundle.model.config.to_dict(), **bundle.metadata}
        if isinstance(bundle.model, SequenceClassifier):
            config["classifier"] = bundle.model.classifier_config.to_dict()
        (staging / CONFIG).write_text(json.dumps(config, indent=2))
        bundle.tokenizer.save(str(staging / TOKENIZER))
        if path.exists():
            previous = path.with_name(f".{path.name}.previous")
            shutil.rmtree(previous, ignore_errors=True)
            os.replace(path, previous)
            os.replace(staging, path)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def load_model_directory(path: str | Path) -> ModelBundle:
    """Load a model directory; any missing or damaged file raises ``CorruptFileError`` naming it."""
    path = Path(path)
    for name in (WEIGHTS, CONFIG, TOKENIZER):
        if not (path / name).is_file():
            raise CorruptFileError(f"model directory {path} has no {name}; re-run the step that wrote it")
    try:
        config = json.loads((path / CONFIG).read_text())
        if not isinstance(config, dict):
            raise TypeError(f"expected a JSON object, got {type(config).__name__}")
        model_config = ModelConfig.from_dict(config.pop("model"))
        classifier = config.pop("classifier", None)
        if classifier is not None:
            model = SequenceClassifier(model_config, ClassifierConfig(**{**classifier, "labels": tuple(classifier["labels"])}))
        else:
            model = Transformer(model_config)
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptFileError(f"{path / CONFIG} is not a valid model config ({error})") from error
    try:
        load_model(model, str(path / WEIGHTS))
    except (SafetensorError, RuntimeError, OSError) as error:
        raise CorruptFileError(f"{path / WEIGHTS} could not be loaded ({error}); it is truncated or from another model") from error
    try:
        tokenizer = Tokenizer.from_file(str(path / TOKENIZER))
    except Exception as error:  # tokenizers raises a bare Exception on bad JSON
        raise CorruptFileError(f"{path / TOKENIZER} could not be loaded ({error})") from error
    model.eval()
    return ModelBundle(model=model, tokenizer=tokenizer, metadata=config)
