"""Optimizer parameter groups and the learning-rate schedule."""

from __future__ import annotations

import functools
import logging
import math
import re
from collections.abc import Callable

import torch
from torch.optim.adamw import adamw

from lmladder.errors import TrainingDivergedError
from lmladder.training.hardware import cpu_prefers_bf16, matmul_probe

log = logging.getLogger(__name__)

HIDDEN_MATRIX = re.compile(r"(^|\.)(encoder_|decoder_)?blocks\.")  # a parameter inside a Transformer block


def weight_decay_groups(model: torch.nn.Module) -> list[dict]:
    """Three parameter groups, each named (``name``; optimizers keep extra keys and ignore them):

    - ``hidden_matrices``: the blocks' weight matrices (attention and MLP), decayed;
    - ``embeddings``: the other matrices (token and position embeddings, output and task heads), decayed;
    - ``gains_and_biases``: every vector (biases, norm gains), never decayed (``weight_decay`` 0).

    Any optimizer treats the first two alike; ``MuonAdamW`` gives the hidden matrices to Muon.
    """
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    hidden = [p for name, p in named if p.dim() >= 2 and HIDDEN_MATRIX.search(name)]
    other = [p for name, p in named if p.dim() >= 2 and not HIDDEN_MATRIX.search(name)]
    return [
        {"params": hidden, "name": "hidden_matrices"},
        {"params": other, "name": "embeddings"},
        {"params": [p for _, p in named if p.dim() < 2], "weight_decay": 0.0, "name": "gains_and_biases"},
    ]


def newton_schulz(matrix: torch.Tensor, steps: int = 5, dtype: torch.dtype = torch.bfloat16, eps: float = 1e-7) -> torch.Tensor:
    """The nearest semi-orthogonal matrix to ``matrix``, approximately (Muon's quintic Newton-Schulz
    iteration, Keller Jordan's coefficients; singular values end up in about [0.7, 1.2], which does not
    hurt training). Run in ``dtype``: bf16 where its matmuls are fast."""
    a, b, c = 3.4445, -4.7750, 2.0315
    x = matrix.to(dtype)
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=eps)
    for _ in range(steps):  # x <- a x + (b G + c G^2) x, G = x x^T
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return (x.T if tall else x).to(matrix.dtype)


class MuonAdamW(torch.optim.Optimizer):
    """Muon for the hidden weight matrices, AdamW for everything else (embeddings, heads, gains, biases),
    in one optimizer, so one learning-rate schedule and one checkpoint state cover both.

    Muon (Jordan et al. 2024, as in ``torch.optim.Muon``): SGD momentum (Nesterov), the update
    orthogonalised by ``newton_schulz`` and scaled by sqrt(max(1, rows/cols)), decoupled weight decay.
    It applies to the group named ``hidden_matrices`` (see ``weight_decay_groups``), whose learning rate
    is ``muon_lr``; the other groups take AdamW's ``lr``. A schedule scales both alike. ``muon_lr=None``
    turns Muon off: AdamW for every parameter (the GPT-2-style recipe, conf/gpt2).
    """

    def __init__(
        self,
        params,
        lr: float = 0.003,
        betas: tuple[float, float] = (0.9, 0.95),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        muon_lr: float | None = 0.02,
        muon_momentum: float = 0.95,
        ns_steps: int = 5,
        fused: bool | None = None,
    ):
        groups = list(params)
        if not groups or not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            group["muon"] = muon_lr is not None and group.get("name") == "hidden_matrices"
            if group["muon"]:
                group.setdefault("lr", muon_lr)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "muon_momentum": muon_momentum,
            "ns_steps": ns_steps,
            "fused": fused,
        }
        super().__init__(groups, defaults)
        self._dtype = None  # Newton-Schulz's, chosen at the first step on the parameters' device

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if group["muon"]:
                self._muon(group, params)
            elif params:
                self._adamw(group, params)
        return loss

    def _muon(self, group: dict, params: list[torch.Tensor]) -> None:
        momentum = group["muon_momentum"]
        for p in params:
            state = self.state[p]
            if not state:
                state["momentum_buffer"] = torch.zeros_like(p)
            buffer = state["momentum_buffer"]
            buffer.lerp_(p.grad, 1 - momentum)
            update = p.grad.lerp(buffer, momentum)  # Nesterov
            update = newton_schulz(update, group["ns_steps"], self._newton_schulz_dtype(p))
            p.mul_(1 - group["lr"] * group["weight_decay"])
            p.add_(update, alpha=-group["lr"] * math.sqrt(max(1.0, p.size(0) / p.size(1))))

    def _newton_schulz_dtype(self, p: torch.Tensor) -> torch.dtype:
        """bf16 on a GPU and on a CPU whose bf16 matmuls measured fast (the cached probe); fp32 on a CPU
        that emulates bf16, where it would be slower than fp32."""
        if self._dtype is None:
            self._dtype = torch.bfloat16 if p.is_cuda or cpu_prefers_bf16(matmul_probe("cpu")) else torch.float32
        return self._dtype

    def _adamw(self, group: dict, params: list[torch.Tensor]) -> None:
        for p in params:
            state = self.state[p]
            if not state:  # as torch's AdamW: the fused kernel wants the step count on the parameter's device
                state["step"] = torch.tensor(0.0, device=p.device if group["fused"] else None)
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
        states = [self.state[p] for p in params]
        beta1, beta2 = group["betas"]
        adamw(
            params,
            [p.grad for p in params],
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [],
            [s["step"] for s in states],
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
            fused=group["fused"],
        )


def optimizer_and_schedule(model: torch.nn.Module, optimizer, lr_schedule, total_steps: int) -> dict:
    """The answer to Lightning's ``configure_optimizers``: decay groups, the optimizer, a per-step schedule."""
    built = optimizer(weight_decay_groups(model))
    return {"optimizer": built, "lr_scheduler": {"scheduler": lr_schedule(built, total_steps=total_steps), "interval": "step"}}


def unfused(optimizer: Callable, precision: str | int, gradient_clip_val: float | None) -> Callable:
    """``optimizer`` (a partial, as Hydra builds it), without ``fused=True`` when training clips gradients
    in mixed precision: Lightning refuses to clip a fused optimizer's gradients there (it would unscale
    them itself), so the update runs unfused, with a log line."""
    mixed = str(precision) in ("16", "bf16") or str(precision).endswith("-mixed")  # Lightning's names, old and new
    if mixed and gradient_clip_val and isinstance(optimizer, functools.partial) and optimizer.keywords.get("fused"):
        log.info(
            "optimizer: fused=true is off under mixed precision with gradient clipping (Lightning cannot clip a fused optimizer's gradients there)"
        )
        return functools.partial(optimizer.func, *optimizer.args, **{**optimizer.keywords, "fused": False})
    return optimizer


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


def learning_rate(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate to report: the last group's, AdamW's in ``MuonAdamW`` (the first group is Muon's
    hidden matrices, at ``muon_lr``); every group's with a plain optimizer."""
    return optimizer.param_groups[-1]["lr"]


def require_finite_loss(loss: torch.Tensor, step: int, optimizer: torch.optim.Optimizer) -> None:
    """Stop at the first NaN/Inf loss, naming the step and learning rate: a diverged run never recovers,
    and every further step would only waste compute and overwrite the last good checkpoint."""
    if not torch.isfinite(loss).all():
        lr = learning_rate(optimizer)
        raise TrainingDivergedError(
            f"training loss became {loss.detach().float().item()} at step {step} (learning rate {lr:.3g}); "
            "lower the learning rate or check the data"
        )
