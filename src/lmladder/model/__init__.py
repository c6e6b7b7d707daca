"""Pure torch: model config and size presets, the three architectures, parameter and FLOP counts, model directories."""

from lmladder.model.model import (
    PRESETS,
    EncoderDecoder,
    ModelConfig,
    Transformer,
    build_model,
    flops_per_token,
    model_config,
    parameter_counts,
)

__all__ = ["PRESETS", "EncoderDecoder", "ModelConfig", "Transformer", "build_model", "flops_per_token", "model_config", "parameter_counts"]
