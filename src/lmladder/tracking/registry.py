"""Logging the classifier to the active MLflow run and registering it under an alias.

The model is logged as code (``served_model.py``) with the safetensors model directory as an
artifact and lmladder's code in ``code/``: nothing in it is a pickle, and loading it unpickles nothing.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

import lmladder
from lmladder.errors import ConfigError
from lmladder.model.directory import ModelBundle, save_model_directory
from lmladder.tracking.champion import version_by_alias
from lmladder.tracking.pyfunc import MAX_TEXT_CHARS, MODEL_DIR_ARTIFACT, TEXT_COLUMN, checked_max_text_chars, classifier_signature

# What the served model imports, at the versions it was logged with.
PIP_REQUIREMENTS = [f"{name}=={version(name)}" for name in ("mlflow", "torch", "tokenizers", "safetensors", "pandas")]
LABEL_SET_TAG = "label_set"
# The model's code file, run by MLflow when the model is loaded (models from code: no pickle).
MODEL_CODE = Path(__file__).with_name("served_model.py")

log = logging.getLogger(__name__)


def check_label_set_for_alias(registered_name: str, alias: str, labels: list[str], allow_change: bool = False) -> None:
    """Refuse to point ``alias`` at a model with other labels than the version it points at now: a
    server following ``@alias`` would silently start answering another question."""
    current = version_by_alias(registered_name, alias)
    if current is None or LABEL_SET_TAG not in current.tags:
        return
    current_labels = json.loads(current.tags[LABEL_SET_TAG])
    if current_labels == list(labels):
        return
    if allow_change:
        log.warning("Moving %s@%s from labels %s (v%s) to labels %s", registered_name, alias, current_labels, current.version, list(labels))
        return
    raise ConfigError(
        f"{registered_name}@{alias} points at v{current.version}, a classifier of labels {current_labels}; this model's labels "
        f"are {list(labels)}. Register it under another evaluation.registered_model_name, or set "
        "evaluation.allow_label_set_change: true to move the alias anyway."
    )


def log_and_register_classifier(
    bundle: ModelBundle,
    registered_name: str,
    alias: str,
    example_texts: list[str],
    tags: dict[str, str] | None = None,
    allow_label_set_change: bool = False,
    *,
    max_text_chars: int,
) -> dict:
    """Log ``bundle`` as a pyfunc model in the active run, register a new version, point ``alias`` at it.

    The version's ``label_set`` tag records its labels; see ``check_label_set_for_alias``.
    The served model refuses texts longer than ``max_text_chars`` (its model config, changeable at load time).
    """
    labels = list(bundle.model.classifier_config.labels)
    model_config = {MAX_TEXT_CHARS: checked_max_text_chars(max_text_chars)}
    check_label_set_for_alias(registered_name, alias, labels, allow_label_set_change)
    with tempfile.TemporaryDirectory() as staging:
        model_dir = Path(staging) / "classifier"
        save_model_directory(bundle, model_dir)
        # The served model carries its own code; without the bytecode caches of this checkout.
        code = Path(staging) / "lmladder"
        shutil.copytree(Path(lmladder.__file__).parent, code, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        info = mlflow.pyfunc.log_model(
            name="classifier",
            python_model=str(MODEL_CODE),
            model_config=model_config,
            artifacts={MODEL_DIR_ARTIFACT: str(model_dir)},
            code_paths=[str(code)],
            signature=classifier_signature(labels),
            input_example=pd.DataFrame({TEXT_COLUMN: example_texts}),
            registered_model_name=registered_name,
            pip_requirements=PIP_REQUIREMENTS,
        )
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(registered_name, alias, version)
    for key, value in {**(tags or {}), LABEL_SET_TAG: json.dumps(labels, ensure_ascii=False)}.items():
        client.set_model_version_tag(registered_name, version, key, str(value))
    return {
        "name": registered_name,
        "version": version,
        "alias": alias,
        "model_uri": f"models:/{registered_name}@{alias}",
        "logged_model_uri": info.model_uri,
    }
