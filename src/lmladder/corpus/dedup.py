"""Exact and near-duplicate removal.

Near duplicates are found with MinHash LSH (datasketch): each document is hashed once and looked
up in the index of the documents kept so far, so the cost grows linearly with the corpus. For
corpora larger than memory, ``lsh_band_hashes`` gives each document one 64-bit number per LSH band
instead, so duplicates can be found from columns of numbers (see ``lmladder.corpus.large``).
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


def _signatures(shingle_sets: list[set[str]], num_perm: int, seed: int) -> list[MinHash]:
    # MinHash.generator draws the permutations once for all documents: per document they dominate.
    return list(
        MinHash.generator(([shingle.encode("utf-8") for shingle in shingles] for shingles in shingle_sets), num_perm=num_perm, seed=seed)
    )


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
    signatures = _signatures(shingle_sets, num_perm, seed)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    duplicate = []
    for index, (shingles, signature) in enumerate(zip(shingle_sets, signatures, strict=True)):
        is_duplicate = bool(shingles) and bool(lsh.query(signature))
        duplicate.append(is_duplicate)
        if not is_duplicate:
            lsh.insert(str(index), signature)
    return np.array(duplicate, dtype=bool)


_FNV_OFFSET, _FNV_PRIME = np.uint64(0xCBF29CE484222325), np.uint64(0x100000001B3)


def _mix(values: np.ndarray) -> np.ndarray:
    """One 64-bit hash per row of a uint64 matrix (FNV-1a over the words, then the splitmix64 finaliser)."""
    hashed = np.full(len(values), _FNV_OFFSET, dtype=np.uint64)
    with np.errstate(over="ignore"):  # multiplication modulo 2**64 is the point
        for column in values.T:
            hashed = (hashed ^ column) * _FNV_PRIME
        hashed ^= hashed >> np.uint64(30)
        hashed *= np.uint64(0xBF58476D1CE4E5B9)
        hashed ^= hashed >> np.uint64(27)
        hashed *= np.uint64(0x94D049BB133111EB)
        hashed ^= hashed >> np.uint64(31)
    return hashed


def lsh_band_hashes(texts: Iterable[str], threshold: float = 0.8, num_perm: int = 128, shingle_size: int = 5, seed: int = 1) -> np.ndarray:
    """A ``(len(texts), bands)`` uint64 matrix: two texts share a value in some column exactly when
    ``near_duplicate_mask``'s LSH index would return one for the other (same bands and rows as
    datasketch's ``MinHashLSH(threshold, num_perm)``). Texts without shingles get 0 in every band,
    which callers must treat as "no band"."""
    shingle_sets = [ngrams(text_units(text), shingle_size) for text in texts]
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    bands = np.zeros((len(shingle_sets), lsh.b), dtype=np.uint64)
    if not shingle_sets:
        return bands
    values = np.stack([signature.hashvalues for signature in _signatures(shingle_sets, num_perm, seed)]).astype(np.uint64)
    for band, (start, end) in enumerate(lsh.hashranges):
        bands[:, band] = _mix(values[:, start:end])
    bands[[not shingles for shingles in shingle_sets]] = 0
    return bands


def band_duplicate_mask(band_columns: Iterable[np.ndarray]) -> np.ndarray:
    """True for every row sharing a band value with an earlier row (0 is "no band"); the columns
    are those of ``lsh_band_hashes`` (``bands.T``), or read one by one from a larger-than-memory table.

    Unlike ``near_duplicate_mask``, a row is compared with every earlier row, not only the kept
    ones: in a chain A~B~C where A and C differ, C goes too. It needs one band column at a time in
    memory, which is what makes it work on any number of documents.
    """
    duplicate = None
    for column in band_columns:
        if duplicate is None:
            rows, duplicate = np.arange(len(column)), np.zeros(len(column), dtype=bool)
        _, first, inverse = np.unique(column, return_index=True, return_inverse=True)
        duplicate |= (first[inverse] < rows) & (column != 0)
    return np.zeros(0, dtype=bool) if duplicate is None else duplicate


def deduplicate(
    docs: pd.DataFrame, threshold: float = 0.8, num_perm: int = 128, shingle_size: int = 5, seed: int = 1
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop exact, then near duplicates, keeping the first occurrence of each."""
    exact = exact_duplicate_mask(docs["text"])
    docs = docs[~exact]
    near = near_duplicate_mask(docs["text"], threshold, num_perm, shingle_size, seed)
    stats = {"removed_exact_duplicates": int(exact.sum()), "removed_near_duplicates": int(near.sum())}
    return docs[~near].reset_index(drop=True), stats
