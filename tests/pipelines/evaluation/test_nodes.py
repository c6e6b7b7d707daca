"""Evaluation nodes that describe the data: generation prompts from the corpus, the model card's data section."""

from __future__ import annotations

import copy

import datasets
import pandas as pd
import pytest

from lmladder.errors import ConfigError
from lmladder.pipelines.evaluation.nodes import build_report, sample_generations
from tests.conftest import load_parameters
from tests.pipelines.model_inputs import model_inputs

CHINESE_CORPUS_VAL = pd.DataFrame(
    {
        "doc_id": ["a", "b", "c", "d", "e"],
        "text": [
            "话说天下大势，分久必合，合久必分。",
            "第二天早上，他很早就起来了。",
            "雨下了整整一夜。\n第二段。",
            "她笑着说：“你来了。”",
            "山上有一座小庙，庙里住着一个老和尚。",
        ],
    }
)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    return model_inputs(tmp_path_factory.mktemp("model"))["pretrained_model"]


@pytest.fixture
def params() -> dict:
    return copy.deepcopy(load_parameters("test")["evaluation"])


def prompts_of(markdown: str) -> list[str]:
    return [line[2:].split("**")[0] for line in markdown.splitlines() if line.startswith("**")]


def test_prompts_default_to_the_opening_characters_of_held_out_documents(pretrained, params):
    assert params["generation"]["prompts"] is None  # the default
    params["generation"].update(num_prompts=3, prompt_words=4)
    markdown = sample_generations(pretrained, CHINESE_CORPUS_VAL, params, seed=0)
    # documents 0, 2 and 4 of five (evenly spaced); four characters each, not whole clauses
    assert prompts_of(markdown) == ["话说天下", "雨下了整", "山上有一"]
    assert "held-out corpus documents" in markdown
    assert markdown == sample_generations(pretrained, CHINESE_CORPUS_VAL, params, seed=0)  # deterministic


def test_prompts_from_an_arrow_corpus_and_from_spaced_text(pretrained, params):
    corpus = datasets.Dataset.from_pandas(
        pd.DataFrame({"doc_id": ["x", "y"], "text": ["Open a socket and send the request.", "Read the file, then close it."]})
    )
    params["generation"].update(num_prompts=5, prompt_words=3)  # more than there are documents
    assert prompts_of(sample_generations(pretrained, corpus, params, seed=0)) == ["Open a socket", "Read the file,"]


def test_explicit_prompts_are_still_used(pretrained, params):
    params["generation"]["prompts"] = ["Return the", "The socket"]
    markdown = sample_generations(pretrained, CHINESE_CORPUS_VAL, params, seed=0)
    assert prompts_of(markdown) == ["Return the", "The socket"]
    assert "`evaluation.generation.prompts`" in markdown


@pytest.mark.parametrize("name", ["num_prompts", "prompt_words"])
@pytest.mark.parametrize("count", [0, -1, "3"])
def test_a_bad_prompt_count_is_named(pretrained, params, name, count):
    params["generation"][name] = count
    with pytest.raises(ConfigError, match=f"evaluation.generation.{name} must be a positive integer when prompts is null; got {count!r}"):
        sample_generations(pretrained, CHINESE_CORPUS_VAL, params, seed=0)


def chinese_model_card(pretrained, params: dict) -> str:
    labelled_train = pd.DataFrame(
        {
            "text": ["房间很干净，服务热情，Wi-Fi也很快。", "前台态度冷淡，房间有异味，再也不来了。"] * 20,
            "label": ["正面", "负面"] * 20,
        }
    )
    scores = {"accuracy": 0.9, "macro_f1": 0.89, "weighted_f1": 0.9, "ece": 0.04, "labels": ["正面", "负面"]}
    _, card, _, _ = build_report(
        language_model={"loss": 3.0, "perplexity": 20.1, "bits_per_byte": 1.5},
        classifier_scores=scores,
        baseline_scores={**scores, "macro_f1": 0.7},
        tfidf_scores={"accuracy": 0.85, "macro_f1": 0.84, "weighted_f1": 0.85},
        cost={"p50_ms": 2.0, "p95_ms": 3.0, "batch_size": 1, "parameters": 12_345},
        registration={"name": "lmladder-classifier", "version": 1, "alias": "candidate"},
        per_class_markdown="",
        corpus_summary={
            "fingerprint": "f" * 64,
            "corpus": {"docs_out": 1_000},
            "tokens": {"train_tokens": 90_000, "val_tokens": 10_000},
            "labelled": {"train_examples": 40, "val_examples": 10, "test_examples": 10},
        },
        labelled_train=labelled_train,
        classifier=pretrained,
        finetuning_history=[{"epoch": 0, "val_macro_f1": 0.8, "mode": "full"}],
        baseline_history=[{"epoch": 0, "val_macro_f1": 0.6, "mode": "scratch"}],
        params=params,
    )
    return card


def test_model_card_of_chinese_data_describes_that_data(pretrained, params):
    card = chinese_model_card(pretrained, params)
    assert "python" not in card.lower() and "docstring" not in card.lower()
    assert "| Scripts of the labelled texts | Han 88%, Latin 12% |" in card  # 28 Han letters, 4 Latin (WiFi)
    assert "1,000 corpus documents (100,000 tokens)" in card
    assert "60 labelled texts in 2 classes, written in Han 88%, Latin 12%" in card
    assert "| Source |" not in card  # data_source is null: the card claims no provenance


def test_model_card_states_a_source_the_user_gives(pretrained, params):
    params["data_source"] = "hotel reviews collected in 2024"
    assert "| Source | hotel reviews collected in 2024 |" in chinese_model_card(pretrained, params)
