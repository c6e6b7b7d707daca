"""The task the session's pipelines are built for: the same pipelines, other nodes per task."""

from __future__ import annotations

import pytest

from lmladder.errors import ConfigError
from lmladder.pipelines import evaluation, finetuning
from lmladder.pipelines.model_selection.pipeline import create_pipeline as model_selection
from lmladder.pipelines.session_task import session_task, use_task


@pytest.fixture
def restore_task():
    yield
    use_task("classification")


def test_the_session_task_builds_the_generation_nodes_and_an_explicit_task_wins(restore_task):
    assert session_task() == "classification"
    assert {node.name for node in finetuning.create_pipeline().nodes} == {"finetune_classifier", "finetune_baseline"}
    use_task("generation")
    assert {node.name for node in finetuning.create_pipeline().nodes} == {"finetune_generator", "finetune_generator_baseline"}
    outputs = evaluation.create_pipeline().all_outputs()
    assert {"generator_scores", "retrieval_scores", "generation_samples", "model_card", "registration"} <= outputs
    assert "confusion_matrix_plot" not in outputs
    assert "confusion_matrix_plot" in evaluation.create_pipeline(task="classification").all_outputs()


def test_a_generation_ladder_fine_tunes_and_scores_generators_against_the_retrieval_baseline():
    names = {node.name for node in model_selection(["c1_d1"], task="generation").nodes}
    assert {"c1_d1.finetune_generator", "c1_d1.evaluate_generator", "shared_data.evaluate_retrieval_baseline"} <= names
    assert not any("classifier" in name or "tfidf" in name for name in names)


def test_an_unknown_task_is_refused_naming_the_choices():
    with pytest.raises(ConfigError, match=r"task must be one of \['classification', 'generation'\], got 'regression'"):
        use_task("regression")
    with pytest.raises(ConfigError, match=r"task must be one of .* got 'summarise'"):
        session_task("summarise")
