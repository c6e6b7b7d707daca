"""Deterministic splits by hashed keys: the same document lands in the same split on every run
and on every machine, whatever the order the rows arrive in."""

from __future__ import annotations

import hashlib

import pandas as pd

from lmladder.corpus.dedup import dedup_key
from lmladder.errors import ConfigError


def hash_fraction(key: str, seed: int) -> float:
    """A number in [0, 1) fixed by ``key`` and ``seed``."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def check_fractions(**fractions: float) -> None:
    for name, value in fractions.items():
        if not 0 <= value < 1:
            raise ConfigError(f"{name} must be in [0, 1), got {value!r}")
    if sum(fractions.values()) >= 1:
        raise ConfigError(f"{' + '.join(fractions)} must leave some data for training, got {sum(fractions.values())}")


def split_corpus(docs: pd.DataFrame, val_fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train/val by hashed ``doc_id``."""
    check_fractions(val_fraction=val_fraction)
    in_val = docs["doc_id"].map(lambda doc_id: hash_fraction(doc_id, seed) < val_fraction)
    return docs[~in_val].reset_index(drop=True), docs[in_val].reset_index(drop=True)


def split_labelled(
    examples: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train/val/test stratified by label.

    Within each label, examples are ordered by the hash of their normalised text and cut at the
    requested shares; keying on text (not id) keeps identical texts in one split.
    """
    check_fractions(val_fraction=val_fraction, test_fraction=test_fraction)
    keys = examples["text"].map(dedup_key)
    split_of_key: dict[str, str] = {}
    for _, group_keys in keys.groupby(examples["label"], sort=True):
        # Cut the distinct texts of the class, ordered by hash, so copies of a text share a split.
        unique_keys = sorted(set(group_keys), key=lambda key: hash_fraction(key, seed))
        n_test = round(len(unique_keys) * test_fraction)
        n_val = round(len(unique_keys) * val_fraction)
        for position, key in enumerate(unique_keys):
            split_of_key.setdefault(key, "test" if position < n_test else "val" if position < n_test + n_val else "train")
    # Rows ordered by label and hash too, so the splits do not depend on the input's row order.
    ordered = examples.assign(_split=keys.map(split_of_key), _order=keys.map(lambda key: hash_fraction(key, seed)))
    ordered = ordered.sort_values(["label", "_order"], kind="stable")
    return tuple(  # type: ignore[return-value]
        ordered[ordered["_split"] == name].drop(columns=["_split", "_order"]).reset_index(drop=True) for name in ("train", "val", "test")
    )
