"""The validation suites against real Great Expectations: good data passes, and each kind of bad
data fails exactly the expectation meant to catch it, naming the offenders."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lmladder.errors import DataValidationError
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

MIN_CHARS, MAX_CHARS = 5, 200
LABELS = ["positive", "negative"]
MIN_CLASS_SHARE = 0.2
VOCAB_SIZE = 64
MIN_TOKENS = 34  # one batch of 2 sequences of 16 tokens plus their shifted targets
NGRAM_SIZE = 3
EVAL_TEXTS = ["the quarterly report shows strong growth", "a recipe for lemon cake"]


def corpus_splits() -> dict[str, pd.DataFrame]:
    return {
        "train": pd.DataFrame(
            {
                "doc_id": ["d1", "d2", "d3"],
                "source": ["wiki", "wiki", "news"],
                "text": [
                    "Rivers carry sediment to the sea.",
                    "Mountains rise where plates collide.",
                    "The council met on Tuesday evening.",
                ],
            }
        ),
        "validation": pd.DataFrame({"doc_id": ["d4"], "source": ["news"], "text": ["Rain is expected over the weekend."]}),
        "test": pd.DataFrame({"doc_id": ["d5"], "source": ["wiki"], "text": ["Glaciers shape valleys slowly."]}),
    }


def labelled_splits() -> dict[str, pd.DataFrame]:
    return {
        "train": pd.DataFrame(
            {
                "doc_id": ["l1", "l2", "l3", "l4"],
                "text": ["Loved every minute.", "Great value.", "Broke in a day.", "Never again."],
                "label": ["positive", "positive", "negative", "negative"],
            }
        ),
        "test": pd.DataFrame(
            {
                "doc_id": ["l5", "l6"],
                "text": ["Works as described.", "Arrived damaged."],
                "label": ["positive", "negative"],
            }
        ),
    }


def token_file(tokens, token_count: int | None = None, vocab_size: int = VOCAB_SIZE):
    tokens = np.asanyarray(tokens).astype(np.uint16, copy=False)  # keeps a memmap a memmap
    metadata = {
        "token_count": len(tokens) if token_count is None else token_count,
        "vocab_size": vocab_size,
        "dtype": "uint16",
    }
    return SimpleNamespace(path=Path("x.bin"), tokens=tokens, metadata=metadata)


def token_files() -> dict[str, SimpleNamespace]:
    return {
        "train": token_file(np.arange(100) % VOCAB_SIZE),
        "validation": token_file(np.arange(40) % VOCAB_SIZE),
    }


def failures(suite_result: dict) -> dict[tuple[str, str | None], dict]:
    return {
        (expectation["expectation"], expectation["column"]): expectation
        for expectation in suite_result["expectations"]
        if not expectation["success"]
    }


def only_failure(suite_result: dict, expectation: str, column: str | None) -> dict:
    """The suite failed, and on exactly this expectation."""
    failed = failures(suite_result)
    assert not suite_result["success"]
    assert list(failed) == [(expectation, column)]
    return failed[(expectation, column)]


@pytest.fixture(scope="module")
def memmap_train_tokens(tmp_path_factory) -> np.memmap:
    path = tmp_path_factory.mktemp("tokens") / "train.bin"
    (np.arange(100) % VOCAB_SIZE).astype(np.uint16).tofile(path)
    return np.memmap(path, dtype=np.uint16, mode="r")


@pytest.fixture(scope="module")
def good_results(memmap_train_tokens) -> list[dict]:
    files = token_files()
    files["train"] = token_file(memmap_train_tokens)
    return [
        validate_corpus(corpus_splits(), MIN_CHARS, MAX_CHARS),
        validate_labelled(labelled_splits(), LABELS, MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train"),
        validate_tokens(files, MIN_TOKENS),
        validate_decontamination(corpus_splits(), EVAL_TEXTS, NGRAM_SIZE),
    ]


@pytest.fixture(scope="module")
def failing_report() -> dict:
    corpus = corpus_splits()
    corpus["train"].loc[0, "text"] = None
    files = token_files()
    files["validation"] = token_file([1, 2, VOCAB_SIZE] * 20)
    return build_report(
        [
            validate_corpus(corpus, MIN_CHARS, MAX_CHARS),
            validate_tokens(files, MIN_TOKENS),
        ]
    )


# --- good data ------------------------------------------------------------------------------


def test_good_data_passes_every_suite(good_results):
    report = build_report(good_results)

    assert report["success"], report["failed"]
    assert [suite["suite"] for suite in report["suites"]] == [
        "corpus",
        "labelled",
        "tokens",
        "contamination",
    ]
    evaluated = sum(len(suite["expectations"]) for suite in good_results)
    assert evaluated >= 15
    assert report["statistics"] == {"evaluated": evaluated, "successful": evaluated, "failed": 0}
    assert report["failed"] == []
    raise_for_failures(report)


def test_good_report_is_json_and_renders_passed(good_results):
    report = build_report(good_results)
    markdown = render_markdown(report)

    assert json.loads(json.dumps(report)) == report
    assert "PASSED" in markdown and "FAILED" not in markdown
    for suite in ("corpus", "labelled", "tokens", "contamination"):
        assert f"`{suite}`" in markdown


def test_every_expectation_says_what_it_expected(good_results):
    for suite in good_results:
        for expectation in suite["expectations"]:
            assert expectation["expectation"].startswith("expect_")
            assert expectation["description"]
            assert expectation["examples"] == []


# --- corpus ---------------------------------------------------------------------------------


def test_null_text_is_named_by_doc_id():
    splits = corpus_splits()
    splits["validation"].loc[0, "text"] = None

    failure = only_failure(validate_corpus(splits, MIN_CHARS, MAX_CHARS), "expect_column_values_to_not_be_null", "text")
    assert failure["examples"] == ["d4"]


def test_duplicate_doc_id_across_splits():
    splits = corpus_splits()
    splits["test"].loc[0, "doc_id"] = "d2"

    failure = only_failure(validate_corpus(splits, MIN_CHARS, MAX_CHARS), "expect_column_values_to_be_unique", "doc_id")
    assert failure["examples"] == ["d2"]


def test_text_outside_length_bounds():
    splits = corpus_splits()
    splits["train"].loc[1, "text"] = "x" * (MAX_CHARS + 1)

    failure = only_failure(
        validate_corpus(splits, MIN_CHARS, MAX_CHARS),
        "expect_column_value_lengths_to_be_between",
        "text",
    )
    assert failure["examples"] == ["d2"]


def test_empty_split_is_named():
    splits = corpus_splits()
    splits["test"] = splits["test"].iloc[0:0]

    failure = only_failure(validate_corpus(splits, MIN_CHARS, MAX_CHARS), "expect_column_values_to_be_between", "rows")
    assert failure["examples"] == ["test"]


def test_missing_column_is_reported_not_raised():
    splits = {name: frame.drop(columns="doc_id") for name, frame in corpus_splits().items()}
    splits["train"].loc[0, "text"] = "tiny"

    result = validate_corpus(splits, MIN_CHARS, MAX_CHARS)

    failed = failures(result)
    assert failed[("expect_table_columns_to_match_set", None)]["examples"] == ["doc_id"]
    doc_id_not_null = failed[("expect_column_values_to_not_be_null", "doc_id")]
    assert doc_id_not_null["observed"].startswith("error:")
    # With no doc_id to name the row, the offending value itself is the example.
    assert failed[("expect_column_value_lengths_to_be_between", "text")]["examples"] == ["tiny"]


# --- labelled -------------------------------------------------------------------------------


def test_label_outside_label_set():
    splits = labelled_splits()
    # Added, not relabelled: test keeps an example of each declared class.
    splits["test"].loc[2] = ["l7", "Neither here nor there.", "neutral"]

    failure = only_failure(
        validate_labelled(splits, LABELS, MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train"),
        "expect_column_values_to_be_in_set",
        "label",
    )
    assert failure["examples"] == ["neutral"]


def test_class_below_min_share_in_train():
    splits = labelled_splits()
    splits["train"]["label"] = ["positive", "positive", "positive", "negative"]

    failure = only_failure(
        validate_labelled(splits, LABELS, 0.3, MIN_CHARS, MAX_CHARS, train_split="train"),
        "expect_column_values_to_be_between",
        "share",
    )
    assert failure["examples"] == ["negative"]


def test_class_missing_from_train_is_named_once_by_its_count_in_each_split():
    """Missing from train, the class also has no share of it: only the per-split count reports it."""
    result = validate_labelled(labelled_splits(), [*LABELS, "mixed"], MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train")

    failure = only_failure(result, "expect_column_values_to_be_between", "examples")
    assert failure["examples"] == ["train: mixed (0)", "test: mixed (0)"]
    with pytest.raises(DataValidationError) as raised:
        raise_for_failures(build_report([result]))
    assert "makes up at least" not in str(raised.value)


def test_a_class_short_of_min_examples_in_train_is_not_reported_again_by_its_share():
    splits = labelled_splits()
    splits["train"]["label"] = ["positive", "positive", "positive", "negative"]  # negative: 25% of train, 1 example

    result = validate_labelled(splits, LABELS, 0.3, MIN_CHARS, MAX_CHARS, train_split="train", min_examples_per_class=2)

    failure = only_failure(result, "expect_column_values_to_be_between", "examples")
    assert failure["examples"] == ["train: negative (1)", "test: positive (1)", "test: negative (1)"]


def test_one_class_labelled_set_fails_naming_the_class():
    splits = {name: frame.assign(label="positive") for name, frame in labelled_splits().items()}

    failure = only_failure(
        validate_labelled(splits, ["positive"], MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train"),
        "expect_column_unique_value_count_to_be_between",
        "label",
    )
    assert failure["observed"] == 1
    with pytest.raises(DataValidationError, match=r"split 'train' holds at least two classes.*found 1: positive.*another class"):
        raise_for_failures(
            build_report([validate_labelled(splits, ["positive"], MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train")])
        )


def test_three_row_labelled_set_with_empty_val_and_test_names_the_split_and_the_fraction_parameters():
    # What split_labelled makes of 3 examples at the default fractions: all in train.
    train = pd.DataFrame(
        {
            "doc_id": ["l1", "l2", "l3"],
            "text": ["Loved every minute.", "Great value.", "Broke in a day."],
            "label": ["positive", "positive", "negative"],
        }
    )
    splits = {"labelled_train": train, "labelled_val": train.iloc[0:0], "labelled_test": train.iloc[0:0]}
    result = validate_labelled(splits, LABELS, MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="labelled_train")

    failed = failures(result)
    assert set(failed) == {("expect_column_values_to_be_between", "rows"), ("expect_column_values_to_be_between", "examples")}
    assert failed[("expect_column_values_to_be_between", "rows")]["examples"] == ["labelled_val", "labelled_test"]
    assert failed[("expect_column_values_to_be_between", "examples")]["examples"] == [
        "labelled_val: positive (0)",
        "labelled_val: negative (0)",
        "labelled_test: positive (0)",
        "labelled_test: negative (0)",
    ]
    with pytest.raises(DataValidationError) as raised:
        raise_for_failures(build_report([result]))
    message = str(raised.value)
    assert "labelled_val" in message and "labelled_test" in message
    assert "data_processing.splits.labelled_val_fraction / labelled_test_fraction" in message
    assert "add more labelled data" in message


def test_min_examples_per_class_two_refuses_a_split_with_one_example_of_a_class():
    splits = labelled_splits()  # test holds one example of each class
    assert validate_labelled(splits, LABELS, MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train", min_examples_per_class=1)[
        "success"
    ]

    result = validate_labelled(splits, LABELS, MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train", min_examples_per_class=2)

    failure = only_failure(result, "expect_column_values_to_be_between", "examples")
    assert failure["examples"] == ["test: positive (1)", "test: negative (1)"]
    with pytest.raises(
        DataValidationError, match=r"at least 2 example\(s\).*data_validation\.min_examples_per_class.*\"test: positive \(1\)\""
    ):
        raise_for_failures(build_report([result]))


def test_declared_class_missing_from_one_split_is_named_with_the_split():
    splits = labelled_splits()
    splits["test"].loc[1, "label"] = "positive"

    failure = only_failure(
        validate_labelled(splits, LABELS, MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train"),
        "expect_column_values_to_be_between",
        "examples",
    )
    assert failure["examples"] == ["test: negative (0)"]


def test_text_shared_between_train_and_test_is_in_the_error_message():
    splits = labelled_splits()
    shared = splits["train"].loc[2, "text"]
    splits["test"].loc[1, "text"] = shared
    result = validate_labelled(splits, LABELS, MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train")
    only_failure(result, "expect_column_values_to_be_between", "splits")
    report = build_report([result])

    with pytest.raises(DataValidationError, match=re.escape(shared)) as raised:
        raise_for_failures(report)
    assert raised.value.report is report


def test_long_shared_text_is_truncated_in_examples():
    long_text = "A very long review " * 10
    splits = labelled_splits()
    splits["train"].loc[0, "text"] = long_text
    splits["test"].loc[0, "text"] = long_text

    result = validate_labelled(splits, LABELS, MIN_CLASS_SHARE, MIN_CHARS, MAX_CHARS, train_split="train")

    (example,) = failures(result)[("expect_column_values_to_be_between", "splits")]["examples"]
    assert len(example) == 80
    assert long_text.startswith(example[:-1])


# --- tokens ---------------------------------------------------------------------------------


def test_token_id_at_vocab_size_is_out_of_range():
    files = token_files()
    files["validation"] = token_file([1, 2, VOCAB_SIZE] * 20)

    failure = only_failure(
        validate_tokens(files, MIN_TOKENS),
        "expect_column_pair_values_a_to_be_greater_than_b",
        "vocab_size, max_token_id",
    )
    assert failure["examples"] == ["validation"]


def test_too_few_tokens_for_one_batch():
    files = token_files()
    files["validation"] = token_file(np.arange(MIN_TOKENS - 1))

    failure = only_failure(validate_tokens(files, MIN_TOKENS), "expect_column_values_to_be_between", "token_count")
    assert failure["examples"] == ["validation"]
    assert "training batch" in failure["description"]


def test_tokens_shorter_than_metadata_token_count():
    files = token_files()
    files["train"] = token_file(np.arange(60), token_count=100)

    failure = only_failure(
        validate_tokens(files, MIN_TOKENS),
        "expect_column_pair_values_to_be_equal",
        "length, token_count",
    )
    assert failure["examples"] == ["train"]


def test_files_with_different_vocab_sizes():
    files = token_files()
    files["extra"] = token_file(np.arange(50), vocab_size=VOCAB_SIZE * 2)

    failure = only_failure(validate_tokens(files, MIN_TOKENS), "expect_column_values_to_be_in_set", "vocab_size")
    assert failure["examples"] == ["extra"]


# --- decontamination ------------------------------------------------------------------------


def test_contaminated_document_is_named_by_doc_id():
    splits = corpus_splits()
    splits["train"].loc[2, "text"] = "Analysts said the quarterly report shows strong growth again."

    failure = only_failure(
        validate_decontamination(splits, EVAL_TEXTS, NGRAM_SIZE),
        "expect_column_values_to_be_in_set",
        "contaminated",
    )
    assert failure["examples"] == ["d3"]


# --- report ---------------------------------------------------------------------------------


def test_failing_report_lists_failures_and_counts(failing_report):
    assert not failing_report["success"]
    assert failing_report["statistics"]["failed"] == 2
    assert failing_report["statistics"]["successful"] + 2 == failing_report["statistics"]["evaluated"]
    assert [(failure["suite"], failure["column"]) for failure in failing_report["failed"]] == [
        ("corpus", "text"),
        ("tokens", "vocab_size, max_token_id"),
    ]
    assert json.loads(json.dumps(failing_report)) == failing_report


def test_markdown_marks_failed_and_passed_suites(failing_report, good_results):
    markdown = render_markdown(build_report([*failing_report["suites"], good_results[1]]))

    assert "**Overall: FAILED**" in markdown
    assert "## Suite `corpus`: FAILED" in markdown
    assert "## Suite `tokens`: FAILED" in markdown
    assert "## Suite `labelled`: PASSED" in markdown
    assert '"d1"' in markdown


def test_error_message_names_suite_expectation_column_and_hint(failing_report):
    with pytest.raises(DataValidationError) as raised:
        raise_for_failures(failing_report)

    message = str(raised.value)
    assert message.startswith("Data validation failed: 2 expectation(s)")
    assert "corpus: expect_column_values_to_not_be_null on column text" in message
    assert '"d1"' in message
    assert "tokens: expect_column_pair_values_a_to_be_greater_than_b" in message
    assert '"validation"' in message
    assert message.rstrip().endswith("fix the data or the parameters under data_validation.")


def removals(labelled_steps: list[dict], counts_in: dict, counts_out: dict) -> dict:
    corpus = {
        "rows_in": 10,
        "rows_out": 9,
        "steps": [{"step": "too_short", "parameter": "data_processing.cleaning.min_chars", "rows_in": 10, "removed": 1}],
    }
    labelled = {
        "settings": "data_processing.labelled",
        "steps": labelled_steps,
        "class_counts_in": counts_in,
        "class_counts_out": counts_out,
    }
    return {"corpus": corpus, "labelled": labelled}


def short_step(
    removed_by_class: dict, rows_in: int = 100, step: str = "too_short", parameter: str = "data_processing.labelled.filters.min_chars"
) -> dict:
    return {
        "step": step,
        "parameter": parameter,
        "rows_in": rows_in,
        "removed": sum(removed_by_class.values()),
        "removed_by_class": removed_by_class,
    }


def test_removals_within_limits_pass():
    result = validate_removals(removals([short_step({"a": 5, "b": 5})], {"a": 50, "b": 50}, {"a": 45, "b": 45}), 0.4, 0.05)
    assert result["success"]


def test_a_step_removing_half_its_input_fails_naming_its_parameter():
    result = validate_removals(removals([short_step({"a": 25, "b": 25})], {"a": 50, "b": 50}, {"a": 25, "b": 25}), 0.4, 0.05)
    failed = [e for e in result["expectations"] if not e["success"]]
    assert len(failed) == 1 and "data_validation.max_removed_share" in failed[0]["description"]
    assert failed[0]["examples"] == ["labelled too_short 50.0%: data_processing.labelled.filters.min_chars"]


def test_a_class_share_shift_fails_naming_the_class():
    # 33 of 50 "a" go, 0 of 50 "b": 30% removed (allowed), but "a" falls from 50% to 25%
    result = validate_removals(removals([short_step({"a": 33, "b": 0})], {"a": 50, "b": 50}, {"a": 17, "b": 50}), 0.4, 0.05)
    failed = [e for e in result["expectations"] if not e["success"]]
    assert len(failed) == 1 and "data_validation.max_class_share_shift" in failed[0]["description"]
    assert "loosen data_processing.labelled.filters or data_processing.labelled.min_words" in failed[0]["description"]
    assert sorted(failed[0]["examples"]) == ["a: 50.0% -> 25.4%", "b: 50.0% -> 74.6%"]


def test_the_class_cap_rebalances_on_purpose_and_is_held_to_neither_limit():
    # 50% of the rows go and "a" falls from 83% to 67%: what a cap of 40 per class is for
    cap = short_step({"a": 60, "b": 0}, rows_in=120, step="class_cap", parameter="data_processing.labelled.max_per_class")
    result = validate_removals(removals([cap], {"a": 100, "b": 20}, {"a": 40, "b": 20}), 0.4, 0.05)
    assert result["success"]


def test_outputs_that_differ_from_the_recorded_ones_are_named():
    result = validate_outputs({"tokenizer": "aaa", "train_tokens": "bbb"}, {"tokenizer": "ccc", "train_tokens": "bbb"})
    assert not result["success"]
    assert result["expectations"][0]["examples"] == ["tokenizer"]


# --- pairs (task: generation) ---------------------------------------------------------------


def pair_splits() -> dict[str, pd.DataFrame]:
    def pairs(rows):
        return pd.DataFrame([{"id": i, "module": "m", "text": text, "target": target} for i, text, target in rows])

    return {
        "labelled_train": pairs(
            [
                ("json:dumps", "def dumps(obj):\n    return _encode(obj)", "Serialize obj to a JSON formatted str."),
                ("json:loads", "def loads(s):\n    return _decode(s)", "Deserialize s to a Python object."),
            ]
        ),
        "labelled_val": pairs([("csv:reader", "def reader(f):\n    return Reader(f)", "Return a reader over the lines of f.")]),
        "labelled_test": pairs([("csv:writer", "def writer(f):\n    return Writer(f)", "Return a writer into the file f.")]),
    }


def test_good_pairs_pass_and_every_expectation_says_what_it_expected():
    result = validate_pairs(pair_splits())
    assert result["suite"] == "pairs" and result["success"], failures(result)
    assert all(expectation["description"] for expectation in result["expectations"])
    assert {expectation["column"] for expectation in result["expectations"]} >= {"id", "text", "target", "rows", "splits"}


def test_a_source_shared_across_splits_fails_naming_the_function_and_the_report_says_so():
    splits = pair_splits()
    shared = splits["labelled_val"].iloc[0]
    splits["labelled_test"] = pd.concat(
        [splits["labelled_test"], pd.DataFrame([{**shared, "id": "csv:reader_copy", "target": "Its own summary, not shared."}])],
        ignore_index=True,
    )
    failure = only_failure(validate_pairs(splits), "expect_column_values_to_be_between", "splits")
    assert failure["examples"] == ["csv:reader (labelled_val), csv:reader_copy (labelled_test): same source"]
    with pytest.raises(DataValidationError, match=r"pairs: .*no normalised source or target is in two splits.*csv:reader \(labelled_val\)"):
        raise_for_failures(build_report([validate_pairs(splits)]))


def test_the_same_pair_in_two_splits_fails_on_its_id_source_and_target():
    splits = pair_splits()
    splits["labelled_train"] = pd.concat([splits["labelled_train"], splits["labelled_test"]], ignore_index=True)
    failed = failures(validate_pairs(splits))
    assert failed[("expect_column_values_to_be_unique", "id")]["examples"] == ["csv:writer"]
    assert failed[("expect_column_values_to_be_between", "splits")]["examples"] == [
        "csv:writer (labelled_train, labelled_test): same source",
        "csv:writer (labelled_train, labelled_test): same summary",
    ]


def test_empty_non_string_and_null_targets_and_an_empty_split_are_named():
    splits = pair_splits()
    splits["labelled_train"].loc[0, "target"] = ""
    splits["labelled_train"]["target"] = splits["labelled_train"]["target"].astype(object)
    splits["labelled_train"].loc[1, "target"] = 42
    splits["labelled_val"].loc[0, "target"] = None
    splits["labelled_test"] = splits["labelled_test"].iloc[0:0]
    failed = failures(validate_pairs(splits))
    assert failed[("expect_column_value_lengths_to_be_between", "target")]["examples"] == ["json:dumps"]
    assert failed[("expect_column_values_to_be_of_type", "target")]["examples"] == ["json:loads"]
    assert failed[("expect_column_values_to_not_be_null", "target")]["examples"] == ["csv:reader"]
    assert failed[("expect_column_values_to_be_between", "rows")]["examples"] == ["labelled_test"]
    assert "data_processing.pairs.max_examples" in failed[("expect_column_values_to_be_between", "rows")]["description"]


def test_a_missing_target_column_is_reported_not_raised():
    splits = {name: split.drop(columns="target") for name, split in pair_splits().items()}
    failed = failures(validate_pairs(splits))
    assert failed[("expect_table_columns_to_match_set", None)]["examples"] == ["target"]


def test_a_corpus_leaking_held_out_pairs_fails_naming_each_document_and_why():
    held_out = pd.concat([pair_splits()["labelled_val"], pair_splits()["labelled_test"]], ignore_index=True)
    corpus = corpus_splits()
    corpus["train"].loc[0, ["doc_id", "text"]] = ["csv:reader", "Return a reader over the lines of f."]  # its own docstring
    corpus["train"].loc[1, "text"] = "The docs say: return a WRITER into the file f. Nothing else."  # a 7-word held-out target
    corpus["test"].loc[0, "text"] = "Glaciers return a writer slowly."  # shorter than any held-out target or n-gram
    failure = only_failure(
        validate_pair_decontamination(corpus, held_out, ngram_size=13, min_target_words=6),
        "expect_column_values_to_be_in_set",
        "contaminated",
    )
    assert failure["examples"] == ["csv:reader (by_id)", "d2 (by_target_sentence)"]
    assert "at least 6 words" in failure["description"] and "13-gram" in failure["description"]
    assert validate_pair_decontamination(corpus_splits(), held_out, ngram_size=13, min_target_words=6)["success"]


def test_pairs_have_no_classes_so_removals_skip_the_class_shares():
    ledger = {
        "settings": "data_processing.pairs",
        "rows_in": 100,
        "rows_out": 50,
        "steps": [{"step": "exact_duplicates", "parameter": None, "rows_in": 100, "removed": 50}],
    }
    result = validate_removals({"corpus": removals([], {}, {})["corpus"], "labelled": ledger}, 0.4, 0.05)
    assert [expectation["column"] for expectation in result["expectations"]] == ["removed_share"]
    assert only_failure(result, "expect_column_values_to_be_between", "removed_share")["examples"] == [
        "labelled exact_duplicates 50.0%: fix the data"
    ]
