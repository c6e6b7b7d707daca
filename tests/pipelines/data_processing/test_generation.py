"""task: generation through the same data_processing and data_validation pipelines, for real: the
standard library's code summaries at conf/test sizes (data_processing.pairs.max_examples), and a
small table of pairs."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset

from lmladder.corpus.code_summaries import EXAMPLE_COLUMNS, check_disjoint_splits
from lmladder.corpus.dedup import dedup_key
from lmladder.corpus.fingerprint import fingerprint
from lmladder.corpus.stdlib_docs import build_stdlib_corpus
from lmladder.errors import DataValidationError, MissingColumnError
from lmladder.pipelines.data_processing import create_pipeline as data_processing
from lmladder.pipelines.data_processing import nodes as processing_nodes
from lmladder.pipelines.data_validation import create_pipeline as data_validation
from lmladder.validation.gate import frame_fingerprint
from tests.conftest import add_parameters, load_parameters
from tests.pipelines.conftest import make_catalog, run_data_processing

SPLITS = ("train", "val", "test")
PROCESSED = [
    "corpus_train",
    "corpus_val",
    "labelled_train",
    "labelled_val",
    "labelled_test",
    "tokenizer",
    "train_tokens",
    "val_tokens",
    "corpus_summary",
]


def generation_params(**pairs) -> dict:
    params = load_parameters("test")
    params["task"] = "generation"
    params["data_processing"]["pairs"].update(pairs)
    return params


def with_reports(catalog: DataCatalog, tmp_path) -> DataCatalog:
    for name in ("validation_report", "validated_data"):
        catalog[name] = JSONDataset(filepath=str(tmp_path / f"{name}.json"))
    return catalog


@pytest.fixture(scope="module")
def stdlib_docs() -> pd.DataFrame:
    return build_stdlib_corpus()


@pytest.fixture(scope="module")
def generated(stdlib_docs, tmp_path_factory) -> DataCatalog:
    """data_processing and data_validation with task generation on the stdlib, conf/test sizes."""
    tmp_path = tmp_path_factory.mktemp("generation")
    catalog = with_reports(make_catalog(tmp_path, stdlib_docs, stdlib_docs, generation_params()), tmp_path)
    SequentialRunner().run(data_processing() + data_validation(), catalog)
    return catalog


def splits_of(catalog: DataCatalog) -> dict[str, pd.DataFrame]:
    return {name: catalog.load(f"labelled_{name}") for name in SPLITS}


def test_the_splits_hold_pairs_and_no_source_or_target_is_in_two_of_them(generated):
    splits = splits_of(generated)
    for name, split in splits.items():
        assert list(split.columns) == EXAMPLE_COLUMNS, name
        assert len(split) and split["text"].str.len().min() > 0 and split["target"].str.len().min() > 0, name
    assert (len(splits["train"]), len(splits["val"]), len(splits["test"])) == (279, 60, 60)  # 400 pairs, one duplicate
    for column in ("text", "target"):
        keys = {name: set(split[column].map(dedup_key)) for name, split in splits.items()}
        assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"] and not keys["val"] & keys["test"], column
    check_disjoint_splits(splits["train"], splits["val"], splits["test"])
    assert pd.concat(splits.values())["id"].is_unique


def test_the_report_passes_with_the_pairs_suite_and_the_gate_holds_the_pair_frames(generated):
    report = generated.load("validation_report")
    assert report["success"], report["failed"]
    assert {suite["suite"] for suite in report["suites"]} == {"corpus", "pairs", "tokens", "contamination", "removals", "outputs"}
    removals = next(suite for suite in report["suites"] if suite["suite"] == "removals")
    assert [expectation["column"] for expectation in removals["expectations"]] == ["removed_share"]  # no class shares for pairs
    gate = generated.load("validated_data")
    assert gate["passed"]
    for name, split in splits_of(generated).items():
        assert gate["inputs"][f"labelled_{name}"] == frame_fingerprint(split)


def test_the_corpus_summary_counts_pairs_per_split_and_no_classes(generated):
    summary = generated.load("corpus_summary")
    labelled = summary["labelled"]
    assert "class_counts" not in labelled
    assert labelled["examples_in"] == 400  # data_processing.pairs.max_examples in conf/test
    assert labelled["removed_exact_duplicates"] == 1
    assert (labelled["train_examples"], labelled["val_examples"], labelled["test_examples"]) == (279, 60, 60)
    ledger = summary["removals"]["labelled"]
    assert ledger["settings"] == "data_processing.pairs" and ledger["rows_out"] == 399 and "class_counts_in" not in ledger
    assert generated.load("corpus_metrics")["labelled.test_examples"] == {"value": 60.0, "step": 0}


def test_the_corpus_lost_the_held_out_functions_docstrings_by_id(generated):
    splits = splits_of(generated)
    held_out = set(splits["val"]["id"]) | set(splits["test"]["id"])
    corpus_ids = set(generated.load("corpus_train")["doc_id"]) | set(generated.load("corpus_val")["doc_id"])
    summary = generated.load("corpus_summary")
    removed = set(summary["contaminated_doc_ids"])
    assert not held_out & corpus_ids
    assert len(held_out & removed) > 60  # most held-out functions' docstrings were in the cleaned corpus
    assert set(splits["train"]["id"]) & corpus_ids  # training functions' docstrings may stay
    assert summary["corpus"]["removed_contaminated"] == len(summary["contaminated_doc_ids"])


def test_a_function_copied_into_train_stops_validation_naming_it(generated, tmp_path):
    val = generated.load("labelled_val")
    copied = val.loc[[val["id"].str.len().idxmin()]]  # the shortest id: examples in messages are cut at 80 characters
    name = copied["id"].iloc[0]
    inputs = {dataset: generated.load(dataset) for dataset in PROCESSED}
    inputs["labelled_train"] = pd.concat([inputs["labelled_train"], copied.assign(id="copy")], ignore_index=True)
    catalog = with_reports(DataCatalog(), tmp_path)
    for dataset, value in inputs.items():
        catalog[dataset] = value
    add_parameters(catalog, generation_params())
    shared = rf"copy \(labelled_train\), {re.escape(name)} \(labelled_val\): same source"
    with pytest.raises(DataValidationError, match=rf"(?s)pairs: expect_column_values_to_be_between on column splits.*{shared}") as raised:
        SequentialRunner().run(data_validation(), catalog)
    failed = {(failure["suite"], failure["column"]) for failure in raised.value.report["failed"]}
    assert failed == {("pairs", "splits"), ("outputs", "recorded, actual")}  # and labelled_train is not what processing wrote
    assert JSONDataset(filepath=str(tmp_path / "validated_data.json")).load()["passed"] is False


def test_the_task_is_part_of_the_data_fingerprint_and_the_other_tasks_settings_are_not():
    corpus, labelled = pd.DataFrame({"text": ["a"]}), pd.DataFrame({"text": ["b"]})
    params = load_parameters("test")["data_processing"]
    classification = processing_nodes.fingerprint_data(corpus, labelled, params, "classification")
    # as before there was a generation task: every setting but the pairs'
    assert classification == fingerprint({"corpus": corpus, "labelled": labelled}, {k: v for k, v in params.items() if k != "pairs"})
    generation = processing_nodes.fingerprint_data(corpus, labelled, params, "generation")
    assert generation != classification
    other_pairs = {**params, "pairs": {**params["pairs"], "max_examples": 7}}
    other_labels = {**params, "labelled": {**params["labelled"], "min_words": 3}}
    assert processing_nodes.fingerprint_data(corpus, labelled, other_pairs, "classification") == classification
    assert processing_nodes.fingerprint_data(corpus, labelled, other_labels, "generation") == generation
    assert processing_nodes.fingerprint_data(corpus, labelled, other_pairs, "generation") != generation


def small_corpus() -> pd.DataFrame:
    return pd.DataFrame({"text": [f"Document number {i} talks about topic {i % 7} in several plain English words." for i in range(60)]})


def pairs_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uid": [f"ex{i}" for i in range(40)],
            "code": [f"def area_{i}(side):\n    return side * {i}" for i in range(40)],
            "summary": [f"Return the area of square number {i} from its side." for i in range(40)],
        }
    )


def table_params(**pairs) -> dict:
    params = generation_params(source="table", source_column="code", target_column="summary", id_column="uid", max_examples=None, **pairs)
    dp = params["data_processing"]
    dp["cleaning"]["min_chars"] = 10
    dp["splits"]["corpus_val_fraction"] = 0.2
    dp["tokenizer"]["vocab_size"] = 300
    return params


def test_a_pairs_table_runs_through_the_same_pipeline(tmp_path):
    catalog = run_data_processing(make_catalog(tmp_path, small_corpus(), pairs_table(), table_params()))
    splits = splits_of(catalog)
    assert sum(map(len, splits.values())) == 40 and all(len(split) for split in splits.values())
    assert set(pd.concat(splits.values())["id"]) == {f"ex{i}" for i in range(40)}
    assert (pd.concat(splits.values())["module"] == "").all()
    assert splits["train"]["text"].str.contains("\n    return side").all()  # code keeps its indentation


def test_a_pairs_table_without_its_target_column_is_refused_naming_it(tmp_path):
    with pytest.raises(MissingColumnError, match=r"the pairs table has no column 'summary' \(the target_column parameter\)"):
        run_data_processing(make_catalog(tmp_path, small_corpus(), pairs_table().drop(columns="summary"), table_params()))
    assert not (tmp_path / "labelled_train.parquet").exists()
