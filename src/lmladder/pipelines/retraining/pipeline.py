"""The retraining pipeline, in one namespace so that Airflow runs it as one task (one MLflow run).

Data processing and validation write the project's usual datasets (the current data); everything
trained is ``retraining.*`` (a challenger never overwrites ``data/<env>/06_models/classifier``).

``kedro retrain`` decides first (``plan.py``) and runs either the training nodes or
``record_no_training``; both read the decision from ``params:retraining.plan``. Building the
pipeline reads no configuration: ``retraining`` fine-tunes the project's pretrained model, and
``retraining_pretrain`` (``retraining.train: pretrain``) pretrains a new backbone first.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline, pipeline

from lmladder.pipelines import data_processing, data_validation, finetuning, pretraining
from lmladder.pipelines.retraining import nodes

NAMESPACE = "retraining"
NO_TRAINING_NODE = f"{NAMESPACE}.record_no_training"
LAST_OUTPUT = f"{NAMESPACE}.registration"  # `to_outputs` of a training run: every node but record_no_training


def create_pipeline(mode: str = "finetune", **kwargs) -> Pipeline:
    """``mode``: ``finetune`` the project's pretrained model, or ``pretrain`` a new backbone first."""
    data = pipeline(
        data_processing.create_pipeline() + data_validation.create_pipeline(), namespace=NAMESPACE, prefix_datasets_with_namespace=False
    )
    backbone = pretraining.create_pipeline() if mode == "pretrain" else Pipeline([])
    P, E, PLAN = "params:retraining", "params:evaluation", "params:retraining.plan"
    train = (
        backbone
        + finetuning.create_pipeline(task="classification").only_nodes("finetune_classifier")  # it promotes classifiers
        + Pipeline(
            [
                Node(nodes.record_no_training, PLAN, "no_training", name="record_no_training"),
                Node(nodes.record_plan, PLAN, "plan", name="record_plan"),
                Node(
                    nodes.compare_with_champion, ["classifier", "labelled_test", "plan", P, E], "comparison", name="compare_with_champion"
                ),
                Node(nodes.decide_promotion, ["comparison", P], "decision", name="decide_promotion"),
                Node(
                    nodes.register_and_promote,
                    ["classifier", "labelled_test", "validated_data", "plan", "comparison", "decision", P, E],
                    "registration",
                    name="register_and_promote",
                ),
            ]
        )
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
