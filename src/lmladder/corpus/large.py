"""Corpora larger than memory: the data_processing steps on an Arrow-backed ``datasets.Dataset``.

A raw corpus loaded with ``datasets.load_dataset`` (the readers are in ``lmladder.corpus.sources``)
is memory-mapped from Arrow files on disk; ``lmladder.corpus.documents`` picks these functions or the
in-memory ones by the kind of data it is given.
Every step here is a batched ``map`` (``num_proc`` workers) that writes new Arrow files (next to
the loaded data in ``datasets``' cache; never reused from an earlier run, whose code may have been
older: ``datasets`` keys its cache on our functions' names, not their code), followed by a
``select`` of row numbers, so memory holds a few batches plus a few numbers per document
(a hash, a flag, one LSH band at a time), never the text. Each step runs the same functions as
the in-memory path (``lmladder.corpus.cleaning``, ``dedup``, ``decontamination``, ``splits``) on
each batch; the one difference is near-duplicate removal, which compares a document with every
earlier one instead of only the kept ones (``band_duplicate_mask``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

import datasets
import numpy as np
import pandas as pd
import pyarrow.compute as pc

from lmladder.corpus.cleaning import FILTER_NAMES, PII_KINDS, QualityFilters, failed_filters, normalise_and_mask
from lmladder.corpus.code_summaries import PairLeakIndex, count_leak_reasons, leak_reasons
from lmladder.corpus.decontamination import NgramIndex, build_ngram_index, is_contaminated
from lmladder.corpus.dedup import band_duplicate_mask, dedup_key, lsh_band_hashes
from lmladder.corpus.sources import REPLACEMENT_CHAR, check_text_columns
from lmladder.corpus.splits import check_fractions, hash_fraction
from lmladder.errors import EmptyCorpusError, MissingColumnError


def _map(
    dataset: datasets.Dataset, function, num_proc: int | None, batch_size: int, desc: str, with_indices: bool = False, **kwargs
) -> datasets.Dataset:
    """A batched map whose output replaces every input column, recomputed on every run."""
    return dataset.map(
        function,
        batched=True,
        batch_size=batch_size,
        with_indices=with_indices,
        num_proc=num_proc,
        remove_columns=dataset.column_names,
        fn_kwargs=kwargs,
        load_from_cache_file=False,
        desc=desc,
    )


def _numpy(dataset: datasets.Dataset, column: str) -> np.ndarray:
    # As an Arrow array (row selections applied): the default formatter builds one Python object per row.
    return dataset.with_format("arrow")[column].to_numpy()


def _documents_batch(batch: dict, indices: list[int], text_columns: list[str], id_column: str | None) -> dict:
    cells = [["" if text is None else str(text) for text in batch[column]] for column in text_columns]
    # As sources.join_text_columns; a row without text stays, for the too_short filter to count.
    texts = ["\n".join(part for part in parts if part) for parts in zip(*cells, strict=True)]
    ids = batch[id_column] if id_column else batch["doc_id"] if "doc_id" in batch else [f"row-{index}" for index in indices]
    sources = batch["source"] if "source" in batch else ["table"] * len(texts)
    return {
        "doc_id": [str(doc_id) for doc_id in ids],
        "source": [str(source) for source in sources],
        "text": texts,
        "invalid_utf8": [text.count(REPLACEMENT_CHAR) for text in texts],
    }


def documents_from_dataset(
    raw: datasets.Dataset,
    text_column: str = "text",
    id_column: str | None = None,
    num_proc: int | None = None,
    batch_size: int = 1000,
    text_columns: list[str] | None = None,
) -> datasets.Dataset:
    """Corpus documents (doc_id, source, text, invalid_utf8) from any Arrow-backed raw data set,
    as ``documents_from_table`` makes them from a DataFrame; ids default to the row number."""
    columns = check_text_columns(text_column, text_columns, "corpus")
    text_role = "text_column" if text_columns is None else "text_columns"
    for role, column in [*((text_role, column) for column in columns), ("id_column", id_column)]:
        if column is not None and column not in raw.column_names:
            raise MissingColumnError(
                f"corpus data has no column {column!r} (the corpus.{role} parameter); its columns are {raw.column_names}"
            )
    if len(raw) == 0:
        raise EmptyCorpusError("the corpus is empty: its source yielded no documents")
    return _map(raw, _documents_batch, num_proc, batch_size, "documents", with_indices=True, text_columns=columns, id_column=id_column)


def _dedup_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(dedup_key(text).encode("utf-8"), digest_size=8).digest(), "little")


def _clean_batch(batch: dict, filters: QualityFilters, mask_personal_data: bool) -> dict:
    texts, pii_counts = normalise_and_mask(pd.Series(batch["text"], dtype=object), mask_personal_data)
    failed = failed_filters(texts, filters)
    kept = (failed == "").to_numpy()
    return {
        **{name: batch[name] for name in ("doc_id", "source", "invalid_utf8")},  # invalid_utf8 counts filtered documents too
        "text": texts.where(kept, "").tolist(),  # a filtered document's text is never read again
        "failed_filter": failed.tolist(),
        **{f"pii_{kind}": pii_counts[kind].to_numpy() for kind in PII_KINDS},
        "dedup_hash": np.array([_dedup_hash(text) if keep else 0 for text, keep in zip(texts, kept, strict=True)], dtype=np.uint64),
    }


def _bands_batch(batch: dict, threshold: float, num_perm: int, shingle_size: int) -> dict:
    bands = lsh_band_hashes(batch["text"], threshold, num_perm, shingle_size)
    return {f"band_{band}": bands[:, band] for band in range(bands.shape[1])}


def clean_large_corpus(
    documents: datasets.Dataset,
    filters: QualityFilters,
    mask_personal_data: bool = True,
    near_duplicates: dict | None = None,
    num_proc: int | None = None,
    batch_size: int = 1000,
) -> tuple[datasets.Dataset, dict[str, int]]:
    """Normalise, mask PII and filter (as ``clean_documents``), drop exact duplicates, then near
    duplicates when ``near_duplicates`` gives ``threshold``, ``num_perm`` and ``shingle_size``.

    Returns the kept documents (doc_id, source, text) and the same statistics as the in-memory path.
    """
    cleaned = _map(documents, _clean_batch, num_proc, batch_size, "cleaning", filters=filters, mask_personal_data=mask_personal_data)
    columns = cleaned.with_format("arrow")
    failed = columns["failed_filter"]
    stats = {"docs_in": len(documents)}
    if mask_personal_data:
        stats.update({f"pii_{kind}_masked": int(pc.sum(columns[f"pii_{kind}"]).as_py() or 0) for kind in PII_KINDS})
    stats.update({f"removed_{name}": int(pc.sum(pc.equal(failed, name)).as_py() or 0) for name in FILTER_NAMES})
    kept = np.flatnonzero(pc.equal(failed, "").to_numpy(zero_copy_only=False))

    # Exact duplicates: keep the first occurrence of each hash, one uint64 per document in memory.
    _, first = np.unique(_numpy(cleaned, "dedup_hash")[kept], return_index=True)
    unique = kept[np.sort(first)]
    stats["removed_exact_duplicates"] = len(kept) - len(unique)
    stats["invalid_utf8_sequences"] = int(pc.sum(columns["invalid_utf8"]).as_py() or 0)
    docs = cleaned.select(unique).select_columns(["doc_id", "source", "text"])
    if near_duplicates is None:
        return docs, stats

    bands = _map(docs, _bands_batch, num_proc, batch_size, "MinHash bands", **near_duplicates)
    near = band_duplicate_mask(_numpy(bands, column) for column in bands.column_names)
    stats["removed_near_duplicates"] = int(near.sum())
    return docs.select(np.flatnonzero(~near)), stats


def _contaminated_batch(batch: dict, index: NgramIndex) -> dict:
    return {"contaminated": [is_contaminated(text, index) for text in batch["text"]]}


def decontaminate_large_corpus(
    corpus: datasets.Dataset, eval_texts: Sequence[str], ngram_size: int, num_proc: int | None = None, batch_size: int = 1000
) -> tuple[datasets.Dataset, list[str]]:
    """Drop documents sharing an n-gram with the evaluation texts (as ``decontaminate``); return the
    rest and the dropped ids. The evaluation texts' n-gram index is small and goes to every worker."""
    index = build_ngram_index(eval_texts, ngram_size)
    flags = _numpy(_map(corpus, _contaminated_batch, num_proc, batch_size, "decontamination", index=index), "contaminated")
    return corpus.select(np.flatnonzero(~flags)), list(corpus.select(np.flatnonzero(flags))["doc_id"])


