"""Checks of the training parameters that need torch and Hydra, run when a pipeline that trains starts
(before its first node). Keys, types and ranges are the schema's (``lmladder.parameters``), checked
earlier, when the session starts."""

from __future__ import annotations

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from lmladder.errors import ConfigError
from lmladder.parameters import check_section


def build_model_config(model_params: dict, vocab_size: int):
    """``instantiate`` the model config; a bad value is reported with the key Hydra complained about."""
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


def validate_pretraining_params(params: dict, section: str = "pretraining") -> None:
    """Raise ``ConfigError`` naming the first bad key: the schema (``lmladder.parameters``: keys, types,
    ranges), then whether Hydra can build the optimizer, schedule and model config from it, and whether
    the training windows fit the model. ``section`` names the parameters in messages (a rung's, say)."""
    check_section("pretraining", params, section)
    _build_partials(params, section)
    try:
        config = build_model_config(params["model"], vocab_size=512)
    except ConfigError as error:
        raise ConfigError(f"{section}.model: {error}") from error
    block_size = params["data"]["block_size"]
    if block_size > config.max_positions:
        raise ConfigError(f"{section}.data.block_size={block_size} is above {section}.model.max_positions={config.max_positions}")


def validate_finetuning_params(params: dict, section: str = "finetuning") -> None:
    """As ``validate_pretraining_params``, for the fine-tuning parameters: the schema, then whether
    Hydra can build the optimizer and schedule."""
    check_section("finetuning", params, section)
    _build_partials(params, section)


def _build_partials(params: dict, section: str) -> None:
    for name in ("optimizer", "lr_schedule"):
        try:
            instantiate(params[name])  # partials: resolves _target_ and binds the arguments
        except InstantiationException as error:
            raise ConfigError(f"{section}.{name} could not be built: {error}") from error
