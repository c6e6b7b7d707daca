"""Checks of the pretraining parameters, run when a session starts (before any data is processed)."""

from __future__ import annotations

import difflib

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from lmladder.errors import ConfigError

TRAINER_KEYS = {
    "max_steps", "max_tokens", "val_check_interval", "gradient_clip_val", "accumulate_grad_batches",
    "precision", "accelerator", "devices", "strategy", "num_nodes", "log_every_n_steps", "deterministic",
}
SECTIONS = {"model", "optimizer", "lr_schedule", "data", "trainer", "checkpoint_dir", "peak_flops"}
DATA_KEYS = {"block_size", "batch_size", "val_windows"}


def _check_keys(section: str, given: dict, known: set[str]) -> None:
    for key in given:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {sorted(known)}"
            raise ConfigError(f"unknown parameter {section}.{key}{hint}")


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
    """Raise ``ConfigError`` naming the first bad key; builds the model config to check its values."""
    _check_keys(section, params, SECTIONS)
    _check_keys(f"{section}.trainer", params["trainer"], TRAINER_KEYS)
    _check_keys(f"{section}.data", params["data"], DATA_KEYS)
    for name in ("optimizer", "lr_schedule"):
        try:
            instantiate(params[name])  # partials: resolves _target_ and binds the arguments
        except InstantiationException as error:
            raise ConfigError(f"{section}.{name} could not be built: {error}") from error
    try:
        config = build_model_config(params["model"], vocab_size=512)
    except ConfigError as error:
        raise ConfigError(f"{section}.model: {error}") from error
    data, trainer = params["data"], params["trainer"]
    for key in ("block_size", "batch_size"):
        if not isinstance(data[key], int) or data[key] <= 0:
            raise ConfigError(f"{section}.data.{key} must be a positive integer, got {data[key]!r}")
    if data["block_size"] > config.max_positions:
        raise ConfigError(
            f"{section}.data.block_size={data['block_size']} is above {section}.model.max_positions={config.max_positions}"
        )
    budget = trainer.get("max_tokens") if trainer.get("max_tokens") is not None else trainer.get("max_steps")
    name = "max_tokens" if trainer.get("max_tokens") is not None else "max_steps"
    if not isinstance(budget, int) or isinstance(budget, bool) or budget <= 0:
        raise ConfigError(f"{section}.trainer.{name} must be a positive integer, got {budget!r}")