def _leak_batch(batch: dict, index: PairLeakIndex) -> dict:
    return {"reason": leak_reasons(batch["doc_id"], batch["text"], index)}


def decontaminate_large_corpus_against_pairs(
    corpus: datasets.Dataset, index: PairLeakIndex, num_proc: int | None = None, batch_size: int = 1000
) -> tuple[datasets.Dataset, list[str], dict[str, int]]:
    """Drop the documents that would leak held-out pairs (as ``decontaminate_corpus_against_pairs``:
    by id, by summary, by n-gram); return the rest, the dropped ids and the count of each reason."""
    reasons = _numpy(_map(corpus, _leak_batch, num_proc, batch_size, "decontamination against pairs", index=index), "reason")
    leaked = reasons != ""
    return corpus.select(np.flatnonzero(~leaked)), list(corpus.select(np.flatnonzero(leaked))["doc_id"]), count_leak_reasons(reasons)


def _in_val_batch(batch: dict, val_fraction: float, seed: int) -> dict:
    return {"in_val": [hash_fraction(doc_id, seed) < val_fraction for doc_id in batch["doc_id"]]}


def split_large_corpus(
    corpus: datasets.Dataset, val_fraction: float, seed: int, num_proc: int | None = None, batch_size: int = 1000
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Train/val by hashed ``doc_id``, as ``split_corpus``."""
    check_fractions(val_fraction=val_fraction)
    in_val = _numpy(_map(corpus, _in_val_batch, num_proc, batch_size, "split", val_fraction=val_fraction, seed=seed), "in_val")
    return corpus.select(np.flatnonzero(~in_val)), corpus.select(np.flatnonzero(in_val))


def sample_texts(corpus: datasets.Dataset, max_bytes: int, seed: int = 0) -> list[str]:
    """Whole documents in a random order until about ``max_bytes``: enough to train a BPE tokenizer."""
    order = np.random.default_rng(seed).permutation(len(corpus))
    texts, size = [], 0
    for start in range(0, len(order), 10_000):
        rows = order[start : start + 10_000]
        in_row_order = np.sort(rows)  # read forward through the Arrow file, then restore the random order
        chunk = list(corpus.select(in_row_order)["text"])
        for position in np.searchsorted(in_row_order, rows):
            texts.append(chunk[position])
            size += len(chunk[position].encode("utf-8"))
            if size >= max_bytes:
                return texts
    return texts


def iter_texts(corpus: datasets.Dataset, batch_size: int = 10_000) -> Iterator[str]:
    """Every text of the corpus, a batch in memory at a time."""
    for batch in corpus.select_columns(["text"]).iter(batch_size=batch_size):
        yield from batch["text"]
