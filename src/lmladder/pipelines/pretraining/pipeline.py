from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.pretraining import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.pretrain_model,
                ["train_tokens", "val_tokens", "tokenizer", "validated_data", "params:pretraining", "params:seed"],
                ["pretrained_model", "pretraining_loss_curve", "pretraining_metrics"],
                name="pretrain_model",
            ),
        ]
    )
