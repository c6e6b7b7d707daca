"""The corpus steps on corpus documents of either kind: a pandas DataFrame, or an Arrow-backed
``datasets.Dataset`` for a corpus larger than memory (a raw corpus loaded with ``in_memory: false``).

Each function takes either kind and runs the in-memory implementation (``sources``, ``cleaning``,
``dedup``, ``decontamination``, ``splits``) or the Arrow one (``large``), so its callers never ask
which kind they hold; documents stay of the kind they came in as.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import datasets
import numpy as np
import pandas as pd

from lmladder.corpus import large
from lmladder.corpus.cleaning import QualityFilters, clean_documents
from lmladder.corpus.code_summaries import decontaminate_corpus_against_pairs, log_leak_counts, pair_leak_index
from lmladder.corpus.decontamination import decontaminate
from lmladder.corpus.dedup import deduplicate
from lmladder.corpus.sources import documents_from_table
from lmladder.corpus.splits import split_corpus
from lmladder.errors import FilteredOutError

Documents = pd.DataFrame | datasets.Dataset


def documents_from_raw(
    raw: Documents,
    text_column: str = "text",
    id_column: str | None = None,
    text_columns: list[str] | None = None,
    num_proc: int | None = None,
) -> Documents:
    """Corpus documents (doc_id, source, text, invalid_utf8) from a raw table or data set
    (``sources.documents_from_table``, ``large.documents_from_dataset``)."""
    if isinstance(raw, datasets.Dataset):
        return large.documents_from_dataset(raw, text_column, id_column, num_proc, text_columns=text_columns)
    return documents_from_table(raw, text_column, id_column, text_columns)


def _require_documents(docs: Documents, stats: dict[str, int]) -> None:
    if len(docs):
        return
    removals = {name: count for name, count in stats.items() if name.startswith("removed_") and count}
    worst = max(removals, key=removals.get) if removals else "none"
    raise FilteredOutError(
        f"0 documents left after quality filters on the corpus ({stats.get('docs_in', 0)} in; removed per filter: "
        f"{removals}); loosen data_processing.cleaning (the {worst.removeprefix('removed_')} filter removed the most)"
    )


def clean_corpus_documents(
    documents: Documents,
    filters: QualityFilters,
    mask_personal_data: bool,
    threshold: float,
    num_perm: int,
    shingle_size: int,
    num_proc: int | None = None,
) -> tuple[Documents, dict[str, int]]:
    """Normalise, mask PII, filter, then drop exact and near duplicates (MinHash ``threshold``,
    ``num_perm``, ``shingle_size``); returns the kept documents and the statistics of each step.

    Raises ``FilteredOutError`` naming the filter that removed the most when no document is left.
    """
    if isinstance(documents, datasets.Dataset):
        near = {"threshold": threshold, "num_perm": num_perm, "shingle_size": shingle_size}
        docs, stats = large.clean_large_corpus(documents, filters, mask_personal_data, near, num_proc)
        _require_documents(docs, stats)
        return docs, stats
    docs, stats = clean_documents(documents, filters, mask_personal_data)
    _require_documents(docs, stats)
    docs, dedup_stats = deduplicate(docs, threshold, num_perm, shingle_size)
    stats.update(dedup_stats)
    stats["invalid_utf8_sequences"] = int(documents["invalid_utf8"].sum())
    return docs, stats


def decontaminate_documents(
    documents: Documents, eval_texts: Sequence[str], ngram_size: int, num_proc: int | None = None
) -> tuple[Documents, list[str]]:
    """Drop documents sharing an n-gram of ``ngram_size`` units with the evaluation texts; return
    the rest and the dropped ids."""
    if isinstance(documents, datasets.Dataset):
        return large.decontaminate_large_corpus(documents, eval_texts, ngram_size, num_proc)
    return decontaminate(documents, eval_texts, ngram_size)


def decontaminate_documents_against_pairs(
    documents: Documents, held_out: pd.DataFrame, ngram_size: int, min_target_words: int, num_proc: int | None = None
) -> tuple[Documents, list[str]]:
    """Drop the documents that would leak the held-out pairs (val and test): a held-out function's
    docstring (by id), a document containing a held-out summary of at least ``min_target_words``
    words, or one sharing an ``ngram_size``-gram with a held-out source or summary (see
    ``code_summaries.decontaminate_corpus_against_pairs``); return the rest and the dropped ids."""
    if isinstance(documents, datasets.Dataset):
        index = pair_leak_index(held_out, ngram_size, min_target_words)
        kept, removed, counts = large.decontaminate_large_corpus_against_pairs(documents, index, num_proc)
        log_leak_counts(counts, len(held_out), ngram_size)
        return kept, removed
    # Rows are marked by position, as the corpus index (and even a doc_id) may repeat.
    marked = documents.assign(_row=np.arange(len(documents)))
    kept, _ = decontaminate_corpus_against_pairs(marked, held_out, ngram_size, min_target_words)
    removed = np.setdiff1d(np.arange(len(documents)), kept["_row"].to_numpy())
    return kept.drop(columns="_row"), documents["doc_id"].iloc[removed].tolist()


def split_documents(documents: Documents, val_fraction: float, seed: int, num_proc: int | None = None) -> tuple[Documents, Documents]:
    """Train/val by hashed ``doc_id``; raises ``FilteredOutError`` when either split is empty."""
    if isinstance(documents, datasets.Dataset):
        train, val = large.split_large_corpus(documents, val_fraction, seed, num_proc)
    else:
        train, val = split_corpus(documents, val_fraction, seed)
    if len(train) == 0 or len(val) == 0:
        raise FilteredOutError(
            f"the corpus split into {len(train)} train and {len(val)} val documents; both need at least one: "
            "add text or change data_processing.splits.corpus_val_fraction"
        )
    return train, val


def tokenizer_texts(documents: Documents, max_training_mb: float | None, seed: int) -> Iterable[str]:
    """The texts to train a tokenizer on: all of them, or whole documents in a random order (seeded)
    until about ``max_training_mb`` MiB."""
    if max_training_mb is None:
        return documents["text"] if isinstance(documents, pd.DataFrame) else large.iter_texts(documents)
    if isinstance(documents, pd.DataFrame):
        documents = datasets.Dataset.from_pandas(documents[["text"]], preserve_index=False)
    return large.sample_texts(documents, int(max_training_mb * 2**20), seed)


def text_dataset(documents: Documents) -> datasets.Dataset:
    """The ``text`` column alone, as a ``datasets.Dataset`` (what ``packing.TokenStream`` reads)."""
    if isinstance(documents, pd.DataFrame):
        documents = datasets.Dataset.from_pandas(documents[["text"]], preserve_index=False)
    return documents.select_columns(["text"])


def texts_at(documents: Documents, rows: Sequence[int]) -> list[str]:
    """The texts of the documents at positions ``rows``, in that order."""
    if isinstance(documents, pd.DataFrame):
        return documents["text"].iloc[rows].tolist()
    return list(documents.select(rows)["text"])


def sampled_frames(splits: dict[str, Documents], max_documents: int, seed: int) -> tuple[dict[str, pd.DataFrame], str | None]:
    """Each split as a DataFrame: an Arrow split above ``max_documents`` documents becomes a seeded
    random sample of them, and an Arrow split keeps only its ``doc_id`` and ``text`` columns. Also
    returns a note saying which splits were sampled, or ``None`` when none was."""
    frames, sampled = {}, []
    for name, split in splits.items():
        if isinstance(split, datasets.Dataset):
            if len(split) > max_documents:
                sampled.append(f"{name}: {max_documents:,} of {len(split):,}")
                split = split.select(np.sort(np.random.default_rng(seed).choice(len(split), max_documents, replace=False)))
            split = split.select_columns([column for column in ("doc_id", "text") if column in split.column_names]).to_pandas()
        frames[name] = split
    return frames, f"validated on a random sample of documents ({'; '.join(sampled)})" if sampled else None
