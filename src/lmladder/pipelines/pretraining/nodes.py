"""Thin nodes: build objects from parameters with Hydra (through ``lmladder.training.config``), call ``lmladder.training``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytorch_lightning as pl
from tokenizers import Tokenizer

from lmladder.corpus.packing import TokenFile, check_tokenizer_matches
from lmladder.corpus.tokenizer import special_token_ids, tokenizer_sha256
from lmladder.model import build_model, parameter_counts
from lmladder.model.directory import ModelBundle
from lmladder.tracking.lightning import active_run_logger
from lmladder.training.config import build_model_config, build_optimizer_and_schedule, choose_precision
from lmladder.training.plots import loss_curve_figure
from lmladder.training.pretrain import pretrain
from lmladder.validation.gate import check_gate, token_file_fingerprint

OBJECTIVES = {"decoder": "causal_lm", "encoder": "masked_lm", "encoder-decoder": "span_corruption"}


def checkpoint_key(params: dict, data_fingerprint: str, seed: int) -> str:
    """Same parameters, data and seed → same key → the same checkpoint folder to resume from."""
    payload = json.dumps({"params": params, "data": data_fingerprint, "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def pretrain_model(
    train_tokens: TokenFile, val_tokens: TokenFile, tokenizer: Tokenizer, validated_data: dict, params: dict, seed: int
) -> tuple[ModelBundle, object, dict, dict]:
    """Train the configured model; returns the model directory, the loss-curve figure, final metrics and
    the loss history (train and validation loss per step)."""
    check_tokenizer_matches(tokenizer, {"train_tokens": train_tokens, "val_tokens": val_tokens})
    inputs = {
        "train_tokens": token_file_fingerprint(train_tokens.metadata),
        "val_tokens": token_file_fingerprint(val_tokens.metadata),
        "tokenizer": tokenizer_sha256(tokenizer),
    }
    check_gate(validated_data, inputs, "pretraining")
    pl.seed_everything(seed, workers=True)
    config = build_model_config(params["model"], vocab_size=tokenizer.get_vocab_size())
    optimizer, lr_schedule = build_optimizer_and_schedule(params, "pretraining")
    preset = params["model"]["preset"]
    model = build_model(config)
    trainer = dict(params["trainer"])
    requested_precision = trainer["precision"]
    trainer["precision"], precision_evidence = choose_precision(
        requested_precision, trainer["accelerator"], model, params["data"]["batch_size"], params["data"]["block_size"]
    )
    # The precision auto chose is part of the key: a resume never continues a run in another precision.
    keyed = {**params, "trainer": {**params["trainer"], "precision": trainer["precision"]}}
    checkpoint_dir = Path(params["checkpoint_dir"]) / checkpoint_key(keyed, validated_data["data_fingerprint"], seed)
    logger = active_run_logger()
    counts = parameter_counts(config)

    result = pretrain(
        model,
        train_tokens.tokens,
        val_tokens.tokens,
        optimizer=optimizer,
        lr_schedule=lr_schedule,
        data={**params["data"], "seed": seed},
        trainer=trainer,
        bytes_per_token=train_tokens.metadata["bytes_per_token"],
        special_ids=special_token_ids(tokenizer),
        checkpoint_dir=checkpoint_dir,
        logger=logger,
        peak_flops=params["peak_flops"],
        compile=params["compile"],
    )
    resolved = {
        "model.preset": preset,
        **{f"model.{key}": value for key, value in config.to_dict().items()},
        "model.parameters": counts["total"],
        "model.non_embedding_parameters": counts["non_embedding"],
        "model.flops_per_token": result.flops_per_token,
        "train.tokens_per_step": result.tokens_per_step,
        "train.max_steps": result.global_step,
        "train.precision": trainer["precision"],
        "train.precision_requested": requested_precision,
        **precision_evidence,
        "train.peak_flops": result.peak_flops,
        "train.compile": result.compiled,
    }
    if logger is not None:
        logger.log_hyperparams(resolved)
    metadata = {
        "training": {"objective": OBJECTIVES[config.architecture], **resolved},
        "data_fingerprint": validated_data["data_fingerprint"],
        "bytes_per_token": train_tokens.metadata["bytes_per_token"],
    }
    metrics = {
        "final_step": {"value": float(result.global_step), "step": result.global_step},
        "best_val_loss": {"value": float(result.best_val_loss or "nan"), "step": result.global_step},
        "tokens_per_s": {"value": float(result.tokens_per_second), "step": result.global_step},
    }
    figure = loss_curve_figure(result.history.train, result.history.val, f"pretraining loss ({preset})")
    history = {"train": result.history.train, "val": result.history.val, "tokens_per_step": result.tokens_per_step}
    return ModelBundle(result.model, tokenizer, metadata), figure, metrics, history
