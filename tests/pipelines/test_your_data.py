"""A user's own data through the real `kedro run`, from the committed fixtures in tests/fixtures: English
news rows (a headerless CSV whose text is two columns) and Chinese hotel reviews with a novel-like
corpus written one paragraph per line, each in an environment of its own."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import make_pipeline

from lmladder.selection.ladder import deep_merge
from tests.conftest import PROJECT_ROOT, kedro_run, outputs

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"

NEWS = {  # the labelled set only: the corpus stays the embedded one
    "catalog": {
        "raw_labelled": {
            "type": "lmladder.datasets.TextSourceDataset",
            "source": "table",
            "path": "data/01_raw/news_headerless.csv",
            "load_args": {"header": None, "names": ["label", "title", "description"]},
        },
    },
    "parameters": {
        "data_processing": {"labelled": {"label_from": "column", "text_columns": ["title", "description"], "label_column": "label"}},
    },
}

ZH_HTL = {
    "catalog": {
        "raw_corpus": {
            "type": "lmladder.datasets.TextSourceDataset",
            "source": "text_files",
            "path": "data/01_raw/zh_novel.txt",
            "document_unit": "line",
        },
        "raw_labelled": {"type": "lmladder.datasets.TextSourceDataset", "source": "table", "path": "data/01_raw/zh_reviews.csv"},
    },
    "parameters": {"data_processing": {"labelled": {"label_from": "column", "text_column": "review", "label_column": "label"}}},
}


def add_environment(project, name: str, spec: dict) -> str:
    """conf/<name>: the spec's catalog, and its parameters over conf/test's tiny training sizes."""
    env = project / "conf" / name
    env.mkdir()
    tiny = yaml.safe_load((PROJECT_ROOT / "conf" / "test" / "parameters.yml").read_text())
    (env / "parameters.yml").write_text(yaml.safe_dump(deep_merge(tiny, spec["parameters"]), allow_unicode=True))
    (env / "catalog.yml").write_text(yaml.safe_dump(spec["catalog"]))
    for fixture in FIXTURES.iterdir():
        if fixture.suffix in (".csv", ".txt"):
            shutil.copy(fixture, project / "data" / "01_raw" / fixture.name)
    return name


def output_text(result) -> str:
    return " ".join((result.stdout + result.stderr).split())


def test_two_environments_keep_their_own_outputs_and_registered_models(project_copy):
    news = add_environment(project_copy, "news", NEWS)
    zh = add_environment(project_copy, "zh_htl", ZH_HTL)
    for env in (news, zh):
        result = kedro_run(project_copy, env=env)
        assert result.returncode == 0, output_text(result)[-3000:]
        log = output_text(result)
        assert "labelled: " in log and " in, " in log  # the removal accounting is in the log

    client = MlflowClient(tracking_uri=f"sqlite:///{project_copy}/mlflow.db")
    for env, labels in ((news, ["1", "2", "3", "4"]), (zh, ["0", "1"])):
        summary = json.loads((outputs(project_copy, env) / "08_reporting" / "corpus_summary.json").read_text())
        assert sorted(summary["labelled"]["class_counts"]) == labels
        version = client.get_model_version_by_alias(f"lmladder-classifier-{env}", "candidate")
        assert json.loads(version.tags["label_set"]) == labels  # the zh run did not move the news model's alias
        card = (outputs(project_copy, env) / "08_reporting" / "model_card.md").read_text()
        assert "docstring" not in card.lower()
        assert (outputs(project_copy, env) / "06_models" / "classifier" / "model.safetensors").exists()

    # Nothing silently dropped: every news row (400, no cap by default) is in a split.
    news_summary = json.loads((outputs(project_copy, news) / "08_reporting" / "corpus_summary.json").read_text())
    assert news_summary["removals"]["labelled"]["rows_in"] == 400
    assert sum(news_summary["labelled"]["class_counts"].values()) == 400 - sum(
        step["removed"] for step in news_summary["removals"]["labelled"]["steps"]
    )
    assert news_summary["removals"]["labelled"]["class_counts_in"] == {"1": 100, "2": 100, "3": 100, "4": 100}

    # The Chinese TF-IDF baseline is as good as character n-grams fitted here on the same splits.
    splits = {
        name: pd.read_parquet(outputs(project_copy, zh) / "05_model_input" / f"labelled_{name}.parquet") for name in ("train", "test")
    }
    char_ngrams = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True), LogisticRegression(max_iter=1000))
    char_ngrams.fit(splits["train"]["text"], splits["train"]["label"])
    reference = f1_score(splits["test"]["label"], char_ngrams.predict(splits["test"]["text"]), average="macro")
    evaluation = json.loads((outputs(project_copy, zh) / "08_reporting" / "evaluation_summary.json").read_text())
    assert evaluation["tfidf"]["macro_f1"] >= reference - 0.03, (evaluation["tfidf"], reference)
    # Chinese punctuation is kept as written (NFKC would make ，。 into ,.)
    assert "，" in splits["train"]["text"].iloc[0] or "。" in splits["train"]["text"].iloc[0]


@pytest.fixture
def zh_project(project_copy):
    return project_copy, add_environment(project_copy, "zh_htl", ZH_HTL)


@pytest.mark.parametrize(
    ("min_chars", "failure"),
    [
        # 48% of the reviews (67% of the positive ones) are shorter than 30 characters
        (30, "labelled too_short 48.0%: data_processing.labelled.filters.min_chars"),
        # 33% go: below the removal limit, but the positive share moves from 33.3% to 23.3%
        (20, "max_class_share_shift"),
    ],
)
def test_a_filter_that_drops_half_the_reviews_or_shifts_a_class_fails_validation_naming_the_parameter(zh_project, min_chars, failure):
    project, env = zh_project
    result = kedro_run(
        project,
        "--pipelines",
        "data_processing,data_validation",
        "--params",
        f"data_processing.labelled.filters.min_chars={min_chars}",
        env=env,
    )
    log = output_text(result)
    assert result.returncode != 0
    assert "DataValidationError" in log and failure in log, log[-3000:]
    assert "labelled: too_short (data_processing.labelled.filters.min_chars) removed" in log  # the log line per step
    assert "by class: 0 " in log


def test_a_failed_validation_replaces_the_gate_and_pretraining_refuses_to_train(zh_project):
    project, env = zh_project
    assert kedro_run(project, "--pipelines", "data_processing,data_validation", env=env).returncode == 0
    gate = outputs(project, env) / "08_reporting" / "validated_data.json"
    assert json.loads(gate.read_text())["passed"] is True

    failed = kedro_run(
        project, "--pipelines", "data_processing,data_validation", "--params", "data_processing.labelled.filters.min_chars=30", env=env
    )
    assert failed.returncode != 0
    assert json.loads(gate.read_text())["passed"] is False  # the old passing gate is gone

    refused = kedro_run(project, "--pipelines", "pretraining", env=env)
    log = output_text(refused)
    assert refused.returncode != 0
    assert "DataValidationError: pretraining refuses to run: the last data validation failed" in log, log[-3000:]
    assert not (outputs(project, env) / "06_models" / "pretrained_model").exists()


def test_a_tokenizer_newer_than_its_token_files_is_refused(zh_project):
    project, env = zh_project
    assert kedro_run(project, "--pipelines", "data_processing,data_validation", env=env).returncode == 0
    # As if processing was killed after writing a new tokenizer and before the token files:
    # the next processing run (another vocabulary) wrote only its tokenizer.
    rerun = kedro_run(
        project,
        "--pipelines",
        "data_processing",
        "--to-outputs",
        "tokenizer",
        "--params",
        "data_processing.tokenizer.vocab_size=600",
        env=env,
    )
    assert rerun.returncode == 0, output_text(rerun)[-3000:]

    refused = kedro_run(project, "--pipelines", "pretraining", env=env)
    log = output_text(refused)
    assert refused.returncode != 0
    assert "StaleDataError" in log and "train_tokens.bin (train_tokens) was made with tokenizer" in log, log[-3000:]

    revalidated = kedro_run(project, "--pipelines", "data_validation", env=env)  # and validation names the mix
    assert revalidated.returncode != 0
    assert "outputs: expect_column_pair_values_to_be_equal" in output_text(revalidated)


def test_one_paragraph_per_line_read_as_paragraphs_is_refused_naming_document_unit(project_copy):
    spec = deep_merge(ZH_HTL, {"catalog": {"raw_corpus": {"document_unit": "paragraph"}}})
    env = add_environment(project_copy, "zh_paragraphs", spec)
    result = kedro_run(project_copy, "--pipelines", "data_processing", env=env)
    log = output_text(result)
    assert result.returncode != 0
    assert "ConfigError" in log and "document_unit: line" in log, log[-3000:]
