"""Each corpus step takes documents of either kind, a DataFrame or an Arrow ``datasets.Dataset``,
gives back the kind it was given, and gives the same answer for both."""

import datasets
import pandas as pd
import pytest

from lmladder.corpus.cleaning import QualityFilters
from lmladder.corpus.decontamination import held_out_texts
from lmladder.corpus.documents import (
    clean_corpus_documents,
    decontaminate_documents,
    documents_from_raw,
    sampled_frames,
    split_documents,
    text_dataset,
    texts_at,
    tokenizer_texts,
)
from lmladder.errors import FilteredOutError
from tests.corpus.conftest import FILTERS, NEAR, TEXTS, raw_documents


def _both(table: pd.DataFrame) -> dict:
    return {"pandas": table, "arrow": datasets.Dataset.from_pandas(table, preserve_index=False)}


def _records(documents) -> list[dict]:
    return (documents if isinstance(documents, pd.DataFrame) else documents.to_pandas()).to_dict("records")


@pytest.fixture(scope="module")
def documents() -> dict:
    return {kind: documents_from_raw(raw, num_proc=None) for kind, raw in _both(raw_documents()).items()}


def test_documents_from_raw_keep_the_kind_and_agree(documents):
    assert isinstance(documents["pandas"], pd.DataFrame) and isinstance(documents["arrow"], datasets.Dataset)
    assert _records(documents["arrow"]) == _records(documents["pandas"])


def test_documents_from_raw_join_text_columns_for_either_kind():
    raw = pd.DataFrame({"title": ["A title", None], "body": ["and a body", "body only"], "id": ["x", "y"]})
    docs = {kind: documents_from_raw(table, id_column="id", text_columns=["title", "body"]) for kind, table in _both(raw).items()}
    assert _records(docs["arrow"]) == _records(docs["pandas"])
    assert list(docs["pandas"]["text"]) == ["A title\nand a body", "body only"]


def test_cleaning_gives_the_same_documents_and_statistics_for_either_kind(documents):
    cleaned = {kind: clean_corpus_documents(docs, FILTERS, True, **NEAR) for kind, docs in documents.items()}
    (pandas_docs, pandas_stats), (arrow_docs, arrow_stats) = cleaned["pandas"], cleaned["arrow"]
    assert isinstance(arrow_docs, datasets.Dataset)
    assert arrow_docs["doc_id"] == pandas_docs["doc_id"].tolist()
    assert arrow_stats == pandas_stats
    assert pandas_stats["removed_near_duplicates"] == 1 and pandas_stats["invalid_utf8_sequences"] == 0


@pytest.mark.parametrize("kind", ["pandas", "arrow"])
def test_cleaning_everything_away_names_the_filter_that_removed_the_most(documents, kind):
    strict = QualityFilters(min_chars=10**6, max_chars=10**7)
    with pytest.raises(FilteredOutError, match=r"0 documents left after quality filters on the corpus \(11 in; .*the too_short filter"):
        clean_corpus_documents(documents[kind], strict, False, **NEAR)


def test_decontamination_drops_the_same_documents_for_either_kind(documents):
    held_out = held_out_texts(pd.DataFrame({"text": [TEXTS[10]]}), pd.DataFrame({"text": [TEXTS[5]]}))
    assert held_out == [TEXTS[10], TEXTS[5]]
    kept = {kind: decontaminate_documents(docs, held_out, 8) for kind, docs in documents.items()}
    assert kept["arrow"][1] == kept["pandas"][1] and {"d5", "d10"} <= set(kept["pandas"][1])
    assert kept["arrow"][0]["doc_id"] == kept["pandas"][0]["doc_id"].tolist()


def test_split_is_the_same_for_either_kind_and_refuses_an_empty_split(documents):
    splits = {kind: split_documents(docs, 0.4, seed=1) for kind, docs in documents.items()}
    for arrow, pandas in zip(splits["arrow"], splits["pandas"], strict=True):
        assert arrow["doc_id"] == pandas["doc_id"].tolist()
    for docs in documents.values():
        with pytest.raises(FilteredOutError, match=r"the corpus split into 11 train and 0 val documents"):
            split_documents(docs, 0.0, seed=1)


def test_tokenizer_texts_are_every_text_or_the_same_sample_for_either_kind(documents):
    assert list(tokenizer_texts(documents["pandas"], None, 0)) == list(tokenizer_texts(documents["arrow"], None, 0)) == TEXTS
    sample = tokenizer_texts(documents["pandas"], 0.0001, seed=3)
    assert sample == tokenizer_texts(documents["arrow"], 0.0001, seed=3)
    assert 0 < len(sample) < len(TEXTS)


def test_text_dataset_and_texts_at_read_either_kind(documents):
    for docs in documents.values():
        texts = text_dataset(docs)
        assert isinstance(texts, datasets.Dataset) and texts.column_names == ["text"] and texts["text"] == TEXTS
        assert texts_at(docs, [5, 0, 10]) == [TEXTS[5], TEXTS[0], TEXTS[10]]


def test_sampled_frames_sample_only_arrow_splits_above_the_limit(documents):
    frames, note = sampled_frames({"train": documents["pandas"], "val": documents["arrow"]}, 20, seed=0)
    assert frames["train"] is documents["pandas"] and note is None
    assert frames["val"].to_dict("list") == documents["pandas"][["doc_id", "text"]].to_dict("list")
    frames, note = sampled_frames({"train": documents["arrow"]}, 4, seed=0)
    assert len(frames["train"]) == 4 and list(frames["train"].columns) == ["doc_id", "text"]
    assert set(frames["train"]["doc_id"]) < set(documents["pandas"]["doc_id"])
    assert note == "validated on a random sample of documents (train: 4 of 11)"


def test_quality_filters_from_settings_ignore_other_keys():
    settings = {"min_chars": 3, "max_chars": 9, "max_symbol_ratio": 0.2, "min_alpha_ratio": 0.7, "mask_pii": True}
    assert QualityFilters.from_settings(settings) == QualityFilters(3, 9, 0.2, 0.7)
    with pytest.raises(KeyError):
        QualityFilters.from_settings({"min_chars": 3})
