"""The labelled set's own settings on the committed fixtures: user data keeps every row, and
the embedded docstring set's stricter filters would drop most short Chinese reviews, which the
removals suite then stops, naming the parameter."""

from __future__ import annotations

import pytest

from lmladder.corpus.labelled import clean_labelled_set
from lmladder.corpus.labelling import label_from_columns
from lmladder.corpus.sources import read_table
from lmladder.validation.suites import validate_removals
from tests.conftest import PROJECT_ROOT, load_parameters

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
NO_CORPUS = {"rows_in": 0, "rows_out": 0, "steps": []}


def reviews(name: str):
    return label_from_columns(read_table(str(FIXTURES / name)), "review", "label")


def news():
    return label_from_columns(read_table(str(FIXTURES / "news.csv")), "text", "Class Index", text_columns=["Title", "Description"])


def clean(examples, params: dict):
    return clean_labelled_set(examples, True, params, 42)


@pytest.fixture(scope="module")
def labelled_params() -> dict:
    return {**load_parameters("local")["data_processing"]["labelled"], "label_from": "column"}


@pytest.mark.parametrize("fixture", ["zh_reviews.csv", "zh_waimai.csv"])
def test_the_default_labelled_settings_keep_every_review(labelled_params, fixture):
    kept, ledger = clean(reviews(fixture), labelled_params)
    assert len(kept) == ledger["rows_in"] == 450
    assert ledger["class_counts_out"] == ledger["class_counts_in"] == {"0": 300, "1": 150}


def test_the_default_labelled_settings_keep_every_news_row(labelled_params):
    kept, ledger = clean(news(), labelled_params)
    assert ledger["class_counts_out"] == {"1": 100, "2": 100, "3": 100, "4": 100}
    assert kept["text"].str.contains("\n").all()  # title and description, joined


def test_the_docstring_filters_on_short_reviews_are_stopped_naming_the_parameter(labelled_params):
    strict = {**labelled_params, **{key: labelled_params["module_domains"][key] for key in ("filters", "min_words", "max_per_class")}}
    _, ledger = clean(reviews("zh_waimai.csv"), strict)
    assert ledger["class_counts_out"] == {"0": 24, "1": 6}  # 93% of the reviews gone
    result = validate_removals({"corpus": NO_CORPUS, "labelled": ledger}, 0.4, 0.05)
    failed = {example for expectation in result["expectations"] if not expectation["success"] for example in expectation["examples"]}
    assert any(
        example.startswith("labelled too_short") and example.endswith("data_processing.labelled.filters.min_chars") for example in failed
    )
