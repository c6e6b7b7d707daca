"""The retraining pipeline, in one namespace so that Airflow runs it as one task (one MLflow run).

Data processing and validation write the project's usual datasets (the current data); everything
trained is ``retraining.*`` (a challenger never overwrites ``data/<env>/06_models/classifier``).
"""

from __future__ import annotations

from functools import partial, update_wrapper
from pathlib import Path

from kedro.pipeline import Node, Pipeline, pipeline

from lmladder.pipelines import data_processing, data_validation, finetuning, pretraining
from lmladder.pipelines.retraining import nodes
from lmladder.pipelines.retraining.plan import plan_retraining

NAMESPACE = "retraining"

_context: tuple | None = None  # (config loader, project path) of the running session, set by RetrainingHooks


def use_context(config_loader, project_path: Path) -> None:
    global _context
    _context = (config_loader, Path(project_path))


def _requested() -> bool:
    """Whether this session runs the retraining pipeline (only then is there a plan to make)."""
    from kedro.framework.project import pipelines

    requested = pipelines._requested_pipelines  # what `kedro run --pipelines` asked for; Kedro's own find_pipelines reads it too
    return requested is not None and NAMESPACE in requested


def _bound(function, **values):
    return update_wrapper(partial(function, **values), function)


def create_pipeline(plan: dict | None = None, mode: str | None = None, **kwargs) -> Pipeline:
    """``plan``/``mode`` for tests; in a session both come from the run's configuration. Without a
    plan (e.g. ``kedro airflow create``, ``kedro viz``) the whole retraining is built."""
    if plan is None and _context is not None and _requested():
        plan = plan_retraining(*_context)
    if mode is None:
        mode = _context[0]["parameters"]["retraining"]["train"] if _context is not None else "finetune"
    if plan is not None and plan["action"] != "train":
        return pipeline([Node(_bound(nodes.record_no_training, plan=plan), None, "decision", name="record_no_training")], namespace=NAMESPACE)
    return training_pipeline(plan or {"action": "train", "fingerprint": None, "champion_version": None, "message": "retraining"}, mode)


def training_pipeline(plan: dict, mode: str) -> Pipeline:
    data = pipeline(data_processing.create_pipeline() + data_validation.create_pipeline(), namespace=NAMESPACE, prefix_datasets_with_namespace=False)
    backbone = pretraining.create_pipeline() if mode == "pretrain" else Pipeline([])
    P, E = "params:retraining", "params:evaluation"
    train = backbone + finetuning.create_pipeline().only_nodes("finetune_classifier") + Pipeline(
        [
            Node(_bound(nodes.record_plan, plan=plan), None, "plan", name="record_plan"),
            Node(nodes.compare_with_champion, ["classifier", "labelled_test", "plan", P, E], "comparison", name="compare_with_champion"),
            Node(nodes.decide_promotion, ["comparison", P], "decision", name="decide_promotion"),
            Node(
                nodes.register_and_promote,
                ["classifier", "labelled_test", "validated_data", "plan", "comparison", "decision", P, E],
                "registration",
                name="register_and_promote",
            ),
        ]
    )
    # Free inputs keep their names: the processed data, the parameters and, when only fine-tuning,
    # the project's `pretrained_model`; everything trained here becomes `retraining.<name>`.
    free = train.inputs()
    return data + pipeline(
        train,
        namespace=NAMESPACE,
        inputs={name for name in free if not name.startswith("params:")},
        parameters={name for name in free if name.startswith("params:")},
    )
