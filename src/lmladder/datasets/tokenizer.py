"""A ``tokenizers`` tokenizer saved as its ``tokenizer.json``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset
from tokenizers import Tokenizer


class TokenizerDataset(AbstractDataset[Tokenizer, Tokenizer]):
    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def load(self) -> Tokenizer:
        return Tokenizer.from_file(str(self._filepath))

    def save(self, tokenizer: Tokenizer) -> None:
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        partial = self._filepath.with_name(self._filepath.name + ".tmp")
        tokenizer.save(str(partial))
        os.replace(partial, self._filepath)  # never a half-written tokenizer.json

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
