"""Thin nodes over ``lmladder.validation``.

A corpus larger than memory (an Arrow-backed ``datasets.Dataset``) is validated on a seeded random
sample of ``max_corpus_documents`` documents per split; the report says so. With ``task: generation``
the labelled datasets hold (source, target) pairs, checked by the pairs suite, and contamination
covers the held-out targets and the held-out functions' docstrings too.
"""

from __future__ import annotations

import pandas as pd
from tokenizers import Tokenizer

from lmladder.corpus.decontamination import held_out_texts
from lmladder.corpus.documents import sampled_frames
from lmladder.corpus.labelled import labelled_settings
from lmladder.corpus.packing import TokenFile
from lmladder.corpus.pairs import is_generation
from lmladder.validation.gate import gate_record, output_fingerprints
from lmladder.validation.report import build_report, raise_for_failures, render_markdown
from lmladder.validation.suites import (
    validate_corpus,
    validate_decontamination,
    validate_labelled,
    validate_outputs,
    validate_pair_decontamination,
    validate_pairs,
    validate_removals,
    validate_tokens,
)


def _noted(result: dict, note: str | None) -> dict:
    return {**result, "note": note} if note else result


def check_corpus(corpus_train, corpus_val, cleaning: dict, params: dict, seed: int) -> dict:
    splits, note = sampled_frames({"train": corpus_train, "val": corpus_val}, params["max_corpus_documents"], seed)
    return _noted(validate_corpus(splits, cleaning["min_chars"], cleaning["max_chars"]), note)


def check_labelled(
    labelled_train: pd.DataFrame,
    labelled_val: pd.DataFrame,
    labelled_test: pd.DataFrame,
    labelled: dict,
    params: dict,
    task: str,
) -> dict:
    # Named as the catalog names them, so a failure says which dataset is short of a class.
    splits = {"labelled_train": labelled_train, "labelled_val": labelled_val, "labelled_test": labelled_test}
    if is_generation(task):
        return validate_pairs(splits)
    # Without a declared label set, every label seen must still be present and large enough.
    label_set = labelled["labels"] or sorted(pd.concat(list(splits.values()))["label"].unique())
    filters = labelled_settings(labelled)[0]["filters"]
    return validate_labelled(
        splits,
        [str(label) for label in label_set],
        params["min_class_share"],
        filters["min_chars"],
        filters["max_chars"],
        train_split="labelled_train",
        min_examples_per_class=params["min_examples_per_class"],
    )


def check_removals(corpus_summary: dict, params: dict) -> dict:
    return validate_removals(corpus_summary["removals"], params["max_removed_share"], params["max_class_share_shift"])


def check_outputs(
    corpus_summary: dict,
    corpus_train,
    corpus_val,
    labelled_train: pd.DataFrame,
    labelled_val: pd.DataFrame,
    labelled_test: pd.DataFrame,
    tokenizer: Tokenizer,
    train_tokens: TokenFile,
    val_tokens: TokenFile,
) -> tuple[dict, dict]:
    """The outputs as they are on disk against the fingerprints processing recorded; returns the
    suite result and the fingerprints, which the gate keeps for the training steps to check."""
    actual = output_fingerprints(
        {"train": corpus_train, "val": corpus_val},
        {"train": labelled_train, "val": labelled_val, "test": labelled_test},
        {"train": train_tokens.metadata, "val": val_tokens.metadata},
        tokenizer,
    )
    return validate_outputs(corpus_summary["outputs"], actual), actual


def check_tokens(train_tokens: TokenFile, val_tokens: TokenFile, params: dict) -> dict:
    return validate_tokens({"train": train_tokens, "val": val_tokens}, params["min_tokens_per_split"])


def check_contamination(
    corpus_train,
    corpus_val,
    labelled_val: pd.DataFrame,
    labelled_test: pd.DataFrame,
    ngram_size: int,
    params: dict,
    seed: int,
    task: str,
    min_target_words: int,
) -> dict:
    splits, note = sampled_frames({"train": corpus_train, "val": corpus_val}, params["max_corpus_documents"], seed)
    if is_generation(task):
        held_out_pairs = pd.concat([labelled_val, labelled_test], ignore_index=True)
        return _noted(validate_pair_decontamination(splits, held_out_pairs, ngram_size, min_target_words), note)
    return _noted(validate_decontamination(splits, held_out_texts(labelled_val, labelled_test), ngram_size), note)


def build_validation_report(
    corpus_result: dict,
    labelled_result: dict,
    tokens_result: dict,
    contamination_result: dict,
    removals_result: dict,
    outputs_result: dict,
    corpus_summary: dict,
) -> tuple[dict, str]:
    report = build_report([corpus_result, labelled_result, tokens_result, contamination_result, removals_result, outputs_result])
    report["data_fingerprint"] = corpus_summary["fingerprint"]
    return report, render_markdown(report)


def record_gate(validation_report: dict, validated_inputs: dict) -> dict:
    """The gate every training step takes: written whether validation passed or not, so a failed
    validation replaces an earlier passing gate instead of leaving it in place."""
    return gate_record(validation_report, validated_inputs)


def require_valid_data(validation_report: dict, validated_data: dict) -> None:
    """Fails the run with ``DataValidationError`` naming each failed expectation (after the gate and
    the report are written, so both say so)."""
    raise_for_failures(validation_report)
