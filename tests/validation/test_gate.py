"""The gate: training refuses a failed validation, and inputs that changed since validation."""

from __future__ import annotations

import pandas as pd
import pytest

from lmladder.errors import DataValidationError, StaleDataError
from lmladder.validation.gate import check_gate, frame_fingerprint, gate_record, token_file_fingerprint

TRAIN = pd.DataFrame({"doc_id": ["a", "b"], "text": ["one", "two"], "label": ["x", "y"]})


def passed_gate() -> dict:
    report = {"success": True, "data_fingerprint": "d" * 64, "failed": []}
    return gate_record(report, {"labelled_train": frame_fingerprint(TRAIN)})


def test_a_passed_gate_admits_the_inputs_it_validated():
    check_gate(passed_gate(), {"labelled_train": frame_fingerprint(TRAIN.copy())}, "fine-tuning")


def test_a_failed_gate_is_refused_naming_the_failures():
    report = {
        "success": False,
        "data_fingerprint": "d" * 64,
        "failed": [{"suite": "removals", "description": "no step removes more than 40%"}],
    }
    with pytest.raises(
        DataValidationError,
        match=r"fine-tuning refuses to run: the last data validation failed \(removals: no step removes more than 40%\)",
    ):
        check_gate(gate_record(report, {}), {}, "fine-tuning")


def test_changed_inputs_are_refused_naming_them():
    changed = TRAIN.assign(label=["y", "x"])
    with pytest.raises(
        StaleDataError, match=r"fine-tuning refuses to run: labelled_train \(validated [0-9a-f]{12}, now [0-9a-f]{12}\) changed"
    ):
        check_gate(passed_gate(), {"labelled_train": frame_fingerprint(changed)}, "fine-tuning")


def test_a_gate_from_before_fingerprints_is_refused():
    with pytest.raises(
        StaleDataError,
        match=r"fine-tuning refuses to run: the validation gate predates input fingerprints .* Run `kedro run --pipelines data_validation` again",
    ):
        check_gate({"passed": True, "data_fingerprint": "d" * 64}, {"labelled_train": frame_fingerprint(TRAIN)}, "fine-tuning")


def test_fingerprints_see_values_order_and_columns():
    assert frame_fingerprint(TRAIN) != frame_fingerprint(TRAIN.iloc[::-1])
    assert frame_fingerprint(TRAIN) != frame_fingerprint(TRAIN.rename(columns={"text": "body"}))
    assert token_file_fingerprint({"token_count": 1, "tokenizer_sha256": "a"}) != token_file_fingerprint(
        {"token_count": 1, "tokenizer_sha256": "b"}
    )
