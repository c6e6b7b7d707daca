from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.finetuning import nodes

INPUTS = ["pretrained_model", "labelled_train", "labelled_val", "validated_data", "params:finetuning", "params:seed"]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(nodes.finetune_classifier, INPUTS, ["classifier", "finetuning_history"], name="finetune_classifier"),
            Node(nodes.finetune_baseline, INPUTS, ["baseline_classifier", "baseline_history"], name="finetune_baseline"),
        ]
    )
