"""Fine-tuning a classifier with Lightning: full, frozen backbone or from scratch; early stopping
and best-weights selection on validation macro-F1."""

from __future__ import annotations

import copy
import functools
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.callbacks import EarlyStopping
from pytorch_lightning.loggers import Logger
from sklearn.metrics import f1_score
from tokenizers import Tokenizer
from torch.utils.data import DataLoader

from lmladder.errors import ConfigError
from lmladder.model import Transformer
from lmladder.model.classifier import ClassifierConfig, SequenceClassifier, encode_for_classification, pad_batch
from lmladder.training.distributed import RankZeroResults, batches_per_rank, gather_in_order, launch_strategy, world_size
from lmladder.training.optim import optimizer_and_schedule, require_finite_loss, unfused

log = logging.getLogger(__name__)

MODES = ("full", "frozen", "scratch")


def build_classifier(pretrained: Transformer, labels: Sequence[str], mode: str, pooling: str, dropout: float = 0.0) -> SequenceClassifier:
    """``full``: pretrained weights, all trained; ``frozen``: pretrained, only the head trains;
    ``scratch``: the same architecture with random weights (the baseline that shows what pretraining buys)."""
    if mode not in MODES:
        raise ConfigError(f"finetuning.mode must be one of {MODES}, got {mode!r}")
    model = SequenceClassifier(pretrained.config, ClassifierConfig(tuple(labels), pooling, dropout))
    if mode != "scratch":
        model.backbone.load_state_dict(pretrained.state_dict())
    if mode == "frozen":
        model.backbone.requires_grad_(False)
    return model


