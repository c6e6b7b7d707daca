"""Great Expectations suites for corpus splits, labelled splits (or the (source, target) pairs of
``task: generation``), token files, contamination, the removals processing made and the outputs it
recorded.

Each ``validate_*`` function turns its inputs into one or more small pandas frames, runs the
expectations on them in a fresh ephemeral GX context, and returns a plain, JSON-safe suite
result (the format ``report.build_report`` collects):

    {"suite": str, "success": bool, "expectations": [
        {"expectation", "column", "kwargs", "success", "observed", "examples", "description"}]}
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations import (
    Expectation,
    ExpectColumnPairValuesAToBeGreaterThanB,
    ExpectColumnPairValuesToBeEqual,
    ExpectColumnUniqueValueCountToBeBetween,
    ExpectColumnValueLengthsToBeBetween,
    ExpectColumnValuesToBeBetween,
    ExpectColumnValuesToBeInSet,
    ExpectColumnValuesToBeOfType,
    ExpectColumnValuesToBeUnique,
    ExpectColumnValuesToNotBeNull,
    ExpectTableColumnsToMatchSet,
)

from lmladder.corpus.accounting import DELIBERATE_STEPS, class_shares_before_cap, has_classes, share
from lmladder.corpus.code_summaries import EXAMPLE_COLUMNS, leak_reasons, pair_leak_index, shared_across_splits
from lmladder.corpus.decontamination import contaminated_mask
from lmladder.errors import ConfigError

MAX_EXAMPLES = 5
EXAMPLE_MAX_CHARS = 80
# GX returns duplicates (a repeated doc_id appears once per row), so ask for more than we keep.
_PARTIAL_UNEXPECTED_COUNT = 20
_EXAMPLES_FROM = "examples_from"

CORPUS_COLUMNS = ["doc_id", "text"]
LABELLED_COLUMNS = ["doc_id", "text", "label"]
# What sizes the labelled val and test splits, for messages about a split too small.
LABELLED_SPLIT_FRACTIONS = "data_processing.splits.labelled_val_fraction / labelled_test_fraction"


class TokenFileLike(Protocol):
    path: Path
    tokens: np.ndarray
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class _FrameCheck:
    """Expectations run on one frame; ``key_column`` names the offending rows in examples."""

    name: str
    frame: pd.DataFrame
    key_column: str
    expectations: list[Expectation]


# --- public suites --------------------------------------------------------------------------


def validate_corpus(splits: dict[str, pd.DataFrame], min_chars: int, max_chars: int) -> dict:
    """Corpus splits have doc_id and text, unique doc_ids, bounded text lengths, no empty split."""
    stacked = _stack_splits(splits)
    return _run_suite(
        "corpus",
        [
            _FrameCheck(
                name="documents",
                frame=stacked,
                key_column="doc_id",
                expectations=[
                    _columns_present(CORPUS_COLUMNS),
                    *_not_null(CORPUS_COLUMNS),
                    ExpectColumnValuesToBeUnique(
                        column="doc_id",
                        description="every doc_id appears once across all splits",
                    ),
                    _text_length(min_chars, max_chars),
                ],
            ),
            _rows_per_split(splits),
        ],
    )


def validate_labelled(
    splits: dict[str, pd.DataFrame],
    label_set: list[str],
    min_class_share: float,
    min_chars: int,
    max_chars: int,
    *,
    train_split: str,
    min_examples_per_class: int = 1,
) -> dict:
    """Labelled splits use only declared labels, keep every class in train, and share no text.
    Train (``splits[train_split]``) holds at least two classes, and no split is empty or has fewer than
    ``min_examples_per_class`` examples of a class: otherwise scikit-learn or Lightning would fail
    later, on an empty or one-class split, with no word about the data. Each short class is reported
    once: by its count when it has fewer than ``min_examples_per_class`` examples in a split (train
    included), else, in train, by its share when that is below ``min_class_share``."""
    stacked = _stack_splits(splits)
    train_labels = sorted(map(str, _column(splits.get(train_split), "label").dropna().unique()))
    return _run_suite(
        "labelled",
        [
            _FrameCheck(
                name="examples",
                frame=stacked,
                key_column="doc_id",
                expectations=[
                    _columns_present(LABELLED_COLUMNS),
                    *_not_null(LABELLED_COLUMNS),
                    ExpectColumnValuesToBeInSet(
                        column="label",
                        value_set=list(label_set),
                        description=f"every label is one of {_format_list(label_set)}",
                        meta={_EXAMPLES_FROM: "label"},
                    ),
                    _text_length(min_chars, max_chars),
                ],
            ),
            _FrameCheck(
                name="class_shares",
                frame=_class_shares(splits.get(train_split), label_set, min_examples_per_class),
                key_column="label",
                expectations=[
                    ExpectColumnValuesToBeBetween(
                        column="share",
                        min_value=min_class_share,
                        description=(f"every label makes up at least {min_class_share:.1%} of split '{train_split}'"),
                    ),
                ],
            ),
            _FrameCheck(
                name="train_classes",
                frame=_column(splits.get(train_split), "label").to_frame("label"),
                key_column="label",
                expectations=[
                    ExpectColumnUniqueValueCountToBeBetween(
                        column="label",
                        min_value=2,
                        description=(
                            f"split '{train_split}' holds at least two classes, as a classifier needs "
                            f"(found {len(train_labels)}: {_format_list(train_labels) or 'none'}); add labelled data "
                            "of another class, or check data_processing.labelled.label_column and labels"
                        ),
                    ),
                ],
            ),
            _rows_per_split(
                splits,
                description=(
                    "every labelled split holds at least one example (add more labelled data, or raise "
                    f"{LABELLED_SPLIT_FRACTIONS} for an empty val or test split)"
                ),
            ),
            _FrameCheck(
                name="class_counts",
                frame=_class_counts(splits, label_set),
                key_column="split_class",
                expectations=[
                    ExpectColumnValuesToBeBetween(
                        column="examples",
                        min_value=min_examples_per_class,
                        description=(
                            f"every class has at least {min_examples_per_class} example(s) in each of the splits "
                            f"{_format_list(list(splits))} (examples name split: class (count)); add more labelled data "
                            f"of that class, raise {LABELLED_SPLIT_FRACTIONS} for a short val or test split, "
                            "or lower data_validation.min_examples_per_class"
                        ),
                    ),
                ],
            ),
            _FrameCheck(
                name="text_splits",
                frame=_splits_per_text(stacked),
                key_column="text",
                expectations=[
                    ExpectColumnValuesToBeBetween(
                        column="splits",
                        max_value=1,
                        description="no text appears in more than one split",
                    ),
                ],
            ),
        ],
    )


def validate_pairs(splits: dict[str, pd.DataFrame]) -> dict:
    """The (source, target) pairs of ``task: generation``: the columns ``EXAMPLE_COLUMNS``, ids unique
    across splits, every text (source) and target a string of at least one character, no split empty,
    and no normalised source or target in two splits (``code_summaries.shared_across_splits``, the
    test ``check_disjoint_splits`` makes: a shared function would be scored from memory)."""
    stacked = _stack_splits(splits)
    text_columns = ["text", "target"]
    return _run_suite(
        "pairs",
        [
            _FrameCheck(
                name="examples",
                frame=stacked,
                key_column="id",
                expectations=[
                    _columns_present(EXAMPLE_COLUMNS),
                    *_not_null(["id", *text_columns]),
                    ExpectColumnValuesToBeUnique(column="id", description="every id appears once across all splits"),
                    *(
                        ExpectColumnValuesToBeOfType(column=column, type_="str", description=f"every {column} is a string")
                        for column in text_columns
                    ),
                    *(
                        ExpectColumnValueLengthsToBeBetween(
                            column=column, min_value=1, description=f"every {column} is at least 1 character long"
                        )
                        for column in text_columns
                    ),
                ],
            ),
            _rows_per_split(
                splits,
                description=(
                    "every split holds at least one pair (add more pairs, raise data_processing.pairs.max_examples, or raise "
                    f"{LABELLED_SPLIT_FRACTIONS} for an empty val or test split)"
                ),
            ),
            _FrameCheck(
                name="shared_across_splits",
                frame=_shared_across_splits(splits),
                key_column="functions",
                expectations=[
                    ExpectColumnValuesToBeBetween(
                        column="splits",
                        max_value=1,
                        description=(
                            "no normalised source or target is in two splits (examples name the functions sharing one); "
                            "split with data_processing, whose split_pairs keeps each in one split"
                        ),
                    ),
                ],
            ),
        ],
    )


def validate_pair_decontamination(
    corpus_splits: dict[str, pd.DataFrame], held_out: pd.DataFrame, ngram_size: int, min_target_words: int
) -> dict:
    """No corpus document leaks a held-out pair, by the tests decontamination made
    (``code_summaries.pair_leak_index``): it is no held-out function's docstring (by id), holds no
    held-out target of at least ``min_target_words`` words, and shares no ``ngram_size``-gram with a
    held-out source or target."""
    stacked = _stack_splits(corpus_splits)
    # Null texts are the corpus suite's finding; here they simply cannot be contaminated.
    texts = _column(stacked, "text").fillna("").astype(str).tolist()
    doc_ids = _column(stacked, "doc_id").tolist()
    reasons = leak_reasons(doc_ids, texts, pair_leak_index(_pair_columns(held_out), ngram_size, min_target_words))
    flags = pd.DataFrame(
        {
            # The example names the document and why it leaks (by_id, by_target_sentence or by_ngram).
            "document": [f"{doc_id} ({reason})" if reason else str(doc_id) for doc_id, reason in zip(doc_ids, reasons, strict=True)],
            "contaminated": [reason != "" for reason in reasons],
        }
    )
    return _run_suite(
        "contamination",
        [
            _FrameCheck(
                name="documents",
                frame=flags,
                key_column="document",
                expectations=[
                    ExpectColumnValuesToBeInSet(
                        column="contaminated",
                        value_set=[False],
                        description=(
                            "no document is a held-out function's docstring (by id), holds a held-out target of at least "
                            f"{min_target_words} words, or shares a {ngram_size}-gram with a held-out source or target"
                        ),
                    ),
                ],
            ),
        ],
    )


def validate_tokens(token_files: dict[str, TokenFileLike], min_tokens: int) -> dict:
    """Token files match their metadata, stay inside the vocabulary and fill a training batch."""
    summary = _token_summary(token_files)
    # The most common vocab_size stands for "the" vocabulary; files differing from it are named.
    shared_vocab = summary["vocab_size"].mode().tolist()[:1]
    return _run_suite(
        "tokens",
        [
            _FrameCheck(
                name="token_files",
                frame=summary,
                key_column="name",
                expectations=[
                    ExpectColumnPairValuesToBeEqual(
                        column_A="length",
                        column_B="token_count",
                        description="each token array is as long as its metadata token_count says",
                    ),
                    ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A="vocab_size",
                        column_B="max_token_id",
                        description="every token id is below the file's vocab_size",
                    ),
                    ExpectColumnValuesToBeBetween(
                        column="token_count",
                        min_value=min_tokens,
                        description=(f"each file holds at least {min_tokens} tokens, the number one training batch needs"),
                    ),
                    ExpectColumnValuesToBeInSet(
                        column="vocab_size",
                        value_set=shared_vocab,
                        description=(f"all files share one vocab_size ({_format_list(shared_vocab)})"),
                    ),
                ],
            ),
        ],
    )


def validate_decontamination(corpus_splits: dict[str, pd.DataFrame], eval_texts: list[str], ngram_size: int) -> dict:
    """No corpus document shares an n-gram of ``ngram_size`` units with an evaluation text."""
    stacked = _stack_splits(corpus_splits)
    # Null texts are the corpus suite's finding; here they simply cannot be contaminated.
    texts = _column(stacked, "text").fillna("").astype(str).tolist()
    flags = pd.DataFrame(
        {
            "doc_id": _column(stacked, "doc_id"),
            "contaminated": contaminated_mask(texts, list(eval_texts), ngram_size),
        }
    )
    return _run_suite(
        "contamination",
        [
            _FrameCheck(
                name="documents",
                frame=flags,
                key_column="doc_id",
                expectations=[
                    ExpectColumnValuesToBeInSet(
                        column="contaminated",
                        value_set=[False],
                        description=(f"no document shares a {ngram_size}-gram with an evaluation text"),
                    ),
                ],
            ),
        ],
    )


def validate_removals(removals: dict[str, dict], max_removed_share: float, max_class_share_shift: float) -> dict:
    """No processing step removes more than ``max_removed_share`` of the rows that reach it, and the
    filters and deduplication move no class's share of the labelled set by more than
    ``max_class_share_shift``. ``removals``: ``{"corpus": ledger, "labelled": ledger}`` (see
    ``lmladder.corpus.accounting``). The deliberate steps (``max_per_class``, which rebalances
    classes on purpose) are held to neither: the shift is measured before them."""
    steps = pd.DataFrame(
        [
            {
                "step": f"{dataset} {step['step']} {share(step['removed'], step['rows_in']):.1%}: {step['parameter'] or 'fix the data'}",
                "removed_share": share(step["removed"], step["rows_in"]),
            }
            for dataset, ledger in removals.items()
            for step in ledger["steps"]
            if step["step"] not in DELIBERATE_STEPS
        ],
        columns=["step", "removed_share"],
    )
    checks = [
        _FrameCheck(
            name="steps",
            frame=steps,
            key_column="step",
            expectations=[
                ExpectColumnValuesToBeBetween(
                    column="removed_share",
                    max_value=max_removed_share,
                    description=(
                        f"no processing step removes more than {max_removed_share:.0%} of the rows that reach it "
                        "(loosen the parameter the example names, or raise data_validation.max_removed_share)"
                    ),
                ),
            ],
        ),
    ]
    # Pairs (task: generation) have no classes, so there is no class share to hold.
    if has_classes(removals["labelled"]):
        checks.append(_class_share_shifts(removals["labelled"], max_class_share_shift))
    return _run_suite("removals", checks)


def _class_share_shifts(ledger: dict, max_class_share_shift: float) -> _FrameCheck:
    settings = ledger["settings"]
    shifts = pd.DataFrame(
        [
            {"label": f"{label}: {share_in:.1%} -> {share_out:.1%}", "shift": abs(share_out - share_in)}
            for label, (share_in, share_out) in class_shares_before_cap(ledger).items()
        ],
        columns=["label", "shift"],
    )
    return _FrameCheck(
        name="class_shares",
        frame=shifts,
        key_column="label",
        expectations=[
            ExpectColumnValuesToBeBetween(
                column="shift",
                max_value=max_class_share_shift,
                description=(
                    f"filters and deduplication move no class's share by more than {max_class_share_shift:.0%} points "
                    f"(loosen {settings}.filters or {settings}.min_words, or raise data_validation.max_class_share_shift)"
                ),
            ),
        ],
    )


def validate_outputs(recorded: dict[str, str], actual: dict[str, str]) -> dict:
    """Every processed output is the one ``data_processing`` recorded when it finished: a mismatch
    means processing was interrupted (or outputs come from different runs)."""
    names = sorted(set(recorded) | set(actual))
    frame = pd.DataFrame(
        {"output": names, "recorded": [str(recorded.get(name)) for name in names], "actual": [str(actual.get(name)) for name in names]}
    )
    return _run_suite(
        "outputs",
        [
            _FrameCheck(
                name="fingerprints",
                frame=frame,
                key_column="output",
                expectations=[
                    ExpectColumnPairValuesToBeEqual(
                        column_A="recorded",
                        column_B="actual",
                        description=(
                            "every processed output is the one data_processing recorded in corpus_summary.json "
                            "(a mix of two runs, e.g. after a killed run: run data_processing again)"
                        ),
                    ),
                ],
            ),
        ],
    )


# --- running a suite ------------------------------------------------------------------------


def _run_suite(suite_name: str, checks: Sequence[_FrameCheck]) -> dict:
    """Run every check in one fresh ephemeral context and collect a JSON-safe suite result."""
    context = _ephemeral_context()
    datasource = context.data_sources.add_pandas(f"{suite_name}_frames")
    expectations = []
    for check in checks:
        expectations.extend(_run_check(context, datasource, suite_name, check))
    return {
        "suite": suite_name,
        "success": all(expectation["success"] for expectation in expectations),
        "expectations": expectations,
    }


def _ephemeral_context():
    # In-memory stores without temporary docs sites, and no progress bars in pipeline logs.
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _run_check(context, datasource, suite_name: str, check: _FrameCheck) -> list[dict]:
    name = f"{suite_name}_{check.name}"
    asset = datasource.add_dataframe_asset(name)
    batch_definition = asset.add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in check.expectations:
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
    # GX cannot name rows by a column the frame lacks; the column check reports that absence.
    index_columns = [check.key_column] if check.key_column in check.frame.columns else []
    result = definition.run(
        batch_parameters={"dataframe": check.frame},
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": _PARTIAL_UNEXPECTED_COUNT,
            "unexpected_index_column_names": index_columns,
        },
    )
    # GX does not keep the suite's order in its results; the report should.
    by_id = {outcome.expectation_config.id: outcome for outcome in result.results}
    return [_summarise(by_id[expectation.id], check.key_column) for expectation in check.expectations]


def _summarise(outcome, key_column: str) -> dict:
    config = outcome.expectation_config
    kwargs = {key: value for key, value in config.kwargs.items() if key != "batch_id"}
    error = _exception_message(outcome.exception_info)
    return {
        "expectation": config.type,
        "column": _column_label(kwargs),
        "kwargs": _json_safe(kwargs),
        "success": bool(outcome.success),
        "observed": f"error: {error}" if error else _observed(outcome.result),
        "examples": [] if outcome.success else _examples(outcome.result, config.meta, key_column),
        "description": config.description,
    }


def _column_label(kwargs: dict) -> str | None:
    if "column" in kwargs:
        return kwargs["column"]
    if "column_A" in kwargs:
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return None


def _observed(result: dict) -> Any:
    if "observed_value" in result:
        return _json_safe(result["observed_value"])
    if "unexpected_count" in result:
        return f"{result['unexpected_count']} of {result['element_count']} unexpected"
    return None


def _examples(result: dict, meta: dict, key_column: str) -> list:
    """Up to MAX_EXAMPLES distinct offenders, named by the expectation's chosen column."""
    rows = result.get("partial_unexpected_index_list")
    if rows and isinstance(rows[0], dict):  # a row-wise expectation: name the rows
        source_column = (meta or {}).get(_EXAMPLES_FROM, key_column)
        candidates = [row.get(source_column) for row in rows]
    elif rows:  # without the key column GX lists row positions; the values say more
        candidates = result["partial_unexpected_list"]
    else:  # the columns check: name the missing columns
        candidates = result.get("details", {}).get("mismatched", {}).get("missing", [])
    examples: list = []
    seen: set[str] = set()
    for candidate in map(_example_value, candidates):
        fingerprint = json.dumps(candidate, sort_keys=True)
        if candidate is not None and fingerprint not in seen:
            seen.add(fingerprint)
            examples.append(candidate)
        if len(examples) == MAX_EXAMPLES:
            break
    return examples


