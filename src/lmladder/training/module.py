"""The LightningModule for pretraining: loss, metrics, optimizer and schedule."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytorch_lightning as pl
import torch

from lmladder.model import Transformer
from lmladder.training.objectives import mask_tokens
from lmladder.training.optim import optimizer_and_schedule, require_finite_loss


class LanguageModelModule(pl.LightningModule):
    """Causal LM for a decoder, masked LM for an encoder.

    ``bits_per_byte`` converts the loss (nats per token) with the token files' bytes per token,
    so models with different tokenizers compare on the same scale.
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
    ):
        super().__init__()
        self.model = model
        self.optimizer_factory, self.lr_schedule_factory, self.total_steps = optimizer, lr_schedule, total_steps
        self.bytes_per_token = bytes_per_token
        self.special_ids = special_ids
        self.mlm_probability = mlm_probability

    def _loss(self, inputs: torch.Tensor, targets: torch.Tensor, generator=None) -> torch.Tensor:
        if self.model.config.architecture == "decoder":
            return self.model(inputs, targets)[1]
        masked, labels = mask_tokens(
            inputs,
            self.special_ids["mask"],
            self.model.config.vocab_size,
            sorted(self.special_ids.values()),
            self.mlm_probability,
            generator,
        )
        return self.model(masked, labels)[1]

    def training_step(self, batch, batch_index):
        loss = self._loss(*batch)
        require_finite_loss(loss, self.global_step, self.trainer.optimizers[0])
        self.log("train_loss", loss, prog_bar=True)
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"])
        return loss

    def validation_step(self, batch, batch_index):
        inputs, targets = batch
        # The same masks on every validation pass, so encoder val losses are comparable over time.
        generator = torch.Generator(device=inputs.device).manual_seed(batch_index)
        loss = self._loss(inputs, targets, generator)
        self.log("val_loss", loss, prog_bar=True, sync_dist=True)
        self.log("val_bpb", loss / math.log(2) / self.bytes_per_token, sync_dist=True)

    def configure_optimizers(self):
        return optimizer_and_schedule(self.model, self.optimizer_factory, self.lr_schedule_factory, self.total_steps)
