"""The data_processing pipeline, run for real on the stdlib docstring corpus with conf/test parameters."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DataCatalog

from lmladder.corpus.dedup import dedup_key
from lmladder.corpus.stdlib_docs import build_stdlib_corpus
from lmladder.corpus.tokenizer import SPECIAL_TOKENS
from lmladder.errors import ConfigError, EmptyCorpusError, FilteredOutError, MissingColumnError, UnknownLabelError
from tests.conftest import load_parameters
from tests.pipelines.conftest import make_catalog, run_data_processing


@pytest.fixture(scope="module")
def stdlib_docs() -> pd.DataFrame:
    return build_stdlib_corpus()


@pytest.fixture(scope="module")
def processed(stdlib_docs, tmp_path_factory) -> DataCatalog:
    tmp_path = tmp_path_factory.mktemp("processed")
    return run_data_processing(make_catalog(tmp_path, stdlib_docs, stdlib_docs, load_parameters("test")))


def test_every_stage_reports_its_removals(processed):
    stats = processed.load("corpus_summary")["corpus"]
    assert stats["docs_in"] > 8000
    for name in ("removed_too_short", "removed_exact_duplicates", "removed_near_duplicates", "removed_contaminated"):
        assert stats[name] > 0, name
    removed = sum(value for key, value in stats.items() if key.startswith("removed_"))
    assert stats["docs_out"] == stats["docs_in"] - removed


def test_labelled_set_has_six_classes_of_150_and_disjoint_splits(processed):
    splits = {name: processed.load(f"labelled_{name}") for name in ("train", "val", "test")}
    counts = pd.concat(splits.values())["label"].value_counts()
    assert len(counts) >= 6 and counts.min() >= 150, counts.to_dict()
    keys = {name: set(split["text"].map(dedup_key)) for name, split in splits.items()}
    assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"]
    # stratified: each class holds about the same share of the test split as of the whole set
    for label, count in counts.items():
        assert abs((splits["test"]["label"] == label).sum() - round(count * 0.15)) <= 1


def test_held_out_docstrings_are_removed_from_the_pretraining_corpus(processed):
    held_out = set(processed.load("labelled_val")["doc_id"]) | set(processed.load("labelled_test")["doc_id"])
    corpus_ids = set(processed.load("corpus_train")["doc_id"]) | set(processed.load("corpus_val")["doc_id"])
    assert held_out and not held_out & corpus_ids
    assert set(processed.load("labelled_train")["doc_id"]) & corpus_ids  # training texts may stay


def test_token_files_match_tokenizer_and_corpus(processed):
    tokenizer = processed.load("tokenizer")
    train = processed.load("train_tokens")
    assert train.metadata["vocab_size"] == tokenizer.get_vocab_size() == 512
    assert train.metadata["dtype"] == "uint16"
    assert int(train.tokens.max()) < 512
    eot = tokenizer.token_to_id(SPECIAL_TOKENS["eot"])
    assert (train.tokens == eot).sum() == train.metadata["documents"] == len(processed.load("corpus_train"))
    assert train.metadata["fingerprint"] == processed.load("data_fingerprint")
    text_bytes = sum(len(text.encode("utf-8")) for text in processed.load("corpus_train")["text"])
    assert train.metadata["text_bytes"] == text_bytes
    assert train.metadata["bytes_per_token"] == pytest.approx(text_bytes / len(train.tokens))


def test_metrics_are_mlflow_shaped(processed):
    metrics = processed.load("corpus_metrics")
    assert metrics["tokens.vocab_size"] == {"value": 512.0, "step": 0}
    assert metrics["corpus.removed_contaminated"]["value"] > 0
    assert metrics["labelled.test_examples"]["value"] > 0


def test_the_same_inputs_give_the_same_outputs(stdlib_docs, processed, tmp_path):
    again = run_data_processing(make_catalog(tmp_path, stdlib_docs, stdlib_docs, load_parameters("test")))
    assert again.load("data_fingerprint") == processed.load("data_fingerprint")
    pd.testing.assert_frame_equal(again.load("labelled_test"), processed.load("labelled_test"))
    assert (again.load("train_tokens").tokens == processed.load("train_tokens").tokens).all()


def small_sources():
    corpus = pd.DataFrame(
        {
            "text": [f"Document number {i} talks about topic {i % 7} in several plain English words." for i in range(60)],
        }
    )
    labelled = pd.DataFrame(
        {
            "sentence": [f"Review {i}: the film was {'good' if i % 2 else 'bad'} and the plot was fine." for i in range(40)],
            "label": [i % 2 for i in range(40)],
        }
    )
    return corpus, labelled


def small_params(**overrides) -> dict:
    params = load_parameters("test")
    dp = params["data_processing"]
    dp["labelled"].update(label_from="column", text_column="sentence", label_column="label", min_words=3)
    dp["cleaning"]["min_chars"] = 10
    dp["decontamination"]["ngram_size"] = 30
    dp["splits"]["corpus_val_fraction"] = 0.2
    dp["tokenizer"]["vocab_size"] = 300
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node = dp
        for key in parents:
            node = node[key]
        node[leaf] = value
    return params


def test_tabular_sources_run_through_the_same_pipeline(tmp_path):
    corpus, labelled = small_sources()
    catalog = run_data_processing(make_catalog(tmp_path, corpus, labelled, small_params()))
    assert set(catalog.load("labelled_train")["label"]) == {"0", "1"}
    assert catalog.load("train_tokens").metadata["documents"] > 0


def test_empty_corpus_is_refused(tmp_path):
    _, labelled = small_sources()
    with pytest.raises(EmptyCorpusError, match="corpus is empty"):
        run_data_processing(make_catalog(tmp_path, pd.DataFrame({"text": []}), labelled, small_params()))


def test_filters_removing_everything_say_which_to_loosen(tmp_path):
    corpus, labelled = small_sources()
    params = small_params(**{"cleaning.min_chars": 10_000})
    with pytest.raises(FilteredOutError, match=r"0 documents left after quality filters.*loosen.*too_short"):
        run_data_processing(make_catalog(tmp_path, corpus, labelled, params))
    assert not (tmp_path / "train_tokens.bin").exists()


def test_labelled_filters_removing_everything_name_the_parameter(tmp_path):
    corpus, labelled = small_sources()
    params = small_params(**{"labelled.filters.min_chars": 10_000})
    with pytest.raises(
        FilteredOutError,
        match=r"0 labelled examples left of 40; the too_short step removed the most \(40\): loosen data_processing.labelled.filters.min_chars",
    ):
        run_data_processing(make_catalog(tmp_path, corpus, labelled, params))


def test_missing_label_column_is_named(tmp_path):
    corpus, labelled = small_sources()
    with pytest.raises(MissingColumnError, match="no column 'label'"):
        run_data_processing(make_catalog(tmp_path, corpus, labelled.drop(columns="label"), small_params()))


def test_labels_outside_the_declared_set_are_named(tmp_path):
    corpus, labelled = small_sources()
    with pytest.raises(UnknownLabelError, match=r"outside the declared set.*'1' \(20 rows\)"):
        run_data_processing(make_catalog(tmp_path, corpus, labelled, small_params(**{"labelled.labels": ["0"]})))


def test_vocab_too_small_for_special_tokens(tmp_path):
    corpus, labelled = small_sources()
    with pytest.raises(ConfigError, match=r"vocab_size=100 is too small.*at least 292"):
        run_data_processing(make_catalog(tmp_path, corpus, labelled, small_params(**{"tokenizer.vocab_size": 100})))
    assert not (tmp_path / "train_tokens.bin").exists()


def test_unknown_label_source_is_named(tmp_path):
    corpus, labelled = small_sources()
    with pytest.raises(ConfigError, match="label_from must be one of"):
        run_data_processing(make_catalog(tmp_path, corpus, labelled, small_params(**{"labelled.label_from": "guess"})))
