"""Pretraining with Lightning: resumable, checkpointed, tracked. No Kedro here."""

from __future__ import annotations

import logging
import math
import pickle
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import Logger

from lmladder.errors import ConfigError, CorruptFileError
from lmladder.model import Transformer, flops_per_token
from lmladder.training.callbacks import AtomicCheckpointIO, LossHistory, PlainProgressLog, ThroughputMonitor
from lmladder.training.config import device_peak_flops, trains_on_gpu
from lmladder.training.data import TokenDataModule
from lmladder.training.distributed import RankZeroResults, launch_strategy, world_size
from lmladder.training.module import LanguageModelModule, compile_reason
from lmladder.training.optim import unfused

log = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.ckpt"
# What resuming reads from a checkpoint: without one Lightning fails with a bare KeyError (or, for
# "loops", silently restarts its loops).
CHECKPOINT_KEYS = ("pytorch-lightning_version", "global_step", "state_dict", "optimizer_states", "lr_schedulers", "loops")


@dataclass
class PretrainResult:
    model: Transformer
    global_step: int
    tokens_per_step: int
    flops_per_token: int
    peak_flops: float
    tokens_per_second: float
    best_val_loss: float | None
    history: LossHistory
    resumed_from_step: int
    compiled: bool = False


def resolve_max_steps(max_steps: int | None, max_tokens: int | None, tokens_per_step: int) -> int:
    """Steps from ``max_steps`` or, when given, from a token budget (rounded up to whole steps)."""
    if max_tokens is not None:
        if max_tokens <= 0:
            raise ConfigError(f"pretraining.trainer.max_tokens must be positive, got {max_tokens!r}")
        return math.ceil(max_tokens / tokens_per_step)
    if not isinstance(max_steps, int) or max_steps <= 0:
        raise ConfigError(f"pretraining.trainer.max_steps must be a positive integer (or set max_tokens), got {max_steps!r}")
    return max_steps