def _example_value(value: Any) -> Any:
    value = _json_safe(value)
    if isinstance(value, str) and len(value) > EXAMPLE_MAX_CHARS:
        return value[: EXAMPLE_MAX_CHARS - 1] + "…"
    return value


def _exception_message(exception_info: dict | None) -> str | None:
    """GX nests exception info per metric when a metric failed, and keeps it flat otherwise."""
    if not exception_info:
        return None
    if exception_info.get("raised_exception"):
        return exception_info.get("exception_message")
    for info in exception_info.values():
        if isinstance(info, dict) and info.get("raised_exception"):
            return info.get("exception_message")
    return None


def _json_safe(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [_json_safe(item) for item in value]
    return str(value)


# --- frames and expectations shared by the suites -------------------------------------------


def _stack_splits(splits: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    if not splits:
        raise ConfigError("Data validation got no splits; pass at least one split to validate.")
    return pd.concat([frame.assign(split=name) for name, frame in splits.items()], ignore_index=True)


def _column(frame: pd.DataFrame | None, name: str) -> pd.Series:
    # A missing column is reported by the columns check; derived frames treat it as all-null
    # so that check's finding reaches the report instead of a KeyError.
    if frame is None or name not in frame.columns:
        return pd.Series([None] * (0 if frame is None else len(frame)), dtype=object)
    return frame[name]


def _rows_per_split(splits: Mapping[str, pd.DataFrame], description: str = "every split holds at least one row") -> _FrameCheck:
    counts = pd.DataFrame({"split": list(splits), "rows": [len(frame) for frame in splits.values()]})
    return _FrameCheck(
        name="split_rows",
        frame=counts,
        key_column="split",
        expectations=[
            ExpectColumnValuesToBeBetween(column="rows", min_value=1, description=description),
        ],
    )


def _class_counts(splits: Mapping[str, pd.DataFrame], label_set: Sequence[str]) -> pd.DataFrame:
    """One row per split and declared class: ``split_class`` ("val: negative (0)") and its ``examples``."""
    rows = []
    for name, frame in splits.items():
        counts = _column(frame, "label").astype(str).value_counts()
        for label in label_set:
            count = int(counts.get(str(label), 0))
            rows.append({"split_class": f"{name}: {label} ({count})", "examples": count})
    return pd.DataFrame(rows, columns=["split_class", "examples"])


def _class_shares(train: pd.DataFrame | None, label_set: Sequence[str], min_examples: int) -> pd.DataFrame:
    """Each declared class's share of train, leaving out the classes with fewer than ``min_examples``
    examples there: the ``class_counts`` check already reports those (a missing class, say) by count."""
    labels = _column(train, "label").astype(str)
    counts = labels.value_counts()
    total = max(len(labels), 1)
    kept = [label for label in label_set if counts.get(str(label), 0) >= min_examples]
    return pd.DataFrame({"label": kept, "share": [counts.get(str(label), 0) / total for label in kept]}, columns=["label", "share"])


def _splits_per_text(stacked: pd.DataFrame) -> pd.DataFrame:
    texts = pd.DataFrame({"text": _column(stacked, "text"), "split": stacked["split"]})
    return texts.dropna(subset=["text"]).groupby("text")["split"].nunique().rename("splits").reset_index()


def _pair_columns(frame: pd.DataFrame | None) -> pd.DataFrame:
    """The id, text and target of the pairs that have them as strings: rows or columns missing, null
    or of another type are the pairs suite's findings, and must not stop the checks built on these."""
    if frame is None or any(column not in frame.columns for column in ("id", "text", "target")):
        return pd.DataFrame(columns=["id", "text", "target"], dtype=object)
    # Booleans by hand: Series.map of an empty string column gives strings, and an empty list selects columns.
    strings = [isinstance(text, str) and isinstance(target, str) for text, target in zip(frame["text"], frame["target"], strict=True)]
    usable = frame[np.array(strings, dtype=bool)]
    return usable[["id", "text", "target"]].assign(id=usable["id"].astype(str))


def _shared_across_splits(splits: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per normalised source or target in two splits: ``functions`` names them (ids first,
    so that a truncated example still names them), ``splits`` is 2."""
    shared = shared_across_splits({name: _pair_columns(frame) for name, frame in splits.items()})
    rows = [
        {
            "functions": f"{id_a} ({first}, {second}): same {field}"
            if id_a == id_b
            else f"{id_a} ({first}), {id_b} ({second}): same {field}",
            "splits": 2,
        }
        for field, first, id_a, second, id_b in shared
    ]
    return pd.DataFrame(rows, columns=["functions", "splits"])


def _token_summary(token_files: Mapping[str, TokenFileLike]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "name": name,
                "token_count": int(token_file.metadata["token_count"]),
                "length": len(token_file.tokens),
                # An empty file has no id that could be out of range.
                "max_token_id": int(token_file.tokens.max()) if len(token_file.tokens) else -1,
                "vocab_size": int(token_file.metadata["vocab_size"]),
            }
            for name, token_file in token_files.items()
        ],
        columns=["name", "token_count", "length", "max_token_id", "vocab_size"],
    )


def _columns_present(columns: list[str]) -> Expectation:
    return ExpectTableColumnsToMatchSet(
        column_set=columns,
        exact_match=False,
        description=f"columns {_format_list(columns)} are present",
    )


def _not_null(columns: list[str]) -> list[Expectation]:
    return [ExpectColumnValuesToNotBeNull(column=column, description=f"no {column} is null") for column in columns]


def _text_length(min_chars: int, max_chars: int) -> Expectation:
    return ExpectColumnValueLengthsToBeBetween(
        column="text",
        min_value=min_chars,
        max_value=max_chars,
        description=f"every text is {min_chars} to {max_chars} characters long",
    )


def _format_list(values: Sequence) -> str:
    return ", ".join(str(value) for value in values)
