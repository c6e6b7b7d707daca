"""Pure torch: model config and size presets, the Transformer, parameter and FLOP counts, model directories."""

from lmladder.model.model import (
    PRESETS,
    ModelConfig,
    Transformer,
    flops_per_token,
    model_config,
    parameter_counts,
)

__all__ = ["PRESETS", "ModelConfig", "Transformer", "flops_per_token", "model_config", "parameter_counts"]
