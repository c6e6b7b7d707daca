import itertools
import math

import pytest
import torch

from lmladder.errors import ConfigError
from lmladder.model import PRESETS, ModelConfig, Transformer, flops_per_token, model_config, parameter_counts

VOCAB = 64


def tiny_config(**overrides) -> ModelConfig:
    values = dict(vocab_size=VOCAB, max_positions=16, n_layer=2, n_head=2, n_embd=16)
    return ModelConfig(**{**values, **overrides})


def build(**overrides) -> Transformer:
    torch.manual_seed(0)
    return Transformer(tiny_config(**overrides)).eval()


def random_ids(batch: int, length: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(4, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("architecture", ["decoder", "encoder"])
def test_output_shapes(architecture):
    model = build(architecture=architecture)
    ids = random_ids(3, 10)
    logits, loss = model(ids)
    assert logits.shape == (3, 10, VOCAB)
    assert loss is None
    assert model.hidden_states(ids).shape == (3, 10, 16)
    _, loss = model(ids, ids)
    assert loss.shape == ()
    assert torch.isfinite(loss)


def test_loss_ignores_minus_100_targets():
    model = build()
    ids = random_ids(2, 8)
    targets = ids.clone()
    targets[:, :4] = -100
    logits, loss = model(ids, targets)
    expected = torch.nn.functional.cross_entropy(logits[:, 4:].reshape(-1, VOCAB), ids[:, 4:].reshape(-1))
    torch.testing.assert_close(loss, expected)


def test_loss_accepts_shifted_slices_of_one_tensor():
    model = build()
    tokens = random_ids(2, 9)
    _, loss = model(tokens[:, :-1], tokens[:, 1:])
    _, expected = model(tokens[:, :-1], tokens[:, 1:].contiguous())
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize("positional", ["learned", "rotary"])
def test_decoder_is_causal(positional):
    model = build(architecture="decoder", positional=positional)
    ids = random_ids(2, 12)
    changed = ids.clone()
    changed[:, 6] = (ids[:, 6] + 1 - 4) % (VOCAB - 4) + 4
    with torch.no_grad():
        before, after = model(ids)[0], model(changed)[0]
    torch.testing.assert_close(after[:, :6], before[:, :6], atol=1e-5, rtol=0)
    assert not torch.allclose(after[:, 6:], before[:, 6:], atol=1e-5)


@pytest.mark.parametrize("positional", ["learned", "rotary"])
def test_encoder_is_bidirectional(positional):
    model = build(architecture="encoder", positional=positional)
    ids = random_ids(2, 12)
    changed = ids.clone()
    changed[:, 6] = (ids[:, 6] + 1 - 4) % (VOCAB - 4) + 4
    with torch.no_grad():
        before, after = model(ids)[0], model(changed)[0]
    differs = (after - before).abs().amax(dim=-1) > 1e-5
    assert differs.all()


OPTIONS = list(
    itertools.product(
        ["decoder", "encoder"], ["learned", "rotary"], ["layernorm", "rmsnorm"], ["gelu", "swiglu", "relu2"], [True, False], [True, False]
    )
)


@pytest.mark.parametrize(("architecture", "positional", "norm", "mlp", "bias", "tie_embeddings"), OPTIONS)
def test_every_option_combination_runs_and_counts_parameters_exactly(architecture, positional, norm, mlp, bias, tie_embeddings):
    qk_norm = zero_init_projections = bias  # each with and without, without doubling the product
    config = ModelConfig(
        vocab_size=VOCAB,
        max_positions=8,
        n_layer=1,
        n_head=2,
        n_embd=8,
        architecture=architecture,
        positional=positional,
        norm=norm,
        mlp=mlp,
        bias=bias,
        tie_embeddings=tie_embeddings,
        qk_norm=qk_norm,
        zero_init_projections=zero_init_projections,
    )
    torch.manual_seed(0)
    model = Transformer(config)
    ids = random_ids(2, 8)
    logits, loss = model(ids, ids)
    loss.backward()
    assert logits.shape == (2, 8, VOCAB)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    counts = parameter_counts(config)
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["total"] == counts["non_embedding"] + counts["embedding"]


def test_parameter_counts_by_hand():
    config = model_config("nano", vocab_size=100, max_positions=32)
    d, hidden = 64, 256
    norm = 2 * d
    per_layer = 2 * norm + (4 * d * d + 4 * d) + (2 * d * hidden + hidden + d)
    assert per_layer == 49984
    assert parameter_counts(config) == {
        "total": 100096 + 100 * 64 + 32 * 64,
        "non_embedding": 100096,
        "embedding": 100 * 64 + 32 * 64,
    }


def test_relu2_squares_a_relu_and_qk_norm_normalises_each_head():
    torch.manual_seed(0)
    config = tiny_config(mlp="relu2", qk_norm=True)
    mlp = Transformer(config).blocks[0].mlp
    x = torch.randn(2, 3, config.n_embd)
    assert torch.allclose(mlp(x), mlp.down(torch.relu(mlp.up(x)) ** 2))
    assert (
        parameter_counts(config)["non_embedding"] - parameter_counts(tiny_config(mlp="relu2"))["non_embedding"]
        == 2 * config.n_layer * config.head_size
    )
    attention = Transformer(config).blocks[0].attention
    seen = []
    attention.q_norm.register_forward_hook(lambda module, args, output: seen.append(output))
    attention(torch.randn(2, 3, config.n_embd))
    rms = seen[0].pow(2).mean(-1).sqrt()  # per head and position: 1 (unit gains at init)
    assert seen[0].shape == (2, config.n_head, 3, config.head_size) and torch.allclose(rms, torch.ones_like(rms), atol=1e-3)


def test_zero_initialised_projections_make_every_block_start_as_the_identity():
    torch.manual_seed(0)
    model = Transformer(tiny_config(zero_init_projections=True))
    for block in model.blocks:
        assert not block.attention.proj.weight.any() and not block.mlp.down.weight.any()
        x = torch.randn(2, 3, model.config.n_embd)
        assert torch.equal(block(x)[0], x)
    assert Transformer(tiny_config()).blocks[0].mlp.down.weight.std() > 0


def test_swiglu_uses_two_thirds_hidden_width():
    config = tiny_config(mlp="swiglu")
    assert config.mlp_hidden == 2 * 64 // 3
    model = Transformer(config)
    assert model.blocks[0].mlp.gate.weight.shape == (42, 16)
    assert model.blocks[0].mlp.down.weight.shape == (16, 42)


def test_tied_embeddings_share_storage():
    tied = build(tie_embeddings=True)
    assert tied.lm_head.weight is tied.token_embedding.weight
    untied = build(tie_embeddings=False)
    assert untied.lm_head.weight is not untied.token_embedding.weight
    assert untied.lm_head.weight.data_ptr() != untied.token_embedding.weight.data_ptr()


def test_presets_span_nano_to_gpt2_small():
    non_embedding = {name: parameter_counts(model_config(name, vocab_size=VOCAB))["non_embedding"] for name in PRESETS}
    sizes = list(non_embedding.values())
    assert len(PRESETS) >= 6
    assert 50_000 <= sizes[0] <= 200_000
    assert list(PRESETS)[-1] == "gpt2-small"
    assert PRESETS["gpt2-small"] == (12, 12, 768)
    assert 80e6 <= non_embedding["gpt2-small"] <= 90e6
    for smaller, larger in itertools.pairwise(sizes):
        assert 2 <= larger / smaller <= 4


def test_model_config_overrides_preset_fields():
    config = model_config("tiny", vocab_size=300, max_positions=64, norm="rmsnorm")
    assert (config.n_layer, config.n_head, config.n_embd) == (4, 4, 128)
    assert (config.vocab_size, config.max_positions, config.norm) == (300, 64, "rmsnorm")


def test_flops_per_token_by_hand():
    config = model_config("nano", vocab_size=100, max_positions=32)
    non_embedding, vocab, d, layers, length = 100096, 100, 64, 2, 32
    expected = 6 * (non_embedding + vocab * d) + 12 * layers * d * length
    assert expected == 688128
    assert flops_per_token(config, 32) == expected
    assert flops_per_token(ModelConfig(**{**config.to_dict(), "tie_embeddings": False}), 32) == expected


def test_gpt2_residual_projection_init():
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=VOCAB, max_positions=8, n_layer=8, n_head=4, n_embd=256))
    residual_std = 0.02 / math.sqrt(2 * 8)
    assert model.blocks[0].attention.proj.weight.std().item() == pytest.approx(residual_std, rel=0.2)
    assert model.blocks[0].mlp.down.weight.std().item() == pytest.approx(residual_std, rel=0.2)
    assert model.blocks[0].attention.qkv.weight.std().item() == pytest.approx(0.02, rel=0.2)
    assert model.token_embedding.weight.std().item() == pytest.approx(0.02, rel=0.2)
    assert torch.count_nonzero(model.blocks[0].attention.proj.bias) == 0


