"""Shared data steps, then one namespaced pretraining -> fine-tuning -> evaluation pipeline per rung.

The rung names are the pipeline's structure, and Kedro builds pipelines without parameters: the
session's ``LadderRunHooks`` hands over the rungs of the run's own parameters (``--env`` and
``--params`` apply) through ``ladder_rungs.use_rungs`` before the pipeline is built. Without a session the
ladder is empty (the shared steps and the selection only).
"""

from __future__ import annotations

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline, pipeline

from lmladder.pipelines import data_processing, data_validation, evaluation, finetuning, pretraining
from lmladder.pipelines.ladder_rungs import session_rungs
from lmladder.pipelines.model_selection import nodes
from lmladder.selection.ladder import SHARED_NAMESPACE

SHARED_INPUTS = {
    "ladder_parameters",
    "train_tokens",
    "val_tokens",
    "tokenizer",
    "validated_data",
    "labelled_train",
    "labelled_val",
    "labelled_test",
}
RUNG_EVALUATION = ("evaluate_language_model", "evaluate_classifier", "measure_cost")


def _bound(function, rung: str):
    """``function`` with the rung name bound, keeping its name and docstring for Kedro-Viz and logs."""
    return update_wrapper(partial(function, rung=rung), function)


def rung_pipeline(rung: str) -> Pipeline:
    """Pretraining, fine-tuning and evaluation of one rung, every output under the ``<rung>.`` namespace."""
    template = Pipeline(
        [
            Node(
                _bound(nodes.rung_parameters_node, rung),
                "ladder_parameters",
                ["pretraining_params", "finetuning_params"],
                name="rung_parameters",
            ),
            *pretraining.create_pipeline(parameters="pretraining_params").nodes,
            *finetuning.create_pipeline(parameters="finetuning_params").only_nodes("finetune_classifier").nodes,
            *evaluation.create_pipeline().only_nodes(*RUNG_EVALUATION).nodes,
            Node(
                _bound(nodes.summarise_rung_node, rung),
                ["pretrained_model", "language_model_scores", "classifier_scores", "cost", "pretraining_history"],
                ["rung_summary", "rung_metrics"],
                name="summarise_rung",
            ),
        ]
    )
    return pipeline(template, namespace=rung, inputs=SHARED_INPUTS, parameters={"params:seed", "params:evaluation"})


def create_pipeline(rungs: list[str] | None = None, **kwargs) -> Pipeline:
    rungs = session_rungs() if rungs is None else rungs
    shared = (
        data_processing.create_pipeline()
        + data_validation.create_pipeline()
        + Pipeline(
            [
                Node(
                    nodes.resolve_ladder,
                    ["params:pretraining", "params:finetuning", "params:model_selection"],
                    "ladder_parameters",
                    name="resolve_ladder",
                ),
                *evaluation.create_pipeline().only_nodes("evaluate_tfidf_baseline").nodes,
            ]
        )
    )
    # One namespace, datasets not renamed: `kedro airflow create --group-by namespace` makes the
    # shared steps one task, so the in-memory datasets between them never cross a task boundary.
    shared = pipeline(shared, namespace=SHARED_NAMESPACE, prefix_datasets_with_namespace=False)
    select = Node(
        nodes.select_model,
        ["tfidf_scores", "params:model_selection", *[f"{rung}.rung_summary" for rung in rungs]],
        [
            "model_selection_report",
            "model_selection_summary",
            "loss_vs_params_plot",
            "quality_vs_latency_plot",
            "ladder_loss_curves_plot",
            "model_selection_metrics",
        ],
        name="select_model",
    )
    return sum((rung_pipeline(rung) for rung in rungs), shared) + Pipeline([select])
