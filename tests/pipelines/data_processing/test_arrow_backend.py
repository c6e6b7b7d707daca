"""A corpus loaded with ``in_memory: false`` goes through the same data_processing and data_validation
pipelines as Arrow data sets, with two workers, and gives what the in-memory path gives."""

from __future__ import annotations

import datasets
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.pandas import ParquetDataset
from kedro_datasets.text import TextDataset

from lmladder.corpus.stdlib_docs import build_stdlib_corpus
from lmladder.datasets import ArrowDataset, TextSourceDataset, TokenFileDataset, TokenizerDataset
from lmladder.pipelines import data_processing, data_validation
from lmladder.selection.ladder import deep_merge
from tests.conftest import add_parameters, load_parameters


def processed(tmp_path, raw_corpus, raw_labelled, corpus_dataset, params: dict) -> DataCatalog:
    tables = ("labelled_train", "labelled_val", "labelled_test")
    catalog = DataCatalog(
        {
            **{name: corpus_dataset(name) for name in ("corpus_train", "corpus_val")},
            **{name: JSONDataset(filepath=str(tmp_path / f"{name}.json")) for name in ("corpus_summary", "validation_report")},
            **{name: TextDataset(filepath=str(tmp_path / f"{name}.txt")) for name in ("data_fingerprint", "validation_report_md")},
            "tokenizer": TokenizerDataset(filepath=str(tmp_path / "tokenizer.json")),
            "train_tokens": TokenFileDataset(filepath=str(tmp_path / "train_tokens.bin")),
            "val_tokens": TokenFileDataset(filepath=str(tmp_path / "val_tokens.bin")),
        }
    )
    for name in tables:
        catalog[name] = ParquetDataset(filepath=str(tmp_path / f"{name}.parquet"))
    catalog["raw_corpus"] = raw_corpus
    catalog["raw_labelled"] = raw_labelled
    add_parameters(catalog, params)
    SequentialRunner().run(data_processing.create_pipeline() + data_validation.create_pipeline(), catalog)
    return catalog


@pytest.fixture(scope="module")
def both_paths(tmp_path_factory):
    docs = build_stdlib_corpus()
    params = load_parameters("test")
    in_memory_dir = tmp_path_factory.mktemp("in_memory")
    in_memory = processed(in_memory_dir, docs, docs, lambda name: ArrowDataset(path=str(in_memory_dir / name)), params)

    arrow_dir = tmp_path_factory.mktemp("arrow")
    docs.to_parquet(arrow_dir / "raw.parquet")
    raw = TextSourceDataset(
        source="table", path=str(arrow_dir / "raw.parquet"), in_memory=False, load_args={"cache_dir": str(arrow_dir / "cache")}
    )
    arrow_params = deep_merge(
        params,
        {
            "data_processing": {"corpus": {"num_proc": 2}, "tokenizer": {"max_training_mb": 1}},
            "data_validation": {"max_corpus_documents": 2000},
        },
    )
    arrow = processed(arrow_dir, raw.load(), docs, lambda name: ArrowDataset(path=str(arrow_dir / name)), arrow_params)
    return in_memory, arrow


def _doc_ids(catalog: DataCatalog) -> set[str]:
    return set(catalog.load("corpus_train")["doc_id"]) | set(catalog.load("corpus_val")["doc_id"])


def test_arrow_path_keeps_the_in_memory_documents_less_only_near_duplicate_chains(both_paths):
    in_memory, arrow = both_paths
    memory_summary, arrow_summary = in_memory.load("corpus_summary"), arrow.load("corpus_summary")
    for name in ("docs_in", "removed_too_short", "removed_alpha_ratio", "removed_exact_duplicates", "pii_emails_masked"):
        assert arrow_summary["corpus"][name] == memory_summary["corpus"][name], name
    # A document near-duplicating one that was itself removed goes too on the Arrow path (chains).
    assert _doc_ids(arrow) <= _doc_ids(in_memory)
    extra = arrow_summary["corpus"]["removed_near_duplicates"] - memory_summary["corpus"]["removed_near_duplicates"]
    contaminated_less = memory_summary["corpus"]["removed_contaminated"] - arrow_summary["corpus"]["removed_contaminated"]
    assert len(_doc_ids(in_memory) - _doc_ids(arrow)) == extra - contaminated_less <= 0.01 * len(_doc_ids(in_memory))
    assert arrow_summary["corpus"]["removed_near_duplicates"] > 0 and arrow_summary["corpus"]["removed_contaminated"] > 0


def test_arrow_path_splits_by_the_same_hash_and_writes_memory_mapped_outputs(both_paths):
    in_memory, arrow = both_paths
    train = arrow.load("corpus_train")
    assert isinstance(train, datasets.Dataset) and train.cache_files
    assert set(train["doc_id"]) <= set(in_memory.load("corpus_train")["doc_id"])
    # decontamination runs after dedup: a document the Arrow path already dropped as a near duplicate is not counted twice
    assert set(arrow.load("corpus_summary")["contaminated_doc_ids"]) <= set(in_memory.load("corpus_summary")["contaminated_doc_ids"])
    assert arrow.load("train_tokens").metadata["token_count"] > 100_000
    for name in ("labelled_train", "labelled_test"):
        assert arrow.load(name).equals(in_memory.load(name))


def test_arrow_corpus_is_validated_on_a_sample_and_the_report_says_so(both_paths):
    _, arrow = both_paths
    report = arrow.load("validation_report")
    assert report["success"]
    notes = {suite["suite"]: suite.get("note", "") for suite in report["suites"]}
    assert notes["corpus"].startswith("validated on a random sample of documents (train: 2,000 of ")
    assert notes["contamination"] == notes["corpus"]
    assert "_validated on a random sample of documents (train: 2,000 of" in arrow.load("validation_report_md")


def test_an_arrow_split_without_doc_ids_fails_the_corpus_suite_naming_the_column():
    splits = {name: datasets.Dataset.from_dict({"text": ["a long enough text"] * 3}) for name in ("train", "val")}
    result = data_validation.nodes.check_corpus(
        splits["train"], splits["val"], {"min_chars": 1, "max_chars": 100}, {"max_corpus_documents": 2}, 0
    )
    assert not result["success"]
    assert result["note"] == "validated on a random sample of documents (train: 2 of 3; val: 2 of 3)"
    failed = [expectation for expectation in result["expectations"] if not expectation["success"]]
    assert {("expect_table_columns_to_match_set", None), ("expect_column_values_to_not_be_null", "doc_id")} <= {
        (expectation["expectation"], expectation["column"]) for expectation in failed
    }