def pretrain(
    model: Transformer,
    train_tokens: np.ndarray,
    val_tokens: np.ndarray,
    *,
    optimizer: Callable[[list[dict]], torch.optim.Optimizer],
    lr_schedule: Callable[..., torch.optim.lr_scheduler.LRScheduler],
    data: dict,
    trainer: dict,
    bytes_per_token: float,
    special_ids: dict[str, int],
    checkpoint_dir: str | Path,
    logger: Logger | None = None,
    peak_flops: float | None = None,
    extra_callbacks: list[pl.Callback] | None = None,
    compile: bool | str = False,
) -> PretrainResult:
    """Train ``model`` on windows of the token files; resume from ``checkpoint_dir/last.ckpt`` if present.

    ``optimizer`` is called with the parameter groups, ``lr_schedule`` with the optimizer and
    ``total_steps`` (both usually Hydra partials). ``data``: block_size, batch_size,
    val_windows, seed. ``trainer``: max_steps or max_tokens, val_check_interval, gradient_clip_val,
    accumulate_grad_batches, precision, accelerator, devices, strategy, num_nodes, log_every_n_steps.
    ``compile``: ``torch.compile`` the training step (true, false, or auto: on a GPU; see ``compile_reason``).
    """
    trainer = dict(trainer)
    block_size = data["block_size"]
    if block_size > model.config.max_positions:
        raise ConfigError(f"pretraining.data.block_size={block_size} is above the model's max_positions={model.config.max_positions}")
    accumulate = trainer.pop("accumulate_grad_batches", 1)
    processes = world_size(trainer)
    tokens_per_step = data["batch_size"] * block_size * accumulate * processes
    max_steps = resolve_max_steps(trainer.pop("max_steps", None), trainer.pop("max_tokens", None), tokens_per_step)
    log_every = trainer.pop("log_every_n_steps", 10)
    val_check_interval = min(trainer.pop("val_check_interval", max_steps), max_steps)

    datamodule = TokenDataModule(
        train_tokens,
        val_tokens,
        block_size,
        data["batch_size"],
        train_samples=max_steps * data["batch_size"] * accumulate * processes,
        val_windows=data.get("val_windows"),
        seed=data.get("seed", 0),
    )
    optimizer = unfused(optimizer, trainer.get("precision", "32-true"), trainer.get("gradient_clip_val"))
    compiled, reason = compile_reason(compile, trains_on_gpu(trainer.get("accelerator", "auto")))
    log.info("torch.compile %s: %s", "on" if compiled else "off", reason)
    module = LanguageModelModule(model, optimizer, lr_schedule, max_steps, bytes_per_token, special_ids, compile=compiled)
    model_flops = flops_per_token(model.config, block_size)
    if peak_flops is None:  # measured once per machine and cached, not on every run
        peak_flops = device_peak_flops(trainer.get("precision", "32-true"), trainer.get("accelerator", "auto"))
    if trains_on_gpu(trainer.get("accelerator", "auto")):
        # a device's peak, and the throughput counts every rank's tokens; CPU ranks share the cores one probe measured
        peak_flops *= processes
    checkpoint_dir = Path(checkpoint_dir)
    checkpoints = ModelCheckpoint(
        dirpath=checkpoint_dir,
        filename="best",
        monitor="val_loss",
        mode="min",
        save_top_k=1,
        save_last=True,
        every_n_train_steps=val_check_interval,
    )
    throughput = ThroughputMonitor(tokens_per_step, model_flops, peak_flops, log_every)
    history = LossHistory()
    results = RankZeroResults(checkpoint=checkpoints, throughput=throughput, history=history)
    interactive = sys.stderr.isatty()
    callbacks = [checkpoints, throughput, history, results, *(extra_callbacks or [])]
    if not interactive:
        callbacks.append(PlainProgressLog(log_every))

    try:  # from here on results holds a temporary folder, which restore removes
        lightning = pl.Trainer(
            max_steps=max_steps,
            max_epochs=-1,
            val_check_interval=val_check_interval * accumulate,  # Lightning counts micro-batches here
            check_val_every_n_epoch=None,
            num_sanity_val_steps=0,
            accumulate_grad_batches=accumulate,
            log_every_n_steps=log_every,
            logger=logger if logger is not None else False,
            callbacks=callbacks,
            plugins=[AtomicCheckpointIO()],  # a full disk never leaves a truncated last.ckpt to resume from
            enable_progress_bar=interactive,
            enable_model_summary=False,
            default_root_dir=str(checkpoint_dir),
            # Several devices: only fit runs in several processes (lmladder.training.distributed says why).
            **launch_strategy(trainer, processes, "pretraining.trainer"),
        )
        last = checkpoint_dir / LAST_CHECKPOINT
        resume_from = str(last) if last.exists() else None
        resumed_step = _checkpoint_step(last) if resume_from else 0
        if resume_from:
            log.info("resuming from %s (step %d of %d)", last, resumed_step, max_steps)
        # weights_only: a checkpoint is data, never code (only tensors and plain containers load).
        lightning.fit(module, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    finally:
        results.restore()  # the step, history and best score of ranks that ran in other processes

    best = checkpoints.best_model_score
    return PretrainResult(
        model=module.model,
        global_step=results.global_step,
        tokens_per_step=tokens_per_step,
        flops_per_token=model_flops,
        peak_flops=peak_flops,
        tokens_per_second=throughput.tokens_per_second,
        best_val_loss=float(best) if best is not None else None,
        history=history,
        resumed_from_step=resumed_step,
        compiled=compiled,
    )


def _checkpoint_step(path: Path) -> int:
    """The step a checkpoint reached; a damaged or unsafe file is reported by name before Lightning opens it."""
    _require_intact_archive(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CorruptFileError(
            f"refused to load {path}: it holds objects other than tensors and plain data, which could run code "
            "when unpickled (torch.load weights_only). Delete it if you did not write it."
        ) from error
    except (RuntimeError, EOFError, OSError, ValueError) as error:
        raise CorruptFileError(f"checkpoint {path} is truncated or corrupted ({error}); delete it to start from step 0") from error
    missing = [key for key in CHECKPOINT_KEYS if key not in checkpoint] if isinstance(checkpoint, dict) else list(CHECKPOINT_KEYS)
    if missing:
        raise CorruptFileError(
            f"checkpoint {path} is a torch file but not a Lightning checkpoint (no {', '.join(map(repr, missing))}); "
            "it was not written by this training. Delete it (or move it away) to start from step 0"
        )
    return int(checkpoint["global_step"])


def _require_intact_archive(path: Path) -> None:
    """Check every member of a zip checkpoint against its CRC-32: torch.load does not, so bytes overwritten in
    the tensor data load silently, and in the pickle they read as an unsafe payload."""
    if not zipfile.is_zipfile(path):
        return  # not a zip: torch.load reports it
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, zlib.error) as error:
        raise CorruptFileError(f"checkpoint {path} is truncated or corrupted ({error}); delete it to start from step 0") from error
    if damaged is not None:
        raise CorruptFileError(
            f"checkpoint {path} is truncated or corrupted ({damaged} fails its CRC-32 check); delete it to start from step 0"
        )
