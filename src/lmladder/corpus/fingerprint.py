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


def inputs_fingerprint(raw_corpus, raw_labelled, data_processing: dict, task: str = "classification") -> str:
    """The fingerprint of data_processing's inputs: the raw corpus, the raw labelled data and the
    ``data_processing`` parameters the task reads (classification: not ``pairs``; generation: not
    ``labelled``), and the ``task`` when it is not classification: it changes the labelled outputs and
    which documents decontamination removes. So a change to the other task's settings never makes the
    data look changed (to retraining, or to checkpoint keys). ``retraining.plan`` computes the same."""
    unread = "pairs" if task == "classification" else "labelled"
    params = {key: value for key, value in data_processing.items() if key != unread}
    if task != "classification":
        params["task"] = task
    return fingerprint({"corpus": raw_corpus, "labelled": raw_labelled}, params)
