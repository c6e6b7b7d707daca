"""A ``tokenizers`` tokenizer saved as its ``tokenizer.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from tokenizers import Tokenizer

from lmladder.atomic import atomic_path, os_error
from lmladder.datasets.atomic import save_failed
from lmladder.errors import CorruptFileError


class TokenizerDataset(AbstractDataset[Tokenizer, Tokenizer]):
    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> Tokenizer:
        try:
            return Tokenizer.from_file(str(self._filepath))
        except Exception as error:  # tokenizers raises a bare Exception on a missing file or bad JSON
            raise CorruptFileError(
                f"{self._filepath} could not be loaded as a tokenizer ({error}); re-run the data_processing pipeline to write it again"
            ) from error

    def save(self, tokenizer: Tokenizer) -> None:
        # Never a half-written tokenizer.json, and no temporary file left when the write fails.
        try:
            with atomic_path(self._filepath) as temporary:
                tokenizer.save(str(temporary))
        except Exception as error:  # tokenizers reports a full disk as a bare Exception
            failure = os_error(error)
            if failure is None:
                raise
            raise save_failed(self._filepath, failure) from error

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
