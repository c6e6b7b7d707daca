"""The (source, target) pairs of ``task: generation``: read, sampled, cleaned and split.

The pairs come from ``code_summaries`` (the standard library's functions and the first sentence
of their docstrings) or from a table (``pairs_from_table``), as ``data_processing.pairs`` says.
They take the place of the labelled set: ``text`` is the source, ``target`` the expected output
(``code_summaries.EXAMPLE_COLUMNS``), and there is no label, so nothing here counts classes.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from lmladder.corpus.accounting import log_ledger, pair_step, pairs_ledger
from lmladder.corpus.cleaning import normalise_and_mask, normalize_code
from lmladder.corpus.code_summaries import build_code_summaries, check_disjoint_splits, pairs_from_table, split_pairs
from lmladder.corpus.dedup import dedup_key
from lmladder.corpus.splits import hash_fraction
from lmladder.errors import ConfigError, FilteredOutError

PAIRS_PARAMETERS = "data_processing.pairs"
PAIR_SOURCES = ("code_summaries", "table")
TASKS = ("classification", "generation")

log = logging.getLogger(__name__)


def is_generation(task: str) -> bool:
    """Whether the top-level ``task`` parameter asks for (source, target) pairs instead of labels."""
    if task not in TASKS:
        raise ConfigError(f"task must be one of {TASKS}, got {task!r}")
    return task == "generation"


def read_pairs(raw: pd.DataFrame, params: dict) -> pd.DataFrame:
    """The pairs ``params`` (``data_processing.pairs``) names: the standard library's code summaries
    (``raw`` unused), or the ``source_column`` and ``target_column`` of the table ``raw``."""
    source = params["source"]
    if source == "code_summaries":
        pairs, _ = build_code_summaries()
    elif source == "table":
        pairs, counts = pairs_from_table(raw, params["source_column"], params["target_column"], params["id_column"])
        if pairs.empty:
            dropped = {key.removeprefix("dropped_"): count for key, count in counts.items() if key.startswith("dropped_") and count}
            raise FilteredOutError(
                f"the pairs table gave no usable pair: {counts['rows']} rows, dropped {dropped or 'none'}; every row needs "
                f"a non-empty text in {PAIRS_PARAMETERS}.source_column ({params['source_column']!r}) and target_column "
                f"({params['target_column']!r})"
            )
    else:
        raise ConfigError(f"{PAIRS_PARAMETERS}.source must be one of {PAIR_SOURCES}, got {source!r}")
    return pairs


def select_by_hashed_id(pairs: pd.DataFrame, max_examples: int | None, seed: int) -> pd.DataFrame:
    """At most ``max_examples`` pairs: those whose ids hash lowest, so the same ids are kept whatever
    the row order (and a larger ``max_examples`` keeps a superset). Rows keep their order."""
    if max_examples is None or len(pairs) <= max_examples:
        log.info("pairs: kept all %d pairs (%s.max_examples: %s)", len(pairs), PAIRS_PARAMETERS, max_examples)
        return pairs.reset_index(drop=True)
    ids = pairs["id"].astype(str).tolist()
    ranked = sorted(range(len(ids)), key=lambda row: (hash_fraction(ids[row], seed), ids[row]))
    kept = pairs.iloc[np.sort(ranked[:max_examples])].reset_index(drop=True)
    log.info("pairs: kept %d of %d pairs, chosen by hashed id (%s.max_examples)", len(kept), len(pairs), PAIRS_PARAMETERS)
    return kept


def pair_examples(raw: pd.DataFrame, params: dict, seed: int) -> pd.DataFrame:
    """``read_pairs``, then ``select_by_hashed_id`` at ``max_examples``."""
    return select_by_hashed_id(read_pairs(raw, params), params["max_examples"], seed)


def clean_pairs(pairs: pd.DataFrame, mask_personal_data: bool) -> tuple[pd.DataFrame, dict]:
    """Normalise and (with ``mask_personal_data``) mask PII in sources and targets, then drop, in
    order: pairs whose source or target is empty, and exact duplicates (the same source and target
    up to case and spacing). Returns the kept pairs and the ledger of what each step removed (see
    ``accounting``; no class counts), logged step by step.

    Sources keep their layout (``normalize_code``): NFKC and collapsed spaces would change what
    code means. Raises ``FilteredOutError`` naming the step that removed the most when no pair is left.
    """
    sources, source_pii = normalise_and_mask(pairs["text"], mask_personal_data, normalise=normalize_code)
    targets, target_pii = normalise_and_mask(pairs["target"], mask_personal_data)
    current = pairs.assign(text=sources, target=targets)
    steps = []

    def keep(step: str, mask: pd.Series) -> None:
        nonlocal current
        kept = current[np.asarray(mask, dtype=bool)]  # an empty mask must still select rows, not columns
        steps.append(pair_step(step, len(current), len(kept)))
        current = kept

    keep("empty_source", current["text"].str.strip() != "")
    keep("empty_target", current["target"] != "")
    keys = current["text"].map(dedup_key) + ":" + current["target"].map(dedup_key)
    keep("exact_duplicates", ~keys.duplicated())
    ledger = pairs_ledger(steps, len(pairs), len(current), PAIRS_PARAMETERS)
    ledger["pii_masked"] = {kind: int(count) for kind, count in (source_pii.sum() + target_pii.sum()).items()}
    log_ledger("pairs", ledger)
    if current.empty:
        worst = max(steps, key=lambda step: step["removed"])
        raise FilteredOutError(
            f"0 pairs left of {ledger['rows_in']}; the {worst['step']} step removed the most ({worst['removed']}): "
            f"check the data behind {PAIRS_PARAMETERS}.source"
        )
    return current.reset_index(drop=True), ledger


def split_pair_examples(
    pairs: pd.DataFrame, val_fraction: float, test_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train/val/test by ``split_pairs`` (no function body or summary in two splits), checked with
    ``check_disjoint_splits`` before anything is written."""
    train, val, test = split_pairs(pairs, val_fraction, test_fraction, seed)
    check_disjoint_splits(train, val, test)
    log.info("pairs: %d train, %d val, %d test; no source or target is in two splits", len(train), len(val), len(test))
    return train, val, test
