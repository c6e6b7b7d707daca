"""The registered model versions retraining compares and promotes, found by alias."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.models.model import MLMODEL_FILE_NAME

from lmladder.model.directory import ModelBundle, load_model_directory
from lmladder.tracking.pyfunc import MODEL_DIR_ARTIFACT


def version_by_alias(name: str, alias: str) -> ModelVersion | None:
    """The version ``alias`` points at; None when the model or the alias does not exist yet."""
    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def load_registered_bundle(name: str, alias: str) -> ModelBundle:
    """The model directory inside a registered pyfunc classifier, loaded (safetensors, no pickle)."""
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}@{alias}"))
    artifacts = Model.load(str(local / MLMODEL_FILE_NAME)).flavors["python_function"]["artifacts"]
    return load_model_directory(local / artifacts[MODEL_DIR_ARTIFACT]["path"])


def set_alias(name: str, alias: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(name, alias, version)
