"""A model directory (safetensors + config + tokenizer), logged to the active MLflow run on save."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
from kedro.io import AbstractDataset

from lmladder.atomic import os_error
from lmladder.datasets.atomic import save_failed

if TYPE_CHECKING:
    from lmladder.model.directory import ModelBundle


class ModelDirectoryDataset(AbstractDataset["ModelBundle", "ModelBundle"]):
    """``artifact_path``: where in the active MLflow run the directory is logged (null: not logged)."""

    def __init__(self, path: str, artifact_path: str | None = None, metadata: dict[str, Any] | None = None):
        self._path = Path(path)
        self._artifact_path = artifact_path
        self.metadata = metadata

    # torch is imported when a model is loaded or saved, not when Kedro builds the catalog (every run)
    def load(self) -> ModelBundle:
        from lmladder.model.directory import load_model_directory

        return load_model_directory(self._path)

    def save(self, bundle: ModelBundle) -> None:
        from lmladder.model.directory import save_model_directory

        try:
            save_model_directory(bundle, self._path)
        except Exception as error:  # safetensors and tokenizers report a full disk as their own errors
            failure = os_error(error)
            if failure is None:
                raise
            raise save_failed(self._path, failure) from error
        if self._artifact_path and mlflow.active_run() is not None:
            mlflow.log_artifacts(str(self._path), self._artifact_path)

    def _exists(self) -> bool:
        return (self._path / "model.safetensors").exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "artifact_path": self._artifact_path}
