"""A fingerprint of the data and the parameters that shaped it: equal fingerprints, equal outputs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pandas as pd


def _chunks(table) -> Iterator[pd.DataFrame]:
    """A DataFrame whole; an Arrow-backed ``datasets.Dataset`` 100k rows at a time (never all in memory)."""
    if isinstance(table, pd.DataFrame):
        yield table
        return
    for batch in table.with_format("arrow").iter(batch_size=100_000):
        yield batch.to_pandas()


def fingerprint(tables: dict, params: dict) -> str:
    """sha256 over every table's columns and values (in row order) and the JSON of ``params``.

    A table is a DataFrame or a ``datasets.Dataset``; both of the same rows give the same fingerprint.
    """
    digest = hashlib.sha256()
    for name in sorted(tables):
        table = tables[name]
        digest.update(f"{name}:{list(table.columns if isinstance(table, pd.DataFrame) else table.column_names)}:{len(table)}".encode())
        for chunk in _chunks(table):
            digest.update(pd.util.hash_pandas_object(chunk.astype(str), index=False).to_numpy().tobytes())
    digest.update(json.dumps(params, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()
