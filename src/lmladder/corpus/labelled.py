"""Cleaning the labelled set, with every removed example counted per class.

The labelled set has its own filters (``data_processing.labelled``), not the corpus's: a review of
twelve characters is a fine example to classify, while it is too short to pretrain on.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from lmladder.corpus.accounting import labelled_ledger, labelled_step, log_ledger
from lmladder.corpus.cleaning import FILTER_NAMES, QualityFilters, failed_filters, normalise_and_mask
from lmladder.corpus.dedup import dedup_key
from lmladder.corpus.labelling import cap_per_class
from lmladder.corpus.ngrams import text_units
from lmladder.corpus.splits import hash_fraction
from lmladder.errors import FilteredOutError

LABELLED_PARAMETERS = "data_processing.labelled"

log = logging.getLogger(__name__)


def labelled_settings(params: dict) -> tuple[dict, str]:
    """The labelled set's ``filters``, ``min_words`` and ``max_per_class`` from ``data_processing.labelled``,
    and where they live: the embedded docstring labels bring their own (``module_domains``); any
    other labelled set uses the top-level ones, which keep every example by default."""
    if params["label_from"] == "module_domains":
        return params["module_domains"], f"{LABELLED_PARAMETERS}.module_domains"
    return params, LABELLED_PARAMETERS


def clean_labelled_examples(
    examples: pd.DataFrame,
    filters: QualityFilters,
    mask_personal_data: bool,
    min_words: int,
    max_per_class: int | None,
    seed: int,
    settings: str = LABELLED_PARAMETERS,
) -> tuple[pd.DataFrame, dict]:
    """Normalise and mask PII, then, in order: the quality filters, fewer than ``min_words`` words (or
    CJK characters), texts seen with two different labels (either label would be noise), exact
    duplicates, and at most ``max_per_class`` examples per class (by hashed text, so deterministic).

    Returns the kept examples and the ledger of what each step removed (see ``accounting``), which
    names each step's parameter under ``settings``.
    """
    texts, pii_counts = normalise_and_mask(examples["text"], mask_personal_data)
    current = examples.assign(text=texts)
    labels_in = current["label"]
    steps = []

    def keep(step: str, mask: pd.Series) -> None:
        nonlocal current
        kept = current[np.asarray(mask, dtype=bool)]  # an empty mask must still select rows, not columns
        steps.append(labelled_step(step, current["label"], kept["label"], settings))
        current = kept

    failed = failed_filters(current["text"], filters)
    for name in FILTER_NAMES:  # failed_filters gives each text only its first failing filter
        keep(name, failed.loc[current.index] != name)
    keep("too_few_words", current["text"].map(lambda text: len(text_units(text)) >= min_words))
    keys = current["text"].map(dedup_key)  # one key per text, for the three steps that compare texts
    keep("conflicting_labels", current.assign(_key=keys).groupby("_key")["label"].transform("nunique") == 1)
    keep("exact_duplicates", ~keys.loc[current.index].duplicated())
    order = keys.loc[current.index].map(lambda key: hash_fraction(key, seed))
    capped = cap_per_class(current.assign(_row=current.index), max_per_class, order)
    keep("class_cap", current.index.isin(capped["_row"]))
    ledger = labelled_ledger(steps, labels_in, current["label"], settings)
    ledger["pii_masked"] = {kind: int(count) for kind, count in pii_counts.sum().items()}
    return current.reset_index(drop=True), ledger


def clean_labelled_set(examples: pd.DataFrame, mask_personal_data: bool, params: dict, seed: int) -> tuple[pd.DataFrame, dict]:
    """``clean_labelled_examples`` with the settings ``labelled_settings`` picks from ``params``
    (``data_processing.labelled``); every removal is logged (per class) and recorded in the ledger.

    Raises ``FilteredOutError`` naming the step that removed the most when no example is left.
    """
    settings, settings_name = labelled_settings(params)
    log.info("labelled: filters, min_words and max_per_class from %s", settings_name)
    kept, ledger = clean_labelled_examples(
        examples,
        QualityFilters.from_settings(settings["filters"]),
        mask_personal_data,
        settings["min_words"],
        settings["max_per_class"],
        seed,
        settings_name,
    )
    log_ledger("labelled", ledger)
    if kept.empty:
        worst = max(ledger["steps"], key=lambda step: step["removed"])
        fix = f"loosen {worst['parameter']}" if worst["parameter"] else "check the labelled data"
        raise FilteredOutError(
            f"0 labelled examples left of {ledger['rows_in']}; the {worst['step']} step removed the most ({worst['removed']}): {fix}"
        )
    return kept, ledger
