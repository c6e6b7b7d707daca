import functools

import pytest
import torch
import torch.nn.functional as F

from lmladder.model import ModelConfig, Transformer
from lmladder.training.module import LanguageModelModule
from lmladder.training.optim import warmup_cosine_schedule

SPECIAL_IDS = {"eot": 0, "pad": 1, "cls": 2, "mask": 3}


def make_module(architecture: str) -> LanguageModelModule:
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=64, max_positions=16, n_layer=1, n_head=2, n_embd=16, architecture=architecture))
    return LanguageModelModule(
        model,
        functools.partial(torch.optim.AdamW, lr=1e-2, weight_decay=0.1),
        functools.partial(warmup_cosine_schedule, warmup_steps=4, min_lr_ratio=0.1),
        total_steps=100,
        bytes_per_token=2.0,
        special_ids=SPECIAL_IDS,
    )


def batch():
    tokens = torch.randint(4, 64, (4, 17), generator=torch.Generator().manual_seed(1))
    return tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()


def test_decoder_loss_is_next_token_cross_entropy():
    module = make_module("decoder")
    inputs, targets = batch()
    logits = module.model(inputs)[0]
    expected = F.cross_entropy(logits.reshape(-1, 64), targets.reshape(-1))
    torch.testing.assert_close(module._loss(inputs, targets), expected)


def test_encoder_loss_uses_the_generator_for_its_masks():
    module = make_module("encoder")
    inputs, targets = batch()
    first = module._loss(inputs, targets, torch.Generator().manual_seed(0))
    again = module._loss(inputs, targets, torch.Generator().manual_seed(0))
    other = module._loss(inputs, targets, torch.Generator().manual_seed(1))
    assert torch.isfinite(first)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_configure_optimizers_groups_and_schedule():
    module = make_module("decoder")
    configured = module.configure_optimizers()
    optimizer = configured["optimizer"]
    assert isinstance(optimizer, torch.optim.AdamW)
    assert [group["weight_decay"] for group in optimizer.param_groups] == [0.1, 0.1, 0.0]
    assert configured["lr_scheduler"]["interval"] == "step"
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-2 / 4)
    optimizer.step()
    configured["lr_scheduler"]["scheduler"].step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(2e-2 / 4)
