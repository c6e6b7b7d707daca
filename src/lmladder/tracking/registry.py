"""Logging the classifier or the generator to the active MLflow run and registering it under an alias.

The model is logged as code (``served_model.py``) with the safetensors model directory as an
artifact and lmladder's code in ``code/``: nothing in it is a pickle, and loading it unpickles nothing.

An alias does not move from a classifier version to a generator version or back (``check_task_for_alias``):
a server following ``@alias`` would start answering with other columns. A generator version is tagged
``task=generation``; a classifier version is known by its ``label_set`` tag.
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
from lmladder.tracking.pyfunc import (
    CLASSIFICATION_TASK,
    GENERATION_TASK,
    LENGTH_PENALTY,
    MAX_NEW_TOKENS,
    MAX_TEXT_CHARS,
    MODEL_DIR_ARTIFACT,
    NUM_BEAMS,
    TASK,
    TEXT_COLUMN,
    check_generator,
    checked_generation_setting,
    checked_max_new_tokens,
    checked_max_text_chars,
    classifier_signature,
    generator_signature,
)

# What the served model imports, at the versions it was logged with.
PIP_REQUIREMENTS = [f"{name}=={version(name)}" for name in ("mlflow", "torch", "tokenizers", "safetensors", "pandas")]
LABEL_SET_TAG = "label_set"
TASK_TAG = TASK  # "task": set to "generation" on a generator's versions
# The model's code file, run by MLflow when the model is loaded (models from code: no pickle).
MODEL_CODE = Path(__file__).with_name("served_model.py")

log = logging.getLogger(__name__)


def version_task(tags: dict[str, str]) -> str | None:
    """A version's task from its tags: ``generation`` by its ``task`` tag, ``classification`` by its
    ``label_set`` tag; None for a version registered otherwise."""
    if tags.get(TASK_TAG) == GENERATION_TASK:
        return GENERATION_TASK
    return CLASSIFICATION_TASK if LABEL_SET_TAG in tags else None


def check_task_for_alias(registered_name: str, alias: str, task: str, allow_change: bool = False) -> None:
    """Refuse to point ``alias`` at a model of another task (classification, generation) than the
    version it points at now: a server following ``@alias`` would answer with other columns."""
    current = version_by_alias(registered_name, alias)
    current_task = None if current is None else version_task(current.tags)
    if current_task is None or current_task == task:
        return
    if allow_change:
        log.warning("Moving %s@%s from a %s model (v%s) to a %s model", registered_name, alias, current_task, current.version, task)
        return
    raise ConfigError(
        f"{registered_name}@{alias} points at v{current.version}, a {current_task} model; this model's task is {task}. Register "
        "it under another registered model name, or pass allow_task_change=True to move the alias anyway."
    )


def check_label_set_for_alias(
    registered_name: str, alias: str, labels: list[str], allow_change: bool = False, *, allow_task_change: bool = False
) -> None:
    """Refuse to point ``alias`` at a model with other labels than the version it points at now: a
    server following ``@alias`` would silently start answering another question. Nor at a classifier
    when it points at a generator (``check_task_for_alias``)."""
    check_task_for_alias(registered_name, alias, CLASSIFICATION_TASK, allow_task_change)
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
    allow_task_change: bool = False,
) -> dict:
    """Log ``bundle`` as a pyfunc model in the active run, register a new version, point ``alias`` at it.

    The version's ``label_set`` tag records its labels; see ``check_label_set_for_alias``.
    The served model refuses texts longer than ``max_text_chars`` (its model config, changeable at load time).
    """
    labels = list(bundle.model.classifier_config.labels)
    model_config = {MAX_TEXT_CHARS: checked_max_text_chars(max_text_chars)}
    check_label_set_for_alias(registered_name, alias, labels, allow_label_set_change, allow_task_change=allow_task_change)
    return _log_and_register(
        bundle,
        registered_name,
        alias,
        artifact_name="classifier",
        model_config=model_config,
        signature=classifier_signature(labels),
        example_texts=example_texts,
        pip_requirements=PIP_REQUIREMENTS,
        tags={**(tags or {}), LABEL_SET_TAG: json.dumps(labels, ensure_ascii=False)},
    )


def log_and_register_generator(
    bundle: ModelBundle,
    registered_name: str,
    alias: str,
    example_texts: list[str],
    tags: dict[str, str] | None = None,
    *,
    max_text_chars: int,
    max_new_tokens: int | None = None,
    num_beams: int | None = None,
    allow_task_change: bool = False,
) -> dict:
    """Log a generator ``bundle`` (an encoder-decoder, or a decoder fine-tuned as a prefix LM) as a pyfunc
    model in the active run, register a new version tagged ``task=generation``, point ``alias`` at it.

    Its model config holds ``max_text_chars`` (as the classifier's), ``max_new_tokens`` and ``num_beams``
    (by default the model directory's ``generation.max_target_tokens`` and ``generation.num_beams``),
    all changeable at load time. Nothing is registered when one of them is bad or when ``alias`` points
    at a classifier (unless ``allow_task_change``).
    """
    check_generator(bundle)
    generation = bundle.metadata.get("generation")
    generation = generation if isinstance(generation, dict) else {}
    model_config = {
        TASK: GENERATION_TASK,
        MAX_TEXT_CHARS: checked_max_text_chars(max_text_chars, "generator"),
        MAX_NEW_TOKENS: checked_max_new_tokens(
            bundle.model, generation.get("max_target_tokens") if max_new_tokens is None else max_new_tokens
        ),
        NUM_BEAMS: checked_generation_setting(NUM_BEAMS, generation.get(NUM_BEAMS) if num_beams is None else num_beams),
        LENGTH_PENALTY: float(generation.get(LENGTH_PENALTY, 1.0)),  # as evaluated: beam search scores with it
    }
    check_task_for_alias(registered_name, alias, GENERATION_TASK, allow_task_change)
    return _log_and_register(
        bundle,
        registered_name,
        alias,
        artifact_name="generator",
        model_config=model_config,
        signature=generator_signature(),
        example_texts=example_texts,
        pip_requirements=PIP_REQUIREMENTS,
        tags={**(tags or {}), TASK_TAG: GENERATION_TASK},
    )


def _log_and_register(
    bundle: ModelBundle,
    registered_name: str,
    alias: str,
    *,
    artifact_name: str,
    model_config: dict,
    signature,
    example_texts: list[str],
    pip_requirements: list[str],
    tags: dict[str, str],
) -> dict:
    """Log ``bundle`` as code (``served_model.py``) + its model directory + lmladder's code, register a
    new version of ``registered_name``, point ``alias`` at it and set ``tags`` on it."""
    with tempfile.TemporaryDirectory() as staging:
        model_dir = Path(staging) / artifact_name
        save_model_directory(bundle, model_dir)
        # The served model carries its own code; without the bytecode caches of this checkout.
        code = Path(staging) / "lmladder"
        shutil.copytree(Path(lmladder.__file__).parent, code, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        info = mlflow.pyfunc.log_model(
            name=artifact_name,
            python_model=str(MODEL_CODE),
            model_config=model_config,
            artifacts={MODEL_DIR_ARTIFACT: str(model_dir)},
            code_paths=[str(code)],
            signature=signature,
            input_example=pd.DataFrame({TEXT_COLUMN: example_texts}),
            registered_model_name=registered_name,
            pip_requirements=pip_requirements,
        )
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(registered_name, alias, version)
    for key, value in tags.items():
        client.set_model_version_tag(registered_name, version, key, str(value))
    return {
        "name": registered_name,
        "version": version,
        "alias": alias,
        "model_uri": f"models:/{registered_name}@{alias}",
        "logged_model_uri": info.model_uri,
    }
