"""Corpora larger than memory: cleaning, exact deduplication and packing on an Arrow-backed dataset.

``datasets.load_dataset("text", ...)`` memory-maps the corpus from an Arrow cache on disk; every
step below is a batched ``map``/``filter`` (``num_proc`` workers) that writes new Arrow files, so
memory holds a few batches and one 8-byte hash per document, never the corpus. Cleaning is the
same code as the in-memory pipeline (``clean_documents``, batch by batch); near-duplicate removal
(MinHash LSH) is not done at this scale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import datasets
import numpy as np
import pandas as pd

from lmladder.corpus.cleaning import QualityFilters, clean_documents
from lmladder.corpus.dedup import dedup_key


def load_text_corpus(files: Sequence[str | Path], sample_by: str = "paragraph", cache_dir: str | None = None) -> datasets.Dataset:
    """Text files as a memory-mapped dataset with a ``text`` column (one row per line, paragraph or document)."""
    return datasets.load_dataset(
        "text", data_files=[str(path) for path in files], sample_by=sample_by, split="train", cache_dir=cache_dir
    )


def _clean_batch(batch: dict, filters: QualityFilters, mask_personal_data: bool) -> dict:
    kept, _ = clean_documents(pd.DataFrame({"text": batch["text"]}), filters, mask_personal_data)
    texts = kept["text"].tolist()
    hashes = [int.from_bytes(hashlib.blake2b(dedup_key(text).encode("utf-8"), digest_size=8).digest(), "little") for text in texts]
    return {"text": texts, "dedup_hash": np.array(hashes, dtype=np.uint64)}


def clean_large_corpus(
    corpus: datasets.Dataset, filters: QualityFilters, mask_personal_data: bool = True, num_proc: int | None = None, batch_size: int = 1000
) -> tuple[datasets.Dataset, dict[str, int]]:
    """Normalise, mask PII, filter (as the in-memory pipeline does), then drop exact duplicates."""
    cleaned = corpus.map(
        _clean_batch,
        batched=True,
        batch_size=batch_size,
        num_proc=num_proc,
        remove_columns=corpus.column_names,
        fn_kwargs={"filters": filters, "mask_personal_data": mask_personal_data},
        desc="cleaning",
    )
    # Keep the first occurrence of each normalised text: one uint64 per document in memory.
    hashes = cleaned.data.column("dedup_hash").to_numpy()  # straight from Arrow: no Python object per row
    _, first = np.unique(hashes, return_index=True)
    unique = cleaned.select(np.sort(first)).remove_columns("dedup_hash")
    stats = {
        "docs_in": len(corpus),
        "removed_by_filters": len(corpus) - len(cleaned),
        "removed_exact_duplicates": len(cleaned) - len(unique),
        "docs_out": len(unique),
    }
    return unique, stats


def sample_texts(corpus: datasets.Dataset, max_bytes: int, seed: int = 0) -> list[str]:
    """A random sample of whole documents of about ``max_bytes``: enough to train a BPE tokenizer."""
    order = np.random.default_rng(seed).permutation(len(corpus))
    texts, size = [], 0
    for start in range(0, len(order), 10_000):
        for text in corpus.select(np.sort(order[start : start + 10_000]))["text"]:
            texts.append(text)
            size += len(text.encode("utf-8"))
            if size >= max_bytes:
                return texts
    return texts
