"""Callbacks: throughput and MFU, plain log lines off a terminal, the loss history for plots; and the
checkpoint writer that never leaves a half-written checkpoint."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.plugins import TorchCheckpointIO
from pytorch_lightning.utilities import rank_zero_only

from lmladder.atomic import atomic_path

log = logging.getLogger(__name__)


def stepped(trainer: pl.Trainer, batch_idx: int) -> bool:
    """Whether this micro-batch ended with an optimizer step (gradient accumulation skips some)."""
    return (batch_idx + 1) % trainer.accumulate_grad_batches == 0


def logs_this_step(trainer: pl.Trainer) -> bool:
    """Whether the optimizer step under way (``global_step + 1``) is one whose metrics Lightning sends to
    the logger (every ``log_every_n_steps``), or the last."""
    step = trainer.global_step + 1
    return step % trainer.log_every_n_steps == 0 or step == trainer.max_steps


class ThroughputMonitor(pl.Callback):
    """Logs tokens seen, tokens/s and model FLOPs utilisation, excluding validation time."""

    def __init__(self, tokens_per_step: int, flops_per_token: int, peak_flops: float, log_every_n_steps: int = 10):
        self.tokens_per_step, self.flops_per_token, self.peak_flops = tokens_per_step, flops_per_token, peak_flops
        self.log_every_n_steps = log_every_n_steps
        self._window_start = self._window_step = None
        self._paused_at = None
        self.tokens_per_second = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if self._window_start is None:
            self._window_start, self._window_step = time.perf_counter(), trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if not stepped(trainer, batch_idx):
            return
        step = trainer.global_step
        if step % self.log_every_n_steps == 0 or step == trainer.max_steps:
            pl_module.log("tokens_seen", float(step * self.tokens_per_step))
        if step - self._window_step >= self.log_every_n_steps:
            elapsed = time.perf_counter() - self._window_start
            self.tokens_per_second = (step - self._window_step) * self.tokens_per_step / elapsed
            pl_module.log("tokens_per_s", self.tokens_per_second)
            pl_module.log("mfu", self.tokens_per_second * self.flops_per_token / self.peak_flops)
            self._window_start, self._window_step = time.perf_counter(), step

    def on_validation_start(self, trainer, pl_module):
        self._paused_at = time.perf_counter()

    def on_validation_end(self, trainer, pl_module):
        if self._paused_at is not None and self._window_start is not None:
            self._window_start += time.perf_counter() - self._paused_at
        self._paused_at = None


class PlainProgressLog(pl.Callback):
    """One log line every few steps, for logs and CI where a progress bar would be noise."""

    def __init__(self, every_n_steps: int = 10):
        self.every_n_steps = every_n_steps

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = trainer.global_step
        if rank_zero_only.rank != 0:  # one line per step, not one per rank (Lightning sets each rank's rank)
            return
        if stepped(trainer, batch_idx) and (step % self.every_n_steps == 0 or step == trainer.max_steps):
            metrics = trainer.callback_metrics
            parts = [f"step {step}/{trainer.max_steps}"] + [
                f"{name} {float(metrics[name]):.4g}" for name in ("train_loss", "val_loss", "lr", "tokens_per_s") if name in metrics
            ]
            log.info(" | ".join(parts))


class LossHistory(pl.Callback):
    """Train and validation loss per step, for the loss-curve plot."""

    def __init__(self):
        self.train: list[tuple[int, float]] = []
        self.val: list[tuple[int, float]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        # The step's output, not trainer.callback_metrics: that is rebuilt from every logged metric on each
        # access, and the loss is logged only every log_every_n_steps. Lightning divides the output by the
        # micro-batches accumulated into the step.
        if stepped(trainer, batch_idx) and outputs is not None:
            loss = trainer.strategy.reduce(outputs["loss"].detach(), reduce_op="mean")  # all ranks' under DDP
            self.train.append((trainer.global_step, float(loss) * trainer.accumulate_grad_batches))

    def on_validation_end(self, trainer, pl_module):
        if "val_loss" in trainer.callback_metrics and not trainer.sanity_checking:
            self.val.append((trainer.global_step, float(trainer.callback_metrics["val_loss"])))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes each checkpoint to a temporary file beside it, flushes it to disk and renames it into place.

    Lightning writes ``last.ckpt`` in place (through a temporary file elsewhere, then a copy), so a disk
    that fills up during a checkpoint leaves a truncated ``last.ckpt`` that every later run would try to
    resume from. Here a failed save removes its temporary file and re-raises; the previous checkpoint
    stays as it was. Pass it as ``pl.Trainer(plugins=[AtomicCheckpointIO()])``.

    The temporary file (``.last.<8 hex>.tmp.ckpt``) is never taken for a checkpoint: pretraining resumes
    from the explicit ``last.ckpt`` path, and Lightning's ``ckpt_path="last"`` only takes names that start
    with ``last``. One left by a killed run is removed by the next save of the same checkpoint.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        with atomic_path(Path(path)) as temporary:
            super().save_checkpoint(checkpoint, temporary, storage_options)
