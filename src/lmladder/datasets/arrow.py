"""Arrow-backed document sets on disk: what the data_processing steps pass on for large corpora."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import pandas as pd
from kedro.io import AbstractDataset

from lmladder.atomic import atomic_directory, os_error, recover_directory
from lmladder.datasets.atomic import save_failed


class ArrowDataset(AbstractDataset["datasets.Dataset | pd.DataFrame", datasets.Dataset]):
    """Saves a ``datasets.Dataset`` (or a DataFrame) with ``save_to_disk``; loads it memory-mapped.

    The folder appears under its name only once complete, so an interrupted save never leaves a
    half-written data set behind for the next run to load.

    Example::

        corpus_train:
          type: lmladder.datasets.ArrowDataset
          path: data/${globals:workspace}/03_primary/corpus_train
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> datasets.Dataset:
        recover_directory(self._path)  # a save killed half-way may have left the previous data set aside
        return datasets.load_from_disk(str(self._path))

    def save(self, data: datasets.Dataset | pd.DataFrame) -> None:
        if isinstance(data, pd.DataFrame):
            data = datasets.Dataset.from_pandas(data, preserve_index=False)
        try:
            with atomic_directory(self._path) as staging:  # the previous data set comes back if the rename fails
                data.save_to_disk(str(staging))
        except Exception as error:
            failure = os_error(error)
            if failure is None:
                raise
            raise save_failed(self._path, failure) from error

    def _exists(self) -> bool:
        return (self._path / "dataset_info.json").exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