def padded_and_alone(model, length=6, pad=3):
    ids = random_ids(2, length)
    padded = torch.cat([ids, torch.ones(2, pad, dtype=torch.long)], dim=1)
    mask = torch.tensor([[True] * length + [False] * pad] * 2)
    with torch.no_grad():
        return model(ids)[0], model(padded, attention_mask=mask)[0][:, :length], model(padded)[0][:, :length]


@pytest.mark.parametrize("positional", ["learned", "rotary"])
def test_encoder_ignores_padded_keys(positional):
    alone, masked, unmasked = padded_and_alone(build(architecture="encoder", positional=positional))
    torch.testing.assert_close(masked, alone, atol=1e-5, rtol=0)
    assert not torch.allclose(unmasked, alone, atol=1e-5)


@pytest.mark.parametrize("positional", ["learned", "rotary"])
def test_decoder_with_right_padding_matches_unpadded(positional):
    alone, masked, _ = padded_and_alone(build(architecture="decoder", positional=positional))
    torch.testing.assert_close(masked, alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("architecture", ["decoder", "encoder"])
def test_returned_attention_weights(architecture):
    model = build(architecture=architecture, n_layer=3)
    ids = random_ids(2, 7)
    with torch.no_grad():
        hidden, attention = model.hidden_states(ids, return_attention=True)
        plain = model.hidden_states(ids)
    torch.testing.assert_close(hidden, plain, atol=1e-5, rtol=0)
    assert len(attention) == 3
    above_diagonal = torch.ones(7, 7, dtype=torch.bool).triu(1)
    for weights in attention:
        assert weights.shape == (2, 2, 7, 7)
        torch.testing.assert_close(weights.sum(dim=-1), torch.ones(2, 2, 7))
        if architecture == "decoder":
            assert torch.all(weights[..., above_diagonal] == 0)
        else:
            assert torch.all(weights[..., above_diagonal] > 0)


def test_attention_weights_respect_padding_mask():
    model = build(architecture="encoder")
    ids = random_ids(1, 6)
    mask = torch.tensor([[True] * 4 + [False] * 2])
    with torch.no_grad():
        _, attention = model.hidden_states(ids, attention_mask=mask, return_attention=True)
    for weights in attention:
        assert torch.all(weights[..., 4:] == 0)
        torch.testing.assert_close(weights.sum(dim=-1), torch.ones(1, 2, 6))


def test_generate_appends_requested_tokens():
    model = build()
    prompt = random_ids(2, 5)
    out = model.generate(prompt, max_new_tokens=7, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 12)
    assert torch.equal(out[:, :5], prompt)
    assert out.min() >= 0 and out.max() < VOCAB


def test_generate_past_max_positions_keeps_the_last_window():
    model = build()
    out = model.generate(random_ids(1, 14), max_new_tokens=6, temperature=0)
    assert out.shape == (1, 20)


def test_greedy_generation_is_deterministic_and_equals_top_k_1():
    model = build()
    prompt = random_ids(2, 4)
    greedy = model.generate(prompt, max_new_tokens=6, temperature=0)
    assert torch.equal(greedy, model.generate(prompt, max_new_tokens=6, temperature=0))
    top_1 = model.generate(prompt, max_new_tokens=6, temperature=1.0, top_k=1, generator=torch.Generator().manual_seed(3))
    assert torch.equal(top_1, greedy)
    with torch.no_grad():
        first = model(prompt)[0][:, -1].argmax(dim=-1)
    assert torch.equal(greedy[:, 4], first)


def test_generate_refuses_encoder():
    model = build(architecture="encoder")
    with pytest.raises(ConfigError, match="decoder"):
        model.generate(random_ids(1, 4), max_new_tokens=2)


def test_sequence_longer_than_max_positions():
    model = build()
    with pytest.raises(ValueError, match="max_positions=16"):
        model(random_ids(1, 17))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"n_embd": 30, "n_head": 4}, "n_head"),
        ({"architecture": "gpt"}, "architecture"),
        ({"positional": "alibi"}, "positional"),
        ({"norm": "batchnorm"}, "norm"),
        ({"mlp": "relu"}, "mlp"),
        ({"vocab_size": 0}, "vocab_size"),
        ({"max_positions": -1}, "max_positions"),
        ({"n_layer": 0}, "n_layer"),
        ({"n_head": 0}, "n_head"),
        ({"n_embd": -16}, "n_embd"),
        ({"n_layer": 2.0}, "n_layer"),
        ({"n_layer": True}, "n_layer"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"mlp_ratio": 0}, "mlp_ratio"),
        ({"positional": "rotary", "n_embd": 12, "n_head": 4}, "positional=rotary.*even head size"),
    ],
)
def test_bad_config_values(overrides, field):
    with pytest.raises(ConfigError, match=field):
        tiny_config(**overrides)


def test_rotary_with_even_head_size_is_accepted():
    assert tiny_config(positional="rotary", n_embd=16, n_head=4).head_size == 4


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ConfigError, match="'huge'") as error:
        model_config("huge")
    for name in PRESETS:
        assert name in str(error.value)


def test_from_dict_rejects_unknown_key():
    with pytest.raises(ConfigError, match="n_layers"):
        ModelConfig.from_dict({"n_layers": 2})


def test_config_dict_round_trip():
    config = tiny_config(architecture="encoder", positional="rotary", dropout=0.1)
    assert ModelConfig.from_dict(config.to_dict()) == config