def class_weights(labels: Sequence[int], num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights, normalised to mean 1 (sklearn's "balanced")."""
    counts = np.bincount(np.asarray(labels), minlength=num_classes).astype(np.float64)
    weights = len(labels) / (num_classes * np.maximum(counts, 1))
    return torch.tensor(weights, dtype=torch.float32)


class ClassifierModule(pl.LightningModule):
    def __init__(
        self,
        model: SequenceClassifier,
        optimizer: Callable[[list[dict]], torch.optim.Optimizer],
        lr_schedule: Callable[..., torch.optim.lr_scheduler.LRScheduler],
        total_steps: int,
        weights: torch.Tensor | None = None,
        metric_prefix: str = "",
    ):
        super().__init__()
        self.model = model
        self.optimizer_factory, self.lr_schedule_factory, self.total_steps = optimizer, lr_schedule, total_steps
        self.register_buffer("weights", weights, persistent=False)
        self.prefix = metric_prefix
        self._val_predictions: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []

    def training_step(self, batch, batch_index):
        ids, mask, targets = batch
        loss = F.cross_entropy(self.model(ids, mask), targets, weight=self.weights)
        require_finite_loss(loss, self.global_step, self.trainer.optimizers[0])
        # sync_dist: under DDP the mean over all ranks' batches (a scalar all-reduce; nothing on one process)
        self.log(f"{self.prefix}train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(ids), sync_dist=True)
        return loss

    def validation_step(self, batch, batch_index):
        ids, mask, targets = batch
        logits = self.model(ids, mask)
        self.log(f"{self.prefix}val_loss", F.cross_entropy(logits, targets), on_epoch=True, batch_size=len(ids), sync_dist=True)
        self._val_predictions.append(logits.argmax(dim=-1).cpu())
        self._val_targets.append(targets.cpu())

    def on_validation_epoch_end(self):
        # Under DDP each rank predicted part of the validation set: F1 is computed on all of it, on every rank.
        predictions = gather_in_order(self, torch.cat(self._val_predictions)).numpy()
        targets = gather_in_order(self, torch.cat(self._val_targets)).numpy()
        self._val_predictions.clear()
        self._val_targets.clear()
        # The same on every rank already; sync_dist only tells Lightning so (which otherwise warns under DDP).
        self.log(f"{self.prefix}val_macro_f1", float(f1_score(targets, predictions, average="macro", zero_division=0)), sync_dist=True)
        self.log(f"{self.prefix}val_accuracy", float((predictions == targets).mean()), sync_dist=True)

    def configure_optimizers(self):
        return optimizer_and_schedule(self.model, self.optimizer_factory, self.lr_schedule_factory, self.total_steps)


class BestWeights(pl.Callback):
    """Keeps the weights of the epoch with the best monitored score, in memory. ``best_score`` is the score
    with its sign flipped in mode ``min`` (a loss), so higher is always better."""

    def __init__(self, monitor: str, mode: str = "max"):
        self.monitor, self.best_score, self.best_epoch, self.state = monitor, -float("inf"), -1, None
        self.sign = -1.0 if mode == "min" else 1.0

    def on_validation_end(self, trainer, pl_module):
        score = trainer.callback_metrics.get(self.monitor)
        if score is not None and not trainer.sanity_checking and self.sign * float(score) > self.best_score:
            self.best_score, self.best_epoch = self.sign * float(score), trainer.current_epoch
            self.state = copy.deepcopy(pl_module.model.state_dict())


class EpochHistory(pl.Callback):
    """Validation metrics per epoch, also as one log line each (fine-tuning has no per-step lines)."""

    def __init__(self, prefix: str):
        self.prefix, self.rows = prefix, []

    def on_train_epoch_end(self, trainer, pl_module):
        # Runs after the epoch's validation and once the epoch's training loss is averaged.
        metrics = trainer.callback_metrics
        row = {"epoch": trainer.current_epoch}
        for name in ("train_loss_epoch", "val_loss", "val_macro_f1", "val_accuracy"):
            if f"{self.prefix}{name}" in metrics:
                row[name] = float(metrics[f"{self.prefix}{name}"])
        self.rows.append(row)
        if trainer.is_global_zero:  # one line per epoch, not one per rank
            log.info("%sepoch %d: %s", self.prefix, row["epoch"], ", ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "epoch"))


@dataclass
class FinetuneResult:
    model: SequenceClassifier
    best_val_macro_f1: float
    best_epoch: int
    epochs_run: int
    history: list[dict] = field(default_factory=list)


def _batches(tokenizer: Tokenizer, texts, labels, label_index, max_length, architecture, batch_size, shuffle, seed):
    encoded = encode_for_classification(tokenizer, texts, max_length, architecture)
    targets = [label_index[label] for label in labels]
    pad_id = tokenizer.token_to_id("<|pad|>")
    generator = torch.Generator().manual_seed(seed)
    # A partial, not a closure: ranks spawned for a GPU receive the loader pickled.
    return DataLoader(
        list(zip(encoded, targets, strict=True)),
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=functools.partial(_collate, pad_id=pad_id),
        generator=generator,
    )


def _collate(rows, pad_id: int):
    ids, mask = pad_batch([row[0] for row in rows], pad_id)
    return ids, mask, torch.tensor([row[1] for row in rows], dtype=torch.long)


def finetune(
    model: SequenceClassifier,
    tokenizer: Tokenizer,
    train: tuple[Sequence[str], Sequence[str]],
    val: tuple[Sequence[str], Sequence[str]],
    *,
    optimizer: Callable[[list[dict]], torch.optim.Optimizer],
    lr_schedule: Callable[..., torch.optim.lr_scheduler.LRScheduler],
    batch_size: int,
    max_epochs: int,
    patience: int,
    class_weighted: bool = False,
    trainer: dict | None = None,
    logger: Logger | None = None,
    metric_prefix: str = "",
    seed: int = 0,
) -> FinetuneResult:
    """Train on ``train`` (texts, labels), validate each epoch on ``val``; return the best epoch's weights."""
    if not isinstance(max_epochs, int) or max_epochs <= 0:
        raise ConfigError(f"finetuning.max_epochs must be a positive integer, got {max_epochs!r}")
    labels = model.classifier_config.labels
    label_index = {label: i for i, label in enumerate(labels)}
    for split, (_, split_labels) in (("training", train), ("validation", val)):
        unknown = sorted(set(split_labels) - set(labels))
        if unknown:
            raise ConfigError(f"{split} labels {unknown} are not among the classifier's labels {list(labels)}")
    config = model.config
    train_loader = _batches(tokenizer, *train, label_index, config.max_positions, config.architecture, batch_size, True, seed)
    val_loader = _batches(tokenizer, *val, label_index, config.max_positions, config.architecture, batch_size, False, seed)
    processes = world_size(trainer or {})  # under DDP batch_size is per rank, and each rank takes 1 / processes of the examples
    steps_per_epoch = batches_per_rank(len(train_loader.dataset), batch_size, processes)
    weights = class_weights([label_index[label] for label in train[1]], len(labels)) if class_weighted else None
    optimizer = unfused(optimizer, (trainer or {}).get("precision", "32-true"), (trainer or {}).get("gradient_clip_val"))
    module = ClassifierModule(
        model, optimizer, lr_schedule, total_steps=max_epochs * steps_per_epoch, weights=weights, metric_prefix=metric_prefix
    )
    monitor = f"{metric_prefix}val_macro_f1"
    best, history = BestWeights(monitor), EpochHistory(metric_prefix)
    # The classifier leaves parts of the backbone unused (an untied LM head): without this DDP stops at the first step.
    trainer = launch_strategy(trainer or {}, processes, "finetuning.trainer", find_unused_parameters=True)
    results = RankZeroResults(best=best, history=history)
    try:  # from here on results holds a temporary folder, which restore removes
        lightning = pl.Trainer(
            max_epochs=max_epochs,
            logger=logger if logger is not None else False,
            callbacks=[best, history, results, EarlyStopping(monitor=monitor, mode="max", patience=patience)],
            enable_checkpointing=False,  # best weights are kept in memory: fine-tuning runs are short
            enable_progress_bar=sys.stderr.isatty(),
            enable_model_summary=False,
            num_sanity_val_steps=0,
            log_every_n_steps=max(1, min(10, steps_per_epoch)),
            **trainer,
        )
        model.train()  # Lightning keeps a model that arrives in eval mode (e.g. freshly loaded) in eval mode
        lightning.fit(module, train_loader, val_loader)
    finally:
        results.restore()  # the best weights and history of ranks that ran in other processes
    if best.state is not None:
        model.load_state_dict(best.state)
    model.eval()
    return FinetuneResult(model, best.best_score, best.best_epoch, results.current_epoch, history.rows)
