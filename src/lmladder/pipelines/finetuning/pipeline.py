from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.finetuning import nodes
from lmladder.pipelines.session_task import session_task


def create_pipeline(parameters: str = "params:finetuning", seed: str = "params:seed", task: str | None = None, **kwargs) -> Pipeline:
    """``parameters`` and ``seed``: the inputs holding the fine-tuning parameters and the seed (model
    selection passes each rung's). ``task``: classification or generation; default the session's ``task``."""
    inputs = ["pretrained_model", "labelled_train", "labelled_val", "validated_data", parameters, seed]
    if session_task(task) == "generation":
        return Pipeline(
            [
                Node(nodes.finetune_generator_node, inputs, ["generator", "generator_history"], name="finetune_generator"),
                Node(
                    nodes.finetune_generator_baseline,
                    inputs,
                    ["baseline_generator", "baseline_generator_history"],
                    name="finetune_generator_baseline",
                ),
            ]
        )
    return Pipeline(
        [
            Node(nodes.finetune_classifier, inputs, ["classifier", "finetuning_history"], name="finetune_classifier"),
            Node(nodes.finetune_baseline, inputs, ["baseline_classifier", "baseline_history"], name="finetune_baseline"),
        ]
    )
