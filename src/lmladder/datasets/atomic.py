"""Any single-file Kedro dataset, saved atomically.

kedro-datasets' file datasets (pandas, json, text, matplotlib, ...) write in place: a save that
fails half-way (disk full, permission error, a crash) leaves a truncated file under the real name and
the previous good file is lost. This wrapper saves through the same dataset type to a temporary file
beside the target and renames it into place only once it is complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from lmladder.atomic import atomic_path


def save_failed(target: Path, error: BaseException) -> DatasetError:
    """The error for a save that failed and left the previous ``target`` in place: it names the file, the
    root cause (inner datasets wrap it) and, for a full disk or a permission error, what to do."""
    cause = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    hint = " Free disk space or fix the folder's permissions, then run again." if isinstance(cause, OSError) else ""
    return DatasetError(f"could not save {target} ({cause}); the previous {target.name} is unchanged.{hint}")


class AtomicDataset(AbstractDataset[Any, Any]):
    """``dataset``: the file dataset's type (``pandas.ParquetDataset``) or its config without
    ``filepath`` (``{type: json.JSONDataset, save_args: {indent: 2}}``); ``filepath``: the file.

    Loads from ``filepath``. Saves to a temporary file in the same folder, then renames it over
    ``filepath``; on failure the temporary file is removed and the previous file is untouched.
    ``_filepath`` is the attribute kedro-mlflow's ``MlflowArtifactDataset`` reads to find the file
    to log, so this dataset can be wrapped in one.

    Example::

        corpus_train:
          type: lmladder.datasets.AtomicDataset
          dataset: pandas.ParquetDataset
          filepath: data/${globals:workspace}/03_primary/corpus_train.parquet
    """

    def __init__(self, dataset: str | dict[str, Any], filepath: str, metadata: dict[str, Any] | None = None):
        config = {"type": dataset} if isinstance(dataset, str) else dict(dataset)
        if "type" not in config:
            raise DatasetError(f"AtomicDataset for {filepath}: `dataset` needs a `type`, e.g. `dataset: pandas.ParquetDataset`")
        misplaced = sorted({"filepath", "path", "versioned"} & set(config))
        if misplaced:
            raise DatasetError(
                f"AtomicDataset for {filepath}: remove {misplaced} from `dataset`; the file is the AtomicDataset's own "
                "`filepath`, and versioning is not supported (the file is replaced on every save)"
            )
        if "://" in str(filepath):
            raise DatasetError(f"AtomicDataset writes local files only (an atomic rename needs one file system), got {filepath}")
        self._config = config
        self._filepath = Path(filepath)
        self._dataset = self._dataset_at(self._filepath)  # built now, so a bad type fails when the catalog loads
        self.metadata = metadata

    def _dataset_at(self, filepath: Path) -> AbstractDataset:
        return AbstractDataset.from_config(str(self._filepath), {**self._config, "filepath": str(filepath)})

    def load(self) -> Any:
        return self._dataset.load()

    def save(self, data: Any) -> None:
        try:
            with atomic_path(self._filepath) as temporary:
                self._dataset_at(temporary).save(data)
                if not temporary.is_file():
                    raise DatasetError(
                        f"{self._config['type']} wrote a folder, not one file, for {self._filepath} (a list or dict of "
                        "plots?); AtomicDataset saves single files: save one object, or use the inner dataset directly"
                    )
        except Exception as error:
            raise save_failed(self._filepath, error) from error

    def _exists(self) -> bool:
        return self._dataset.exists()

    def _release(self) -> None:
        self._dataset.release()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "dataset": str(self._config["type"])}
