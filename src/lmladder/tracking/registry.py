"""Logging the classifier to the active MLflow run and registering it under an alias."""

from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient

import lmladder
from lmladder.model.directory import ModelBundle, save_model_directory
from lmladder.tracking.pyfunc import MODEL_DIR_ARTIFACT, TEXT_COLUMN, TextClassifierModel, classifier_signature

# What the served model imports, at the versions it was logged with.
PIP_REQUIREMENTS = [f"{name}=={version(name)}" for name in ("mlflow", "torch", "tokenizers", "safetensors", "pandas")]


def log_and_register_classifier(
    bundle: ModelBundle, registered_name: str, alias: str, example_texts: list[str], tags: dict[str, str] | None = None
) -> dict:
    """Log ``bundle`` as a pyfunc model in the active run, register a new version, point ``alias`` at it."""
    with tempfile.TemporaryDirectory() as staging:
        model_dir = Path(staging) / "classifier"
        save_model_directory(bundle, model_dir)
        info = mlflow.pyfunc.log_model(
            name="classifier",
            python_model=TextClassifierModel(),
            artifacts={MODEL_DIR_ARTIFACT: str(model_dir)},
            code_paths=[str(Path(lmladder.__file__).parent)],  # the served model carries its own code
            signature=classifier_signature(list(bundle.model.classifier_config.labels)),
            input_example=pd.DataFrame({TEXT_COLUMN: example_texts}),
            registered_model_name=registered_name,
            pip_requirements=PIP_REQUIREMENTS,
        )
    version = str(info.registered_model_version)
    client = MlflowClient()
    client.set_registered_model_alias(registered_name, alias, version)
    for key, value in (tags or {}).items():
        client.set_model_version_tag(registered_name, version, key, str(value))
    return {
        "name": registered_name,
        "version": version,
        "alias": alias,
        "model_uri": f"models:/{registered_name}@{alias}",
        "logged_model_uri": info.model_uri,
    }
