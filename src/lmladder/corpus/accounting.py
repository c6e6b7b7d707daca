"""Every row accounted for: what each processing step removed, and for labelled data from which class.

A ledger is plain JSON (it goes into ``corpus_summary.json``, and data validation reads it back):

    {"rows_in": int, "rows_out": int,
     "steps": [{"step", "parameter", "rows_in", "removed", "removed_by_class"?}],
     and for labelled data "settings", "class_counts_in", "class_counts_out", "pii_masked"}

Each step's ``rows_in`` is what reached it (the steps run in order), so ``removed / rows_in`` is the
share that step took. ``parameter`` is the knob that controls the step (None: the step removes only
true defects, e.g. exact duplicates).
"""

from __future__ import annotations

import logging

import pandas as pd

from lmladder.corpus.cleaning import FILTER_NAMES

log = logging.getLogger(__name__)

_CLEANING = "data_processing.cleaning"
CORPUS_STEP_PARAMETERS = {
    "too_short": f"{_CLEANING}.min_chars",
    "too_long": f"{_CLEANING}.max_chars",
    "symbol_ratio": f"{_CLEANING}.max_symbol_ratio",
    "alpha_ratio": f"{_CLEANING}.min_alpha_ratio",
    "exact_duplicates": None,
    "near_duplicates": "data_processing.dedup.threshold",
    "contaminated": "data_processing.decontamination.ngram_size",
}
# Relative to the labelled set's settings (data_processing.labelled, or its module_domains group).
LABELLED_STEP_PARAMETERS = {
    "too_short": "filters.min_chars",
    "too_long": "filters.max_chars",
    "symbol_ratio": "filters.max_symbol_ratio",
    "alpha_ratio": "filters.min_alpha_ratio",
    "too_few_words": "min_words",
    "conflicting_labels": None,
    "exact_duplicates": None,
    "class_cap": "max_per_class",
}
# The (source, target) pairs of task: generation have no filters: their steps remove defects alone.
PAIR_STEP_PARAMETERS = {
    "empty_source": None,
    "empty_target": None,
    "exact_duplicates": None,
}


# Steps that remove rows on purpose, by a count the user sets (the class cap): logged and kept in
# the ledger like every step, but not held to the removal and class-share limits of validation.
DELIBERATE_STEPS = ("class_cap",)


def class_counts(labels: pd.Series) -> dict[str, int]:
    return {str(label): int(count) for label, count in labels.value_counts().sort_index().items()}


def labelled_step(step: str, before: pd.Series, after: pd.Series, settings: str) -> dict:
    """A step of the labelled set, from the labels that entered it and those that left it;
    ``settings`` is where the set's filter parameters live."""
    counts_in, counts_out = class_counts(before), class_counts(after)
    parameter = LABELLED_STEP_PARAMETERS[step]
    return {
        "step": step,
        "parameter": f"{settings}.{parameter}" if parameter else None,
        "rows_in": len(before),
        "removed": len(before) - len(after),
        "removed_by_class": {label: count - counts_out.get(label, 0) for label, count in counts_in.items()},
    }


def labelled_ledger(steps: list[dict], labels_in: pd.Series, labels_out: pd.Series, settings: str) -> dict:
    """``settings``: where the labelled set's filter parameters live, for messages."""
    return {
        "settings": settings,
        "rows_in": len(labels_in),
        "rows_out": len(labels_out),
        "steps": steps,
        "class_counts_in": class_counts(labels_in),
        "class_counts_out": class_counts(labels_out),
    }


def pair_step(step: str, rows_in: int, rows_out: int) -> dict:
    """A step of the pairs: no classes, so no ``removed_by_class``."""
    return {"step": step, "parameter": PAIR_STEP_PARAMETERS[step], "rows_in": rows_in, "removed": rows_in - rows_out}


def pairs_ledger(steps: list[dict], rows_in: int, rows_out: int, settings: str) -> dict:
    """The ledger of the pairs: a labelled ledger without class counts (``has_classes`` is False)."""
    return {"settings": settings, "rows_in": rows_in, "rows_out": rows_out, "steps": steps}


def has_classes(ledger: dict) -> bool:
    """Whether the ledger counts classes (a labelled set) or not (pairs, which have no label)."""
    return "class_counts_in" in ledger


def corpus_ledger(stats: dict[str, int], removed_contaminated: int) -> dict:
    """The corpus ledger from the cleaning statistics (filters in order, then dedup) and decontamination."""
    rows = stats["docs_in"]
    steps = []
    for step in (*FILTER_NAMES, "exact_duplicates", "near_duplicates", "contaminated"):
        removed = removed_contaminated if step == "contaminated" else int(stats.get(f"removed_{step}", 0))
        steps.append({"step": step, "parameter": CORPUS_STEP_PARAMETERS[step], "rows_in": rows, "removed": removed})
        rows -= removed
    return {"rows_in": stats["docs_in"], "rows_out": rows, "steps": steps}


def share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def log_ledger(what: str, ledger: dict) -> None:
    """One line per step that removed anything (with the share of its input, per class where known),
    and one line in total, so no row disappears without a trace in the run's log."""
    for step in ledger["steps"]:
        if not step["removed"]:
            continue
        knob = f" ({step['parameter']})" if step["parameter"] else ""
        by_class = step.get("removed_by_class")
        classes = ""
        if by_class:
            classes = "; by class: " + ", ".join(f"{label} {count}" for label, count in by_class.items() if count)
        log.info(
            "%s: %s%s removed %d of %d (%.1f%%)%s",
            what,
            step["step"],
            knob,
            step["removed"],
            step["rows_in"],
            100 * share(step["removed"], step["rows_in"]),
            classes,
        )
    removed = ledger["rows_in"] - ledger["rows_out"]
    log.info(
        "%s: %d in, %d out, %d removed (%.1f%%)",
        what,
        ledger["rows_in"],
        ledger["rows_out"],
        removed,
        100 * share(removed, ledger["rows_in"]),
    )
    if has_classes(ledger):
        shares = class_shares(ledger)
        log.info(
            "%s: class shares in -> out: %s",
            what,
            ", ".join(f"{label} {share_in:.1%} -> {share_out:.1%}" for label, (share_in, share_out) in shares.items()),
        )


def class_shares(ledger: dict, counts_out: dict[str, int] | None = None) -> dict[str, tuple[float, float]]:
    """Each class's share of the labelled set before and after processing (or ``counts_out``)."""
    counts_in = ledger["class_counts_in"]
    counts_out = ledger["class_counts_out"] if counts_out is None else counts_out
    total_in, total_out = sum(counts_in.values()), sum(counts_out.values())
    return {
        label: (share(counts_in.get(label, 0), total_in), share(counts_out.get(label, 0), total_out))
        for label in sorted(set(counts_in) | set(counts_out))
    }


def class_shares_before_cap(ledger: dict) -> dict[str, tuple[float, float]]:
    """Shares before processing and before the deliberate steps (``max_per_class`` rebalances classes on purpose)."""
    counts = dict(ledger["class_counts_out"])
    for step in ledger["steps"]:
        if step["step"] in DELIBERATE_STEPS:
            for label, removed in step["removed_by_class"].items():
                counts[label] = counts.get(label, 0) + removed
    return class_shares(ledger, counts)
