import math
from itertools import pairwise

import pytest
import torch

from lmladder.model import ModelConfig, Transformer
from lmladder.training.optim import warmup_cosine, warmup_cosine_schedule, weight_decay_groups


@pytest.mark.parametrize(("norm", "bias"), [("layernorm", True), ("rmsnorm", False)])
def test_weight_decay_groups_decay_exactly_the_matrices(norm, bias):
    model = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=2, n_head=2, n_embd=16, norm=norm, bias=bias))
    decay, no_decay = weight_decay_groups(model)
    assert "weight_decay" not in decay  # the optimizer's own weight_decay applies
    assert no_decay["weight_decay"] == 0.0
    parameters = list(model.parameters())
    assert {id(p) for p in decay["params"]} == {id(p) for p in parameters if p.dim() >= 2}
    assert {id(p) for p in no_decay["params"]} == {id(p) for p in parameters if p.dim() < 2}
    assert len(decay["params"]) + len(no_decay["params"]) == len(parameters)
    assert any(p is model.token_embedding.weight for p in decay["params"])
    assert any(p is model.blocks[0].norm1.weight for p in no_decay["params"])
    optimizer = torch.optim.AdamW(weight_decay_groups(model), weight_decay=0.1)
    assert [group["weight_decay"] for group in optimizer.param_groups] == [0.1, 0.0]


def test_weight_decay_groups_skip_frozen_parameters():
    model = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=1, n_head=2, n_embd=16))
    model.token_embedding.weight.requires_grad_(False)
    decay, no_decay = weight_decay_groups(model)
    assert all(p is not model.token_embedding.weight for p in decay["params"] + no_decay["params"])


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (0, 0.1),
        (4, 0.5),
        (9, 1.0),
        (10, 1.0),
        (60, 0.1 + 0.9 * 0.5),
        (35, 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4))),
        (110, 0.1),
        (500, 0.1),
    ],
)
def test_warmup_cosine(step, expected):
    assert warmup_cosine(step, total_steps=110, warmup_steps=10, min_lr_ratio=0.1) == pytest.approx(expected)


def test_warmup_cosine_decays_monotonically_to_the_floor():
    after_warmup = [warmup_cosine(step, 50, 5, 0.25) for step in range(5, 80)]
    assert min(after_warmup) == pytest.approx(0.25)
    assert max(after_warmup) == pytest.approx(1.0)
    assert all(a >= b for a, b in pairwise(after_warmup))
    assert after_warmup[-30:] == [pytest.approx(0.25)] * 30


def test_no_warmup_starts_at_peak():
    assert warmup_cosine(0, 100, 0, 0.1) == 1.0
    assert warmup_cosine(100, 100, 0, 0.0) == pytest.approx(0.0)


def test_schedule_drives_the_optimizer_learning_rate():
    parameter = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([parameter], lr=2.0)
    schedule = warmup_cosine_schedule(optimizer, total_steps=12, warmup_steps=2, min_lr_ratio=0.1)
    rates = []
    for _ in range(13):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == pytest.approx(1.0)
    assert rates[1] == pytest.approx(2.0)
    assert rates[7] == pytest.approx(2.0 * 0.55)
    assert rates[12] == pytest.approx(0.2)
