from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.finetuning import nodes


def create_pipeline(parameters: str = "params:finetuning", seed: str = "params:seed", **kwargs) -> Pipeline:
    """``parameters`` and ``seed``: the inputs holding the fine-tuning parameters and the seed (model
    selection passes each rung's)."""
    inputs = ["pretrained_model", "labelled_train", "labelled_val", "validated_data", parameters, seed]
    return Pipeline(
        [
            Node(nodes.finetune_classifier, inputs, ["classifier", "finetuning_history"], name="finetune_classifier"),
            Node(nodes.finetune_baseline, inputs, ["baseline_classifier", "baseline_history"], name="finetune_baseline"),
        ]
    )
