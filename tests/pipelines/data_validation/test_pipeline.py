"""The data_validation pipeline on real processed data: it passes clean data and stops bad data."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset

from lmladder.corpus.packing import TokenFile
from lmladder.errors import DataValidationError
from lmladder.pipelines.data_processing import create_pipeline as data_processing
from lmladder.pipelines.data_validation import create_pipeline as data_validation
from tests.conftest import add_parameters, load_parameters
from tests.pipelines.conftest import make_catalog

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


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> dict:
    """The outputs of data_processing on the stdlib corpus, as the validation pipeline's inputs."""
    from lmladder.corpus.stdlib_docs import build_stdlib_corpus

    docs = build_stdlib_corpus()
    catalog = make_catalog(tmp_path_factory.mktemp("processed"), docs, docs, load_parameters("test"))
    SequentialRunner().run(data_processing(), catalog)
    return {name: catalog.load(name) for name in PROCESSED}


def validate(inputs: dict, tmp_path) -> DataCatalog:
    catalog = DataCatalog({name: JSONDataset(filepath=str(tmp_path / f"{name}.json")) for name in ("validation_report", "validated_data")})
    for name, value in inputs.items():
        catalog[name] = value
    add_parameters(catalog, load_parameters("test"))
    SequentialRunner().run(data_validation(), catalog)
    return catalog


def test_processed_data_passes_every_suite(processed, tmp_path):
    catalog = validate(processed, tmp_path)
    report = catalog.load("validation_report")
    assert report["success"] and report["statistics"]["failed"] == 0
    assert {suite["suite"] for suite in report["suites"]} == {"corpus", "labelled", "tokens", "contamination", "removals", "outputs"}
    gate = catalog.load("validated_data")
    assert gate["passed"] and gate["data_fingerprint"] == processed["corpus_summary"]["fingerprint"]
    assert set(gate["inputs"]) == {
        "corpus_train",
        "corpus_val",
        "labelled_train",
        "labelled_val",
        "labelled_test",
        "train_tokens",
        "val_tokens",
        "tokenizer",
    }


def test_contaminated_corpus_is_stopped_and_the_report_is_kept(processed, tmp_path):
    leaked = processed["labelled_test"].iloc[[0]].assign(source="leak")[["doc_id", "source", "text"]]
    leaked["doc_id"] = "leaked-doc"
    inputs = {**processed, "corpus_train": pd.concat([processed["corpus_train"], leaked], ignore_index=True)}
    with pytest.raises(DataValidationError, match=r"(?s)contamination.*leaked-doc") as caught:
        validate(inputs, tmp_path)
    assert not caught.value.report["success"]
    saved = JSONDataset(filepath=str(tmp_path / "validation_report.json")).load()
    # The leaked document fails contamination, and corpus_train no longer matches what processing recorded.
    assert {failure["suite"] for failure in saved["failed"]} == {"contamination", "outputs"}
    gate = JSONDataset(filepath=str(tmp_path / "validated_data.json")).load()
    assert gate["passed"] is False and any("contamination" in failure for failure in gate["failed"])


def test_token_ids_beyond_the_vocabulary_are_stopped(processed, tmp_path):
    val = processed["val_tokens"]
    bad_tokens = np.array(val.tokens, dtype=np.uint16)
    bad_tokens[3] = val.metadata["vocab_size"] + 5
    inputs = {**processed, "val_tokens": TokenFile(path=val.path, tokens=bad_tokens, metadata=val.metadata)}
    with pytest.raises(DataValidationError, match=r"(?s)tokens.*val"):
        validate(inputs, tmp_path)


def test_a_text_in_two_labelled_splits_is_stopped(processed, tmp_path):
    shared = processed["labelled_test"].iloc[[0]]
    inputs = {**processed, "labelled_train": pd.concat([processed["labelled_train"], shared], ignore_index=True)}
    with pytest.raises(DataValidationError, match=r"(?s)labelled.*more than one split"):
        validate(inputs, tmp_path)


def test_an_empty_labelled_val_split_is_stopped_naming_the_split_and_the_parameter(processed, tmp_path):
    inputs = {**processed, "labelled_val": processed["labelled_val"].iloc[0:0]}
    with pytest.raises(DataValidationError, match=r"(?s)labelled:.*labelled_val_fraction.*\"labelled_val: ") as caught:
        validate(inputs, tmp_path)
    failed = [failure for failure in caught.value.report["failed"] if failure["suite"] == "labelled"]
    assert {failure["column"] for failure in failed} == {"rows", "examples"}
    assert all(example.startswith("labelled_val") for failure in failed for example in failure["examples"])


def test_a_one_class_labelled_set_is_stopped_naming_the_class(processed, tmp_path):
    only = processed["labelled_train"]["label"].iloc[0]
    inputs = {name: processed[name].assign(label=only) if name.startswith("labelled_") else processed[name] for name in processed}
    with pytest.raises(
        DataValidationError, match=rf"(?s)labelled:.*split 'labelled_train' holds at least two classes.*found 1: {re.escape(only)}"
    ):
        validate(inputs, tmp_path)
