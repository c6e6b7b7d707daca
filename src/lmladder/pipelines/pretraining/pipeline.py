from kedro.pipeline import Node, Pipeline

from lmladder.pipelines.pretraining import nodes


def create_pipeline(parameters: str = "params:pretraining", seed: str = "params:seed", **kwargs) -> Pipeline:
    """``parameters`` and ``seed``: the inputs holding the pretraining parameters and the seed (model
    selection passes each rung's)."""
    return Pipeline(
        [
            Node(
                nodes.pretrain_model,
                ["train_tokens", "val_tokens", "tokenizer", "validated_data", parameters, seed],
                ["pretrained_model", "pretraining_loss_curve", "pretraining_metrics", "pretraining_history"],
                name="pretrain_model",
            ),
        ]
    )
