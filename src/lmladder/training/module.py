"""The LightningModule for pretraining: loss, metrics, optimizer and schedule."""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Callable

import pytorch_lightning as pl
import torch

from lmladder.corpus.tokenizer import sentinel_ids
from lmladder.model import Transformer
from lmladder.training.callbacks import logs_this_step
from lmladder.training.objectives import corrupt_spans, mask_tokens
from lmladder.training.optim import learning_rate, optimizer_and_schedule, require_finite_loss

log = logging.getLogger(__name__)


def compile_reason(compile: bool | str, accelerator_is_gpu: bool) -> tuple[bool, str]:
    """Whether to ``torch.compile`` the training step, and why, for ``pretraining.compile`` (true, false or
    auto). ``auto`` compiles on a GPU only: on a CPU the compile time (tens of seconds) outweighs the step
    time it saves at the sizes a CPU trains (benchmarks/bench_time_to_quality.py measures both). On a CPU,
    inductor builds C++ kernels: without a C++ compiler the step runs eagerly."""
    if compile is False or (compile == "auto" and not accelerator_is_gpu):
        return False, "pretraining.compile is false" if compile is False else "pretraining.compile is auto and training runs on a CPU"
    if not accelerator_is_gpu and not shutil.which(os.environ.get("CXX", "g++")) and not shutil.which("c++"):
        return False, "no C++ compiler (g++, c++ or $CXX) on PATH, which torch.compile needs for CPU kernels"
    return True, "pretraining.compile is true" if compile is True else "pretraining.compile is auto and training runs on a GPU"


class CompiledForward:
    """``torch.compile`` of a model's forward for training steps, falling back to the eager forward (with a
    warning) when compilation fails. Not an ``nn.Module`` attribute: the model's state dict (checkpoints,
    the saved model) keeps its own parameter names, and validation and evaluation run the eager model."""

    def __init__(self, model: torch.nn.Module):
        self.eager = model.forward
        self.compiled = torch.compile(model.forward)

    def __call__(self, *args):
        if self.compiled is not None:
            try:
                return self.compiled(*args)
            except Exception as error:  # noqa: BLE001 - any compiler failure; a real error recurs in eager mode below
                log.warning("torch.compile failed (%s: %s); training continues without it", type(error).__name__, str(error)[:300])
                self.compiled = None
        return self.eager(*args)


class LanguageModelModule(pl.LightningModule):
    """Causal LM for a decoder, masked LM for an encoder, span corruption for an encoder-decoder.

    ``val_bpb`` converts a decoder's loss (nats per token) with the token files' bytes per token, so models
    with different tokenizers compare on the same scale. The other two objectives predict a sample of the
    tokens from both sides: their loss is no code length of the text, so they log no ``val_bpb``.
    """

    def __init__(
        self,
        model: Transformer,
        optimizer: Callable[[list[dict]], torch.optim.Optimizer],
        lr_schedule: Callable[..., torch.optim.lr_scheduler.LRScheduler],
        total_steps: int,
        bytes_per_token: float,
        special_ids: dict[str, int],
        mlm_probability: float = 0.15,
        compile: bool = False,
    ):
        super().__init__()
        self.model = model
        self.optimizer_factory, self.lr_schedule_factory, self.total_steps = optimizer, lr_schedule, total_steps
        self.bytes_per_token = bytes_per_token
        self.special_ids = special_ids
        self.mlm_probability = mlm_probability
        self.compiled_forward = CompiledForward(model) if compile else None  # not a module: no second copy of the weights

    def _loss(self, inputs: torch.Tensor, targets: torch.Tensor, generator=None) -> torch.Tensor:
        forward = self.compiled_forward if self.training and self.compiled_forward is not None else self.model
        architecture = self.model.config.architecture
        if architecture == "decoder":
            return forward(inputs, targets)[1]
        if architecture == "encoder-decoder":
            encoder, decoder, labels = corrupt_spans(inputs, sentinel_ids(self.special_ids), self.special_ids["eot"], generator)
            return forward(encoder, decoder, labels)[1]
        masked, labels = mask_tokens(
            inputs,
            self.special_ids["mask"],
            self.model.config.vocab_size,
            sorted(self.special_ids.values()),
            self.mlm_probability,
            generator,
        )
        return forward(masked, labels)[1]

    def training_step(self, batch, batch_index):
        loss = self._loss(*batch)
        require_finite_loss(loss, self.global_step, self.trainer.optimizers[0])
        # Only on the steps whose metrics go to the logger: each self.log costs about as much as a small
        # model's optimizer step. The loss of every step is in LossHistory (from the step's output).
        if logs_this_step(self.trainer):
            self.log("train_loss", loss, prog_bar=True, sync_dist=True)  # all ranks' mean under DDP
            self.log("lr", learning_rate(self.trainer.optimizers[0]))
        return loss

    def validation_step(self, batch, batch_index):
        inputs, targets = batch
        # The same masks (spans) on every validation pass, so val losses are comparable over time. Span
        # corruption draws its spans on the CPU.
        architecture = self.model.config.architecture
        generator = torch.Generator(device="cpu" if architecture == "encoder-decoder" else inputs.device).manual_seed(batch_index)
        loss = self._loss(inputs, targets, generator)
        self.log("val_loss", loss, prog_bar=True, sync_dist=True)
        if architecture == "decoder":
            self.log("val_bpb", loss / math.log(2) / self.bytes_per_token, sync_dist=True)

    def configure_optimizers(self):
        return optimizer_and_schedule(self.model, self.optimizer_factory, self.lr_schedule_factory, self.total_steps)
