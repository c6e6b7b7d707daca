"""Thin nodes over ``lmladder.validation``."""

from __future__ import annotations

import pandas as pd

from lmladder.corpus.packing import TokenFile
from lmladder.validation import (
    build_report,
    raise_for_failures,
    render_markdown,
    validate_corpus,
    validate_decontamination,
    validate_labelled,
    validate_tokens,
)


def check_corpus(corpus_train: pd.DataFrame, corpus_val: pd.DataFrame, cleaning: dict) -> dict:
    return validate_corpus({"train": corpus_train, "val": corpus_val}, cleaning["min_chars"], cleaning["max_chars"])


def check_labelled(
    labelled_train: pd.DataFrame,
    labelled_val: pd.DataFrame,
    labelled_test: pd.DataFrame,
    labelled: dict,
    cleaning: dict,
    params: dict,
) -> dict:
    splits = {"train": labelled_train, "val": labelled_val, "test": labelled_test}
    # Without a declared label set, every label seen must still be present and large enough.
    label_set = labelled.get("labels") or sorted(pd.concat(list(splits.values()))["label"].unique())
    return validate_labelled(splits, [str(label) for label in label_set], params["min_class_share"], cleaning["min_chars"], cleaning["max_chars"])


def check_tokens(train_tokens: TokenFile, val_tokens: TokenFile, params: dict) -> dict:
    return validate_tokens({"train": train_tokens, "val": val_tokens}, params["min_tokens_per_split"])


def check_contamination(
    corpus_train: pd.DataFrame,
    corpus_val: pd.DataFrame,
    labelled_val: pd.DataFrame,
    labelled_test: pd.DataFrame,
    ngram_size: int,
) -> dict:
    held_out = pd.concat([labelled_val["text"], labelled_test["text"]]).tolist()
    return validate_decontamination({"train": corpus_train, "val": corpus_val}, held_out, ngram_size)


def build_validation_report(
    corpus_result: dict, labelled_result: dict, tokens_result: dict, contamination_result: dict, data_fingerprint: str
) -> tuple[dict, str]:
    report = build_report([corpus_result, labelled_result, tokens_result, contamination_result])
    report["data_fingerprint"] = data_fingerprint
    return report, render_markdown(report)


def require_valid_data(validation_report: dict) -> dict:
    """The gate: raises ``DataValidationError`` on any failure; training nodes take its output."""
    raise_for_failures(validation_report)
    return {"passed": True, "data_fingerprint": validation_report["data_fingerprint"]}
