"""One catalog type for every raw text source, so switching data is a catalog edit."""

from __future__ import annotations

from typing import Any

import datasets
import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from lmladder.corpus import sources
from lmladder.corpus.stdlib_docs import build_stdlib_corpus

SOURCES = ("stdlib_docs", "text_files", "table", "hub")


class TextSourceDataset(AbstractDataset[None, "pd.DataFrame | datasets.Dataset"]):
    """Read-only raw text as a DataFrame, or with ``in_memory: false`` as a memory-mapped Arrow
    ``datasets.Dataset`` for corpora larger than memory (the same columns; text files give one
    ``text`` column, ids are then row numbers; see README, "Corpora larger than memory").

    ``source``:
      - ``stdlib_docs``: the docstrings of the running Python's standard library and its pydoc
        topics (columns ``doc_id``, ``source`` = module, ``text``); needs no path.
      - ``text_files``: files matched by the glob ``path``, one document per ``document_unit``
        (file, paragraph or line); columns ``doc_id``, ``source``, ``text``, ``invalid_utf8``.
      - ``table``: a CSV/TSV/JSONL/Parquet file at ``path``, all its columns as they are.
      - ``hub``: ``datasets.load_dataset(dataset, name, split=split, **load_args)``, all columns;
        ``dataset`` is a Hub id such as ``Salesforce/wikitext`` (Kedro makes a relative ``path``
        absolute, so a Hub id must not go in ``path``; ``path`` is for a local dataset folder).

    Text and CSV/TSV/JSONL files are read as UTF-8, or in the encoding a byte-order mark names
    (UTF-16 or UTF-32, as Windows tools save "Unicode" text; refused with ``in_memory: false``). A
    table in another encoding names it in ``load_args``, e.g. ``{encoding: cp1252}``.

    Example::

        raw_corpus:
          type: lmladder.datasets.TextSourceDataset
          source: text_files
          path: data/01_raw/my_text/**/*.txt
    """

    def __init__(
        self,
        source: str,
        path: str | list[str] | None = None,
        name: str | None = None,
        split: str = "train",
        dataset: str | None = None,
        file_format: str | None = None,
        document_unit: str = "file",
        max_invalid_utf8_ratio: float = 0.01,
        in_memory: bool = True,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        if source not in SOURCES:
            raise DatasetError(f"TextSourceDataset source must be one of {SOURCES}, got {source!r}")
        if source == "hub" and not (dataset or path):
            raise DatasetError("TextSourceDataset with source 'hub' needs a dataset (a Hub id) or a path (a local dataset folder)")
        if source not in ("stdlib_docs", "hub") and not path:
            raise DatasetError(f"TextSourceDataset with source {source!r} needs a path")
        self._source = source
        self._path = path
        self._dataset = dataset
        self._name = name
        self._split = split
        self._file_format = file_format
        self._document_unit = document_unit
        self._max_invalid_utf8_ratio = max_invalid_utf8_ratio
        self._in_memory = in_memory
        self._load_args = load_args or {}
        self.metadata = metadata

    def load(self) -> pd.DataFrame | datasets.Dataset:
        if not self._in_memory:
            return self._load_arrow()
        if self._source == "stdlib_docs":
            return build_stdlib_corpus()
        if self._source == "text_files":
            return sources.read_text_files(self._path, self._document_unit, self._max_invalid_utf8_ratio)
        if self._source == "table":
            return sources.read_table(self._path, self._file_format, **self._load_args)
        return sources.load_hub_dataset(self._dataset or self._path, self._name, self._split, **self._load_args)

    def _load_arrow(self) -> datasets.Dataset:
        if self._source == "stdlib_docs":
            return datasets.Dataset.from_pandas(build_stdlib_corpus(), preserve_index=False)
        if self._source == "text_files":
            return sources.text_files_dataset(self._path, self._document_unit, self._load_args.get("cache_dir"))
        if self._source == "table":
            return sources.table_dataset(self._path, self._file_format, **self._load_args)
        return sources.load_hub_dataset(self._dataset or self._path, self._name, self._split, in_memory=False, **self._load_args)

    def save(self, data: None) -> None:
        raise DatasetError("TextSourceDataset is read-only: it describes raw input data")

    def _describe(self) -> dict[str, Any]:
        return {
            "source": self._source,
            "path": self._path,
            "dataset": self._dataset,
            "name": self._name,
            "split": self._split,
            "in_memory": self._in_memory,
        }
