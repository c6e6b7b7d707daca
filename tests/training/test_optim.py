import math
from itertools import pairwise

import pytest
import torch

from lmladder.model import ModelConfig, Transformer
from lmladder.training import optim
from lmladder.training.optim import MuonAdamW, newton_schulz, warmup_cosine, warmup_cosine_schedule, weight_decay_groups


@pytest.mark.parametrize(("norm", "bias"), [("layernorm", True), ("rmsnorm", False)])
def test_weight_decay_groups_decay_exactly_the_matrices(norm, bias):
    model = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=2, n_head=2, n_embd=16, norm=norm, bias=bias, qk_norm=True))
    hidden, embeddings, no_decay = weight_decay_groups(model)
    assert [group["name"] for group in (hidden, embeddings, no_decay)] == ["hidden_matrices", "embeddings", "gains_and_biases"]
    assert "weight_decay" not in hidden and "weight_decay" not in embeddings  # the optimizer's own weight_decay applies
    assert no_decay["weight_decay"] == 0.0
    parameters = list(model.parameters())
    assert {id(p) for p in hidden["params"] + embeddings["params"]} == {id(p) for p in parameters if p.dim() >= 2}
    assert {id(p) for p in no_decay["params"]} == {id(p) for p in parameters if p.dim() < 2}
    assert len(hidden["params"]) + len(embeddings["params"]) + len(no_decay["params"]) == len(parameters)
    assert {id(p) for p in embeddings["params"]} == {id(model.token_embedding.weight), id(model.position_embedding.weight)}
    assert len(hidden["params"]) == 2 * 4  # per block: qkv, attention projection, MLP up and down
    assert any(p is model.blocks[0].norm1.weight for p in no_decay["params"])
    assert any(p is model.blocks[0].attention.q_norm.weight for p in no_decay["params"])
    optimizer = torch.optim.AdamW(weight_decay_groups(model), weight_decay=0.1)
    assert [group["weight_decay"] for group in optimizer.param_groups] == [0.1, 0.1, 0.0]


def test_weight_decay_groups_skip_frozen_parameters():
    model = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=1, n_head=2, n_embd=16))
    model.token_embedding.weight.requires_grad_(False)
    groups = weight_decay_groups(model)
    assert all(p is not model.token_embedding.weight for group in groups for p in group["params"])


def test_muon_updates_the_hidden_matrices_exactly_as_torch_muon(monkeypatch):
    monkeypatch.setattr(optim, "cpu_prefers_bf16", lambda probe: True)  # Newton-Schulz in bf16, as torch.optim.Muon
    monkeypatch.setattr(optim, "matmul_probe", lambda device: {})
    torch.manual_seed(0)
    ours, reference = torch.randn(64, 32, requires_grad=True), None
    reference = ours.detach().clone().requires_grad_(True)
    optimizer = MuonAdamW([{"params": [ours], "name": "hidden_matrices"}], muon_lr=0.02, weight_decay=0.1, muon_momentum=0.95)
    torch_muon = torch.optim.Muon([reference], lr=0.02, weight_decay=0.1, momentum=0.95)
    for _ in range(3):
        gradient = torch.randn(64, 32)
        ours.grad, reference.grad = gradient.clone(), gradient.clone()
        optimizer.step()
        torch_muon.step()
    assert torch.equal(ours, reference)


def test_muon_adamw_updates_every_other_parameter_exactly_as_torch_adamw():
    torch.manual_seed(0)
    ours = [torch.randn(10, 5, requires_grad=True), torch.randn(5, requires_grad=True)]
    reference = [p.detach().clone().requires_grad_(True) for p in ours]
    optimizer = MuonAdamW(
        [{"params": ours[:1], "name": "embeddings"}, {"params": ours[1:], "weight_decay": 0.0}], lr=0.01, weight_decay=0.1
    )
    torch_adamw = torch.optim.AdamW(
        [{"params": reference[:1]}, {"params": reference[1:], "weight_decay": 0.0}], lr=0.01, weight_decay=0.1, betas=(0.9, 0.95)
    )
    for _ in range(3):
        for a, b in zip(ours, reference, strict=True):
            gradient = torch.randn_like(a)
            a.grad, b.grad = gradient.clone(), gradient.clone()
        optimizer.step()
        torch_adamw.step()
    assert all(torch.equal(a, b) for a, b in zip(ours, reference, strict=True))


def test_muon_adamw_without_muon_is_adamw_for_every_parameter():
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=1, n_head=2, n_embd=16))
    reference = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=1, n_head=2, n_embd=16))
    reference.load_state_dict(model.state_dict())
    optimizer = MuonAdamW(weight_decay_groups(model), lr=0.01, weight_decay=0.1, muon_lr=None)
    assert [group["lr"] for group in optimizer.param_groups] == [0.01, 0.01, 0.01]
    torch_adamw = torch.optim.AdamW(weight_decay_groups(reference), lr=0.01, weight_decay=0.1, betas=(0.9, 0.95))
    ids = torch.randint(0, 64, (2, 8))
    for _ in range(3):
        for net, opt in ((model, optimizer), (reference, torch_adamw)):
            net(ids, ids)[1].backward()
            opt.step()
            opt.zero_grad()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters(), strict=True))


def test_muon_adamw_trains_a_model_resumes_from_its_state_and_a_schedule_scales_both_rates():
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=2, n_head=2, n_embd=16))
    optimizer = MuonAdamW(weight_decay_groups(model), lr=0.01, muon_lr=0.05)
    assert [group["lr"] for group in optimizer.param_groups] == [0.05, 0.01, 0.01]
    schedule = warmup_cosine_schedule(optimizer, total_steps=10, warmup_steps=2)
    assert [group["lr"] for group in optimizer.param_groups] == [0.025, 0.005, 0.005]  # step 0 of a 2-step warmup: half
    ids = torch.randint(0, 64, (4, 8))
    losses = []
    for _ in range(8):
        loss = model(ids, ids)[1]
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        schedule.step()
    assert losses[-1] < losses[0] - 0.5
    restored = MuonAdamW(weight_decay_groups(model), lr=0.01, muon_lr=0.05)
    restored.load_state_dict(optimizer.state_dict())
    first_hidden = optimizer.param_groups[0]["params"][0]
    assert torch.equal(
        restored.state[restored.param_groups[0]["params"][0]]["momentum_buffer"], optimizer.state[first_hidden]["momentum_buffer"]
    )


def test_newton_schulz_makes_a_matrix_nearly_orthogonal():
    torch.manual_seed(0)
    for shape in ((32, 16), (16, 32)):
        matrix = newton_schulz(torch.randn(*shape), dtype=torch.float32)
        singular = torch.linalg.svdvals(matrix)
        assert matrix.shape == shape and matrix.dtype == torch.float32
        assert singular.min() > 0.6 and singular.max() < 1.25


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
