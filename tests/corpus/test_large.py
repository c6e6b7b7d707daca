"""The Arrow-backed corpus steps give what the in-memory ones give, batch boundaries and workers included."""

import datasets
import numpy as np
import pytest

from lmladder.corpus.cleaning import clean_documents
from lmladder.corpus.decontamination import decontaminate
from lmladder.corpus.dedup import deduplicate
from lmladder.corpus.large import (
    clean_large_corpus,
    decontaminate_large_corpus,
    documents_from_dataset,
    iter_texts,
    sample_texts,
    split_large_corpus,
)
from lmladder.corpus.sources import documents_from_table
from lmladder.corpus.splits import split_corpus
from lmladder.errors import ConfigError, EmptyCorpusError, MissingColumnError
from tests.corpus.conftest import FILTERS, NEAR, PARAGRAPH, raw_documents


def _arrow_documents() -> datasets.Dataset:
    return documents_from_dataset(datasets.Dataset.from_pandas(raw_documents(), preserve_index=False))


def test_documents_from_a_dataset_match_documents_from_a_table():
    expected = documents_from_table(raw_documents())
    assert _arrow_documents().to_pandas().to_dict("list") == expected.to_dict("list")


def test_documents_get_row_numbers_as_ids_keep_blank_rows_and_count_replacement_characters():
    # A table row without text stays, as in the in-memory path, for the too_short filter to count.
    raw = datasets.Dataset.from_dict({"line": ["first", "  ", "bad \ufffd byte", None, "last"]})
    docs = documents_from_dataset(raw, text_column="line", num_proc=2, batch_size=2)
    assert docs["doc_id"] == ["row-0", "row-1", "row-2", "row-3", "row-4"]
    assert docs["text"] == ["first", "  ", "bad \ufffd byte", "", "last"]
    assert docs["invalid_utf8"] == [0, 0, 1, 0, 0]


def test_documents_refuse_a_missing_column_and_an_empty_corpus():
    raw = datasets.Dataset.from_dict({"sentence": ["a"]})
    with pytest.raises(
        MissingColumnError, match="no column 'text' \\(the corpus.text_column parameter\\); its columns are \\['sentence'\\]"
    ):
        documents_from_dataset(raw)
    with pytest.raises(MissingColumnError, match="no column 'id' \\(the corpus.id_column parameter\\)"):
        documents_from_dataset(raw, text_column="sentence", id_column="id")
    with pytest.raises(EmptyCorpusError, match="the corpus is empty"):
        documents_from_dataset(datasets.Dataset.from_dict({"text": []}))


@pytest.mark.parametrize("num_proc, batch_size", [(None, 1000), (2, 3)])
def test_cleaning_keeps_the_same_documents_and_counts_as_the_in_memory_path(num_proc, batch_size):
    cleaned, stats = clean_large_corpus(_arrow_documents(), FILTERS, True, NEAR, num_proc, batch_size)

    in_memory = documents_from_table(raw_documents())
    expected, expected_stats = clean_documents(in_memory, FILTERS)
    expected, dedup_stats = deduplicate(expected, **NEAR)
    assert cleaned["doc_id"] == expected["doc_id"].tolist() == ["d0", "d1", "d5", "d6", "d10"]
    assert cleaned["text"] == expected["text"].tolist()
    assert "<EMAIL>" in cleaned["text"][1]
    assert cleaned.column_names == ["doc_id", "source", "text"]
    assert stats == {**expected_stats, **dedup_stats, "invalid_utf8_sequences": 0}
    assert stats["removed_near_duplicates"] == 1 and stats["removed_exact_duplicates"] == 2


def test_near_duplicates_are_kept_when_not_asked_for():
    cleaned, stats = clean_large_corpus(_arrow_documents(), FILTERS, mask_personal_data=False)
    assert "d7" in cleaned["doc_id"] and "removed_near_duplicates" not in stats
    assert "pii_emails_masked" not in stats and "someone@example.com" in cleaned["text"][1]


def test_decontamination_drops_what_the_in_memory_path_drops():
    docs = _arrow_documents()
    held_out = [" ".join(PARAGRAPH.split()[10:30]), "机器学习是人工智能的一个分支领域"]
    kept, dropped = decontaminate_large_corpus(docs, held_out, ngram_size=13, num_proc=2, batch_size=2)
    expected, expected_dropped = decontaminate(docs.to_pandas(), held_out, 13)
    assert dropped == expected_dropped == ["d5", "d7"]
    assert kept["doc_id"] == expected["doc_id"].tolist()


def test_split_matches_the_in_memory_split_and_checks_the_fraction():
    docs = datasets.Dataset.from_dict({"doc_id": [f"doc-{i}" for i in range(300)], "text": ["t"] * 300})
    train, val = split_large_corpus(docs, 0.2, seed=3, num_proc=2, batch_size=50)
    expected_train, expected_val = split_corpus(docs.to_pandas(), 0.2, 3)
    assert train["doc_id"] == expected_train["doc_id"].tolist()
    assert val["doc_id"] == expected_val["doc_id"].tolist()
    with pytest.raises(ConfigError, match="val_fraction must be in \\[0, 1\\), got 1.5"):
        split_large_corpus(docs, 1.5, seed=3)


def test_texts_are_sampled_to_a_byte_budget_or_read_in_full():
    corpus = datasets.Dataset.from_dict({"text": [f"document number {i}" for i in range(1000)]})
    sample = sample_texts(corpus, max_bytes=200, seed=0)
    assert 200 <= sum(len(text) for text in sample) < 240 and len(set(sample)) == len(sample)
    assert sample == sample_texts(corpus, max_bytes=200, seed=0) != sample_texts(corpus, max_bytes=200, seed=1)
    assert list(iter_texts(corpus, batch_size=64)) == corpus["text"]
    assert np.array_equal(np.sort(sample_texts(corpus, max_bytes=10**9)), np.sort(corpus["text"]))


def test_a_row_selection_is_respected_by_every_step_that_reads_columns_directly():
    docs = _arrow_documents().select([10, 7, 5, 1, 3, 0])  # an indices mapping over the Arrow table
    cleaned, stats = clean_large_corpus(docs, FILTERS, True, NEAR, num_proc=None, batch_size=2)
    expected, expected_stats = clean_documents(docs.to_pandas(), FILTERS)
    expected, dedup_stats = deduplicate(expected, **NEAR)
    assert cleaned["doc_id"] == expected["doc_id"].tolist() == ["d10", "d7", "d1", "d3"]  # d7 now comes before d5
    assert stats == {**expected_stats, **dedup_stats, "invalid_utf8_sequences": 0}
