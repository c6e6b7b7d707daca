"""Fine-tuning for a sequence-to-sequence task (source text -> target text); ``lmladder.model.generation``
writes with the result.

Two architectures can write text: the encoder-decoder is fine-tuned directly (source into the encoder,
target out of the decoder); a decoder is fine-tuned as a prefix language model on
``source <|endoftext|> target <|endoftext|>`` with the loss on the target only. Both use ``<|endoftext|>``
as the start of the target and its end, so generation stops where the target would. An encoder alone has
no decoder to write with and is refused.

Early stopping and the best epoch go by validation loss (teacher-forced): generating the validation set
every epoch would cost more than the fine-tuning itself on a CPU.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping
from pytorch_lightning.loggers import Logger
from tokenizers import Tokenizer
from torch.utils.data import DataLoader

from lmladder.corpus.tokenizer import special_token_id
from lmladder.errors import ConfigError
from lmladder.model.classifier import pad_batch
from lmladder.model.generation import check_max_target_tokens, source_budget
from lmladder.model.model import EncoderDecoder, Transformer, build_model
from lmladder.training.distributed import RankZeroResults, batches_per_rank, launch_strategy, world_size
from lmladder.training.finetune import BestWeights, EpochHistory
from lmladder.training.objectives import IGNORE_INDEX
from lmladder.training.optim import optimizer_and_schedule, require_finite_loss, unfused

log = logging.getLogger(__name__)

GENERATION_MODES = ("full", "scratch")


def build_generator(pretrained: Transformer | EncoderDecoder, mode: str) -> Transformer | EncoderDecoder:
    """``full``: the pretrained weights, all trained; ``scratch``: the same architecture from random weights
    (the baseline that shows what pretraining buys)."""
    if mode not in GENERATION_MODES:
        raise ConfigError(f"finetuning.mode must be one of {GENERATION_MODES} for task generation, got {mode!r}")
    if pretrained.config.architecture == "encoder":
        raise ConfigError(
            "task generation needs a model that writes text: a decoder (fine-tuned as a prefix LM) or an encoder-decoder; "
            "pretraining.model.architecture is encoder"
        )
    model = build_model(pretrained.config)
    if mode == "full":
        model.load_state_dict(pretrained.state_dict())
    return model


def encode_pairs(model, tokenizer: Tokenizer, sources: Sequence[str], targets: Sequence[str], max_target_tokens: int) -> list[tuple]:
    """Training examples: (encoder ids, decoder inputs, labels) for an encoder-decoder; (inputs, labels) with
    the source's labels ignored for a prefix LM. Sources are cut to what fits, targets to ``max_target_tokens``."""
    check_max_target_tokens(model, max_target_tokens)
    eot = special_token_id(tokenizer, "eot")
    budget = source_budget(model, max_target_tokens)
    source_ids = [e.ids[:budget] for e in tokenizer.encode_batch_fast(list(sources), add_special_tokens=False)]
    target_ids = [e.ids[:max_target_tokens] for e in tokenizer.encode_batch_fast(list(targets), add_special_tokens=False)]
    examples = []
    for source, target in zip(source_ids, target_ids, strict=True):
        if model.config.architecture == "encoder-decoder":
            examples.append((source or [eot], [eot, *target], [*target, eot]))
        else:
            sequence = [*source, eot, *target, eot]
            examples.append((sequence[:-1], [IGNORE_INDEX] * len(source) + sequence[len(source) + 1 :]))
    return examples


def _pad_labels(rows: Sequence[Sequence[int]]) -> torch.Tensor:
    labels = torch.full((len(rows), max(len(row) for row in rows)), IGNORE_INDEX, dtype=torch.long)
    for index, row in enumerate(rows):
        labels[index, : len(row)] = torch.tensor(row, dtype=torch.long)
    return labels


def collate(examples: Sequence[tuple], pad_id: int) -> tuple[torch.Tensor, ...]:
    """Right-padded batch: (source ids, source mask, decoder inputs, labels) for an encoder-decoder;
    (inputs, labels) for a prefix LM (causal attention never reads the right padding)."""
    if len(examples[0]) == 3:
        sources, source_mask = pad_batch([e[0] for e in examples], pad_id)
        decoder_inputs, _ = pad_batch([e[1] for e in examples], pad_id)
        return sources, source_mask, decoder_inputs, _pad_labels([e[2] for e in examples])
    inputs, _ = pad_batch([e[0] for e in examples], pad_id)
    return inputs, _pad_labels([e[1] for e in examples])


