"""Exact and near-duplicate removal.

Near duplicates are found with MinHash LSH (datasketch): each document is hashed once and looked
up in the index of the documents kept so far, so the cost grows linearly with the corpus.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pandas as pd
from datasketch import MinHash, MinHashLSH

from lmladder.corpus.ngrams import ngrams, text_units


def dedup_key(text: str) -> str:
    """Documents equal up to case and spacing share this key."""
    return hashlib.sha1(" ".join(text.casefold().split()).encode("utf-8")).hexdigest()


def exact_duplicate_mask(texts: Iterable[str]) -> np.ndarray:
    """True for every text whose key was already seen earlier in the sequence."""
    seen: set[str] = set()
    duplicate = []
    for text in texts:
        key = dedup_key(text)
        duplicate.append(key in seen)
        seen.add(key)
    return np.array(duplicate, dtype=bool)


def near_duplicate_mask(
    texts: Iterable[str],
    threshold: float = 0.8,
    num_perm: int = 128,
    shingle_size: int = 5,
    seed: int = 1,
) -> np.ndarray:
    """True for every text whose estimated Jaccard similarity (on unit shingles) to an earlier
    kept text is at least ``threshold``."""
    texts = list(texts)
    shingle_sets = [ngrams(text_units(text), shingle_size) for text in texts]
    # MinHash.generator draws the permutations once for all documents: per document they dominate.
    signatures = MinHash.generator(
        ([shingle.encode("utf-8") for shingle in shingles] for shingles in shingle_sets), num_perm=num_perm, seed=seed
    )
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    duplicate = []
    for index, (shingles, signature) in enumerate(zip(shingle_sets, signatures)):
        is_duplicate = bool(shingles) and bool(lsh.query(signature))
        duplicate.append(is_duplicate)
        if not is_duplicate:
            lsh.insert(str(index), signature)
    return np.array(duplicate, dtype=bool)


def deduplicate(
    docs: pd.DataFrame, threshold: float = 0.8, num_perm: int = 128, shingle_size: int = 5, seed: int = 1
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop exact, then near duplicates, keeping the first occurrence of each."""
    exact = exact_duplicate_mask(docs["text"])
    docs = docs[~exact]
    near = near_duplicate_mask(docs["text"], threshold, num_perm, shingle_size, seed)
    stats = {"removed_exact_duplicates": int(exact.sum()), "removed_near_duplicates": int(near.sum())}
    return docs[~near].reset_index(drop=True), stats
