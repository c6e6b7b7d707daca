"""Optimizer parameter groups and the learning-rate schedule."""

from __future__ import annotations

import math

import torch

from lmladder.errors import TrainingDivergedError


def weight_decay_groups(model: torch.nn.Module) -> list[dict]:
    """Decay only matrices (>= 2-D: linear and embedding weights), never biases or norm gains.

    The first group takes the optimizer's own ``weight_decay``; the second overrides it with 0.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() >= 2]},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def optimizer_and_schedule(model: torch.nn.Module, optimizer, lr_schedule, total_steps: int) -> dict:
    """The answer to Lightning's ``configure_optimizers``: decay groups, the optimizer, a per-step schedule."""
    built = optimizer(weight_decay_groups(model))
    return {"optimizer": built, "lr_scheduler": {"scheduler": lr_schedule(built, total_steps=total_steps), "interval": "step"}}


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, min_lr_ratio: float) -> float:
    """LR multiplier: linear warmup from 0 to 1, then cosine decay to ``min_lr_ratio``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def warmup_cosine_schedule(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 0, min_lr_ratio: float = 0.1
) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: warmup_cosine(step, total_steps, warmup_steps, min_lr_ratio))


def require_finite_loss(loss: torch.Tensor, step: int, optimizer: torch.optim.Optimizer) -> None:
    """Stop at the first NaN/Inf loss, naming the step and learning rate: a diverged run never recovers,
    and every further step would only waste compute and overwrite the last good checkpoint."""
    if not torch.isfinite(loss).all():
        lr = optimizer.param_groups[0]["lr"]
        raise TrainingDivergedError(
            f"training loss became {loss.detach().float().item()} at step {step} (learning rate {lr:.3g}); "
            "lower the learning rate or check the data"
        )
