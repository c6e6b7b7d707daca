"""Shared data steps, then one namespaced pipeline per rung, then the selection.

A learning-rate sweep rung (``lr_sweep_<i>``) is pretrained and scored as a language model only; the
sweep's best multiplier (``calibrate_learning_rate``) then sets the learning rate of every other rung,
which is pretrained, fine-tuned with the project's recipe and evaluated.

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
from lmladder.pipelines.session_task import session_task
from lmladder.selection.ladder import LR_SWEEP_PREFIX, SHARED_NAMESPACE

SHARED_INPUTS = {
    "ladder_parameters",
    "learning_rate_calibration",
    "train_tokens",
    "val_tokens",
    "tokenizer",
    "validated_data",
    "labelled_train",
    "labelled_val",
    "labelled_test",
}
# Per task: the fine-tuning node, the evaluation nodes and the scores a fine-tuned rung adds to its summary,
# and the shared baseline the selection compares with.
TASK_NODES = {
    "classification": ("finetune_classifier", ("evaluate_language_model", "evaluate_classifier", "measure_cost"), "classifier_scores"),
    "generation": ("finetune_generator", ("evaluate_language_model", "evaluate_generator", "measure_cost"), "generator_scores"),
}
BASELINE = {
    "classification": ("evaluate_tfidf_baseline", "tfidf_scores"),
    "generation": ("evaluate_retrieval_baseline", "retrieval_scores"),
}
SUMMARY_INPUTS = [
    "pretrained_model",
    "language_model_scores",
    "pretraining_history",
    "pretraining_params",
    "rung_seed",
    "ladder_parameters",
]


def _bound(function, rung: str):
    """``function`` with the rung name bound, keeping its name and docstring for Kedro-Viz and logs."""
    return update_wrapper(partial(function, rung=rung), function)


def is_sweep_rung(rung: str) -> bool:
    return rung.startswith(LR_SWEEP_PREFIX)


def rung_pipeline(rung: str, task: str = "classification") -> Pipeline:
    """Pretraining (and, except for a sweep rung, fine-tuning) and evaluation of one rung, every output
    under the ``<rung>.`` namespace."""
    sweep = is_sweep_rung(rung)
    finetune_node, evaluation_nodes, scores = TASK_NODES[task]
    parameter_inputs = ["ladder_parameters", "tokenizer", "params:seed"] + ([] if sweep else ["learning_rate_calibration"])
    nodes_ = [
        Node(
            _bound(nodes.rung_parameters_node, rung),
            parameter_inputs,
            ["pretraining_params", "finetuning_params", "rung_seed", "rung_parameters"],
            name="rung_parameters",
        ),
        *pretraining.create_pipeline(parameters="pretraining_params", seed="rung_seed").nodes,
    ]
    if sweep:
        nodes_ += evaluation.create_pipeline(task=task).only_nodes("evaluate_language_model").nodes
        summary_inputs = SUMMARY_INPUTS
    else:
        nodes_ += finetuning.create_pipeline(parameters="finetuning_params", seed="rung_seed", task=task).only_nodes(finetune_node).nodes
        nodes_ += evaluation.create_pipeline(task=task).only_nodes(*evaluation_nodes).nodes
        summary_inputs = [*SUMMARY_INPUTS, scores, "cost"]
    nodes_.append(Node(_bound(nodes.summarise_rung_node, rung), summary_inputs, ["rung_summary", "rung_metrics"], name="summarise_rung"))
    template = Pipeline(nodes_)
    free = template.inputs()
    return pipeline(template, namespace=rung, inputs=SHARED_INPUTS & free, parameters={"params:seed", "params:evaluation"} & free)


def create_pipeline(rungs: list[str] | None = None, task: str | None = None, **kwargs) -> Pipeline:
    """``rungs`` and ``task``: default the session's (see ``ladder_rungs`` and ``session_task``)."""
    rungs = session_rungs() if rungs is None else rungs
    task = session_task(task)
    baseline_node, baseline_scores = BASELINE[task]
    sweep = [rung for rung in rungs if is_sweep_rung(rung)]
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
                Node(
                    nodes.flops_per_token_table, ["tokenizer", "params:pretraining"], "flops_per_token_table", name="flops_per_token_table"
                ),
                *evaluation.create_pipeline(task=task).only_nodes(baseline_node).nodes,
            ]
        )
    )
    # One namespace, datasets not renamed: `kedro airflow create --group-by namespace` makes the
    # shared steps one task, so the in-memory datasets between them never cross a task boundary.
    shared = pipeline(shared, namespace=SHARED_NAMESPACE, prefix_datasets_with_namespace=False)
    calibrate = Node(
        nodes.calibrate_learning_rate_node,
        ["ladder_parameters", "params:model_selection", *[f"{rung}.rung_summary" for rung in sweep]],
        "learning_rate_calibration",
        name="calibrate_learning_rate",
    )
    select = Node(
        nodes.select_model,
        [
            baseline_scores,
            "params:task",
            "params:model_selection",
            "learning_rate_calibration",
            "flops_per_token_table",
            *[f"{rung}.rung_summary" for rung in rungs],
        ],
        [
            "model_selection_report",
            "model_selection_summary",
            "isoflop_curves_plot",
            "optimal_scaling_plot",
            "held_out_check_plot",
            "architecture_comparison_plot",
            "loss_vs_params_plot",
            "quality_vs_latency_plot",
            "ladder_loss_curves_plot",
            "model_selection_metrics",
        ],
        name="select_model",
    )
    return sum((rung_pipeline(rung, task) for rung in rungs), shared) + Pipeline([calibrate, select])
