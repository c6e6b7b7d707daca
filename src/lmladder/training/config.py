"""Checks of the training parameters that need torch and Hydra, run when a pipeline that trains starts
(before its first node): whether Hydra can build the objects, and whether the model and a batch fit in
memory. Keys, types, ranges and the allowed Hydra targets are the schema's (``lmladder.parameters``),
checked earlier, when the session starts."""

from __future__ import annotations

import psutil
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from lmladder.errors import ConfigError
from lmladder.model import parameter_counts
from lmladder.parameters import MODEL_TARGETS, Tokenizer, check_hydra_keys, check_section

# The tokenizer is trained after these checks run; its configured size (data_processing.tokenizer.vocab_size)
# stands in for it, and conf/base's when a caller gives none.
DEFAULT_VOCAB_SIZE = Tokenizer().vocab_size
FP32_BYTES = 4


def build_model_config(model_params: dict, vocab_size: int):
    """``instantiate`` the model config; a bad value is reported with the key Hydra complained about.

    The pretraining node calls this too: the schema's target check is repeated here, so that only the
    project's factory is ever built, whatever path the parameters took."""
    check_hydra_keys(model_params, "pretraining.model", lambda path: MODEL_TARGETS if path == "pretraining.model" else None)
    try:
        return instantiate(model_params, vocab_size=vocab_size)
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, ConfigError):
            raise cause from None
        raise ConfigError(f"pretraining.model could not be built: {error}") from error


def resolve_precision(precision: str, accelerator: str) -> str:
    """``auto``: bf16 mixed precision on a GPU that supports it, full fp32 otherwise (CPU)."""
    if precision != "auto":
        return precision
    on_gpu = accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available()
    return "bf16-mixed" if on_gpu and torch.cuda.is_bf16_supported() else "32-true"


def training_memory_bytes(config, batch_size: int, sequence_length: int, *, logits: bool = True) -> int:
    """Peak memory of one training step of ``config`` (a ``ModelConfig``) on ``batch_size`` sequences of
    ``sequence_length`` tokens, in fp32, from the shapes alone (rounded up, never measured):

    - weights, gradients and AdamW's two moments: 4 copies of the parameters;
    - activations kept for the backward pass, per token and layer: about 10 x n_embd (norms, q/k/v,
      attention output, residuals) + 3 x the MLP width (its input, activation and output) + 2 x n_head x
      sequence_length (attention scores and their softmax, where the kernel keeps them);
    - with ``logits`` (a language model): 4 copies of batch x length x vocab (the logits, log-softmax and
      both gradients; at a large vocabulary they are most of it).

    tests/training/test_config.py checks it against the measured peak of a small model's training steps.
    """
    tokens = batch_size * sequence_length
    per_token_layer = 10 * config.n_embd + 3 * config.mlp_hidden + 2 * config.n_head * sequence_length
    floats = 4 * parameter_counts(config)["total"] + tokens * config.n_layer * per_token_layer
    if logits:
        floats += 4 * tokens * config.vocab_size
    return FP32_BYTES * floats


def available_memory_bytes() -> int:
    """Memory a new allocation can get without swapping (``psutil``'s ``available``: free memory plus
    the caches the kernel can drop). Not ``total``: what other processes already hold (and this one,
    torch included) cannot go to the batch, and a run past ``available`` swaps until the machine freezes."""
    return psutil.virtual_memory().available


def check_memory(needed: int, available: int, section: str, parameter: str, what: str) -> None:
    if needed > available:
        raise ConfigError(
            f"{section}: training needs about {needed / 1e9:,.1f} GB of memory ({what}) but {available / 1e9:,.1f} GB is available; "
            f"lower {section}.{parameter} (or the model size)"
        )


def validate_pretraining_params(
    params: dict, section: str = "pretraining", *, vocab_size: int = DEFAULT_VOCAB_SIZE, available_memory: int | None = None
) -> None:
    """Raise ``ConfigError`` naming the first bad key: the schema (``lmladder.parameters``: keys, types,
    ranges, Hydra targets), then whether Hydra can build the optimizer, schedule and model config from
    it, whether the training windows fit the model, and whether a training step fits in memory
    (``training_memory_bytes`` against ``available_memory``, by default ``available_memory_bytes()``).
    ``section`` names the parameters in messages (a rung's, say); ``vocab_size``: the tokenizer's."""
    check_section("pretraining", params, section)
    _build_partials(params, section)
    try:
        config = build_model_config(params["model"], vocab_size=vocab_size)
    except ConfigError as error:
        raise ConfigError(f"{section}.model: {error}") from error
    block_size, batch_size = params["data"]["block_size"], params["data"]["batch_size"]
    if block_size > config.max_positions:
        raise ConfigError(f"{section}.data.block_size={block_size} is above {section}.model.max_positions={config.max_positions}")
    check_memory(
        training_memory_bytes(config, batch_size, block_size),
        available_memory_bytes() if available_memory is None else available_memory,
        section,
        "data.batch_size",
        f"a batch of {batch_size} x {block_size} tokens, {config.vocab_size} logits each",
    )


def validate_finetuning_params(
    params: dict,
    section: str = "finetuning",
    *,
    model_params: dict | None = None,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    available_memory: int | None = None,
) -> None:
    """As ``validate_pretraining_params``, for the fine-tuning parameters: the schema, whether Hydra can
    build the optimizer and schedule, and, given the model's parameters (``model_params``: the
    ``pretraining.model`` it was trained with), whether a batch of ``finetuning.batch_size`` texts of the
    model's ``max_positions`` tokens fits in memory (the classifier has no vocabulary-sized logits)."""
    check_section("finetuning", params, section)
    _build_partials(params, section)
    if model_params is None:
        return
    config = build_model_config(model_params, vocab_size=vocab_size)
    batch_size = params["batch_size"]
    check_memory(
        training_memory_bytes(config, batch_size, config.max_positions, logits=False),
        available_memory_bytes() if available_memory is None else available_memory,
        section,
        "batch_size",
        f"a batch of {batch_size} texts of up to {config.max_positions} tokens",
    )


def _build_partials(params: dict, section: str) -> None:
    for name in ("optimizer", "lr_schedule"):
        try:
            instantiate(params[name])  # partials: resolves _target_ and binds the arguments
        except InstantiationException as error:
            raise ConfigError(f"{section}.{name} could not be built: {error}") from error