def sequence_loss(model, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Mean cross-entropy over the target tokens of a ``collate`` batch."""
    if len(batch) == 4:
        sources, source_mask, decoder_inputs, labels = batch
        return model(sources, decoder_inputs, labels, attention_mask=source_mask)[1]
    inputs, labels = batch
    return model(inputs, labels)[1]


class GeneratorModule(pl.LightningModule):
    def __init__(self, model, optimizer: Callable, lr_schedule: Callable, total_steps: int, metric_prefix: str = ""):
        super().__init__()
        self.model = model
        self.optimizer_factory, self.lr_schedule_factory, self.total_steps = optimizer, lr_schedule, total_steps
        self.prefix = metric_prefix

    def training_step(self, batch, batch_index):
        loss = sequence_loss(self.model, batch)
        require_finite_loss(loss, self.global_step, self.trainer.optimizers[0])
        # sync_dist: under DDP the mean over all ranks' batches (a scalar all-reduce; nothing on one process)
        self.log(f"{self.prefix}train_loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=len(batch[0]), sync_dist=True)
        return loss

    def validation_step(self, batch, batch_index):
        loss = sequence_loss(self.model, batch)
        self.log(f"{self.prefix}val_loss", loss, on_epoch=True, batch_size=len(batch[0]), sync_dist=True)

    def configure_optimizers(self):
        return optimizer_and_schedule(self.model, self.optimizer_factory, self.lr_schedule_factory, self.total_steps)


@dataclass
class GeneratorResult:
    model: Transformer | EncoderDecoder
    best_val_loss: float
    best_epoch: int
    epochs_run: int
    history: list[dict] = field(default_factory=list)


def finetune_generator(
    model,
    tokenizer: Tokenizer,
    train: tuple[Sequence[str], Sequence[str]],
    val: tuple[Sequence[str], Sequence[str]],
    *,
    optimizer: Callable,
    lr_schedule: Callable,
    batch_size: int,
    max_epochs: int,
    patience: int,
    max_target_tokens: int,
    trainer: dict | None = None,
    logger: Logger | None = None,
    metric_prefix: str = "",
    seed: int = 0,
) -> GeneratorResult:
    """Train on ``train`` (sources, targets), validate each epoch on ``val``; return the best epoch's weights."""
    if not isinstance(max_epochs, int) or max_epochs <= 0:
        raise ConfigError(f"finetuning.max_epochs must be a positive integer, got {max_epochs!r}")
    for split, (sources, targets) in (("training", train), ("validation", val)):
        if not len(sources) or len(sources) != len(targets):
            raise ConfigError(f"the {split} split needs as many targets as sources, and some: got {len(sources)} and {len(targets)}")
    pad_id = special_token_id(tokenizer, "pad")

    def loader(pairs, shuffle):
        examples = encode_pairs(model, tokenizer, *pairs, max_target_tokens)
        generator = torch.Generator().manual_seed(seed)
        return DataLoader(
            examples, batch_size=batch_size, shuffle=shuffle, collate_fn=functools.partial(collate, pad_id=pad_id), generator=generator
        )

    train_loader, val_loader = loader(train, True), loader(val, False)
    processes = world_size(trainer or {})  # under DDP batch_size is per rank, and each rank takes 1 / processes of the examples
    steps_per_epoch = batches_per_rank(len(train_loader.dataset), batch_size, processes)
    optimizer = unfused(optimizer, (trainer or {}).get("precision", "32-true"), (trainer or {}).get("gradient_clip_val"))
    module = GeneratorModule(model, optimizer, lr_schedule, max_epochs * steps_per_epoch, metric_prefix)
    monitor = f"{metric_prefix}val_loss"
    best, history = BestWeights(monitor, mode="min"), EpochHistory(metric_prefix)
    # As for the classifier: a parameter no batch's loss uses would stop DDP at the first step (the check costs
    # a pass over the autograd graph per step, small next to a fine-tuning step).
    trainer = launch_strategy(trainer or {}, processes, "finetuning.trainer", find_unused_parameters=True)
    results = RankZeroResults(best=best, history=history)
    try:  # from here on results holds a temporary folder, which restore removes
        lightning = pl.Trainer(
            max_epochs=max_epochs,
            logger=logger if logger is not None else False,
            callbacks=[best, history, results, EarlyStopping(monitor=monitor, mode="min", patience=patience)],
            enable_checkpointing=False,  # the best weights are kept in memory: fine-tuning runs are short
            enable_progress_bar=sys.stderr.isatty(),
            enable_model_summary=False,
            num_sanity_val_steps=0,
            log_every_n_steps=max(1, min(10, steps_per_epoch)),
            **trainer,
        )
        model.train()
        lightning.fit(module, train_loader, val_loader)
    finally:
        results.restore()  # the best weights and history of ranks that ran in other processes
    if best.state is not None:
        model.load_state_dict(best.state)
    model.eval()
    return GeneratorResult(model, -best.best_score, best.best_epoch, results.current_epoch, history.rows)
