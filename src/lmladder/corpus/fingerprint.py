"""A fingerprint of the data and the parameters that shaped it: equal fingerprints, equal outputs."""

from __future__ import annotations

import hashlib
import json

import pandas as pd


def fingerprint(tables: dict[str, pd.DataFrame], params: dict) -> str:
    """sha256 over every table's columns and values (in row order) and the JSON of ``params``."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        table = tables[name]
        digest.update(f"{name}:{list(table.columns)}:{len(table)}".encode("utf-8"))
        row_hashes = pd.util.hash_pandas_object(table.astype(str), index=False).to_numpy()
        digest.update(row_hashes.tobytes())
    digest.update(json.dumps(params, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()
