"""The removal ledger: each step's input, removals per class, and the lines it logs."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from lmladder.corpus.accounting import class_shares, class_shares_before_cap, corpus_ledger, labelled_step, log_ledger
from lmladder.corpus.cleaning import QualityFilters
from lmladder.corpus.labelled import clean_labelled_examples, labelled_settings

EXAMPLES = pd.DataFrame(
    {
        "doc_id": [f"r{i}" for i in range(8)],
        "text": [
            "great hotel, clean room",
            "ok",
            "great hotel, clean room",
            "awful service and dirty room",
            "bad",
            "nice staff and a quiet room",
            "same text",
            "same text",
        ],
        "label": ["pos", "pos", "pos", "neg", "neg", "pos", "pos", "neg"],
    }
)


def test_labelled_step_counts_removals_per_class():
    step = labelled_step("too_short", pd.Series(["a", "a", "b"]), pd.Series(["a"]), "data_processing.labelled")
    assert step == {
        "step": "too_short",
        "parameter": "data_processing.labelled.filters.min_chars",
        "rows_in": 3,
        "removed": 2,
        "removed_by_class": {"a": 1, "b": 1},
    }


def test_cleaning_the_labelled_set_accounts_for_every_row():
    kept, ledger = clean_labelled_examples(EXAMPLES, QualityFilters(min_chars=4), False, min_words=1, max_per_class=None, seed=0)
    removed = {step["step"]: step["removed"] for step in ledger["steps"]}
    # "ok" and "bad" are too short; "same text" has two labels; the repeated review is a duplicate
    assert removed == {
        "too_short": 2,
        "too_long": 0,
        "symbol_ratio": 0,
        "alpha_ratio": 0,
        "too_few_words": 0,
        "conflicting_labels": 2,
        "exact_duplicates": 1,
        "class_cap": 0,
    }
    assert ledger["rows_in"] == 8 and ledger["rows_out"] == len(kept) == 3
    assert ledger["class_counts_in"] == {"neg": 3, "pos": 5} and ledger["class_counts_out"] == {"neg": 1, "pos": 2}
    assert [step["rows_in"] for step in ledger["steps"]][:5] == [8, 6, 6, 6, 6]  # each step sees what the last left


def test_the_class_cap_is_its_own_step_and_the_shift_is_measured_before_it():
    examples = pd.DataFrame(
        {"doc_id": [str(i) for i in range(6)], "text": [f"text number {i}" for i in range(6)], "label": ["a"] * 4 + ["b"] * 2}
    )
    kept, ledger = clean_labelled_examples(examples, QualityFilters(), False, 1, 2, seed=0)
    assert kept["label"].value_counts().to_dict() == {"a": 2, "b": 2}
    assert ledger["steps"][-1] == {
        "step": "class_cap",
        "parameter": "data_processing.labelled.max_per_class",
        "rows_in": 6,
        "removed": 2,
        "removed_by_class": {"a": 2, "b": 0},
    }
    assert class_shares(ledger)["a"] == pytest.approx((4 / 6, 0.5))
    assert class_shares_before_cap(ledger)["a"] == pytest.approx((4 / 6, 4 / 6))


def test_the_embedded_labels_bring_their_own_settings():
    params = {"label_from": "column", "filters": {"min_chars": 1}, "module_domains": {"filters": {"min_chars": 40}}}
    assert labelled_settings(params) == (params, "data_processing.labelled")
    assert labelled_settings({**params, "label_from": "module_domains"}) == (
        params["module_domains"],
        "data_processing.labelled.module_domains",
    )


def test_corpus_ledger_follows_the_filters_in_order():
    stats = {
        "docs_in": 100,
        "removed_too_short": 10,
        "removed_too_long": 0,
        "removed_symbol_ratio": 5,
        "removed_alpha_ratio": 0,
        "removed_exact_duplicates": 3,
        "removed_near_duplicates": 2,
    }
    ledger = corpus_ledger(stats, removed_contaminated=4)
    assert ledger["rows_out"] == 76
    assert [(step["step"], step["rows_in"], step["removed"]) for step in ledger["steps"]] == [
        ("too_short", 100, 10),
        ("too_long", 90, 0),
        ("symbol_ratio", 90, 5),
        ("alpha_ratio", 85, 0),
        ("exact_duplicates", 85, 3),
        ("near_duplicates", 82, 2),
        ("contaminated", 80, 4),
    ]
    assert ledger["steps"][0]["parameter"] == "data_processing.cleaning.min_chars"


def test_every_removing_step_is_logged_with_its_share_and_classes(caplog):
    _, ledger = clean_labelled_examples(EXAMPLES, QualityFilters(min_chars=4), False, 1, None, seed=0)
    with caplog.at_level(logging.INFO, logger="lmladder.corpus.accounting"):
        log_ledger("labelled", ledger)
    lines = caplog.messages
    assert "labelled: too_short (data_processing.labelled.filters.min_chars) removed 2 of 8 (25.0%); by class: neg 1, pos 1" in lines
    assert "labelled: conflicting_labels removed 2 of 6 (33.3%); by class: neg 1, pos 1" in lines
    assert "labelled: 8 in, 3 out, 5 removed (62.5%)" in lines
    assert not any("too_long" in line for line in lines)  # steps that removed nothing stay quiet
