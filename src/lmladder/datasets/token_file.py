"""Flat token files (``.bin`` + ``.json`` metadata) written from a lazy ``TokenStream``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from lmladder.corpus.packing import TokenFile, TokenStream, metadata_path, read_token_file, write_token_file
from lmladder.datasets.atomic import save_failed


class TokenFileDataset(AbstractDataset[TokenStream, TokenFile]):
    """Saves a ``TokenStream`` incrementally; loads a memory-mapped ``TokenFile``."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> TokenFile:
        return read_token_file(self._filepath)

    def save(self, stream: TokenStream) -> None:
        try:
            write_token_file(self._filepath, stream)
        except OSError as error:
            raise save_failed(self._filepath, error) from error

    def _exists(self) -> bool:
        return self._filepath.exists() and metadata_path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
