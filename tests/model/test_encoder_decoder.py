import itertools
import math

import pytest
import torch

from lmladder.errors import ConfigError
from lmladder.model import EncoderDecoder, ModelConfig, Transformer, build_model, flops_per_token, parameter_counts
from lmladder.model.model import beam_search, encoder_decoder_flops, greedy_search, span_corruption_lengths

VOCAB = 64


def config(**overrides) -> ModelConfig:
    values = dict(vocab_size=VOCAB, max_positions=16, n_layer=2, n_head=2, n_embd=16, architecture="encoder-decoder")
    return ModelConfig(**{**values, **overrides})


def build(**overrides) -> EncoderDecoder:
    torch.manual_seed(0)
    return EncoderDecoder(config(**overrides)).eval()


def ids(batch: int, length: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(4, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


OPTIONS = list(
    itertools.product(["learned", "rotary"], ["layernorm", "rmsnorm"], ["gelu", "swiglu", "relu2"], [True, False], [True, False])
)


@pytest.mark.parametrize(("positional", "norm", "mlp", "bias", "tie_embeddings"), OPTIONS)
def test_every_option_combination_trains_and_counts_parameters_exactly(positional, norm, mlp, bias, tie_embeddings):
    qk_norm = bias  # with and without, without doubling the product
    cfg = config(
        max_positions=8,
        n_layer=1,
        n_embd=8,
        positional=positional,
        norm=norm,
        mlp=mlp,
        bias=bias,
        tie_embeddings=tie_embeddings,
        qk_norm=qk_norm,
    )
    torch.manual_seed(0)
    model = EncoderDecoder(cfg)
    logits, loss = model(ids(2, 8), ids(2, 5, seed=2), ids(2, 5, seed=3))
    loss.backward()
    assert logits.shape == (2, 5, VOCAB)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    counts = parameter_counts(cfg)
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["total"] == counts["non_embedding"] + counts["embedding"]


def test_parameter_counts_by_hand():
    # d=16, hidden 64, LayerNorm with bias, learned positions, tied: per encoder block 2 norms + attention + MLP;
    # per decoder block one more norm and a cross-attention (q, kv, proj) of the same size as self-attention.
    d, hidden = 16, 64
    norm, attention, mlp = 2 * d, 4 * d * d + 4 * d, 2 * d * hidden + hidden + d
    encoder = 2 * (2 * norm + attention + mlp) + norm
    decoder = 2 * (3 * norm + 2 * attention + mlp) + norm
    assert parameter_counts(config()) == {
        "total": encoder + decoder + VOCAB * d + 16 * d,
        "non_embedding": encoder + decoder,
        "embedding": VOCAB * d + 16 * d,
    }
    assert (encoder, decoder) == (6_592, 8_832)


def test_flops_by_hand():
    cfg = config()
    encoder, decoder = 6_592, 8_832  # the two stacks' non-embedding parameters (test above)
    assert encoder + decoder == parameter_counts(cfg)["non_embedding"]
    key_value = 2 * (2 * 16 * 16 + 2 * 16)  # the cross-attentions' k/v projections read the 10 source tokens
    expected = 6 * ((encoder + key_value) * 10 + (decoder - key_value + VOCAB * 16) * 4) + 12 * 2 * 16 * (10 * 10 + 4 * 4 + 4 * 10)
    assert encoder_decoder_flops(cfg, 10, 4) == expected
    # Per token of a span-corrupted window: the pair's FLOPs over the window's length.
    enc, dec = span_corruption_lengths(16)[:2]
    assert flops_per_token(cfg, 16) == round(encoder_decoder_flops(cfg, enc, dec) / 16)


@pytest.mark.parametrize("length", [2, 8, 64, 128, 512])
def test_span_corruption_lengths(length):
    encoder, decoder, noise, spans = span_corruption_lengths(length)
    assert noise == min(max(1, round(0.15 * length)), length - 1)
    assert 1 <= spans <= min(noise, length - noise)
    assert encoder == length - noise + spans and decoder == noise + spans + 1
    assert span_corruption_lengths(128) == (115, 26, 19, 6)


def test_decoder_is_causal_and_the_encoder_never_sees_the_target():
    model = build()
    source, target = ids(1, 12), ids(1, 8, seed=2)
    changed = target.clone()
    changed[0, 5] = (changed[0, 5] + 1) % VOCAB
    before, after = model(source, target)[0], model(source, changed)[0]
    assert torch.allclose(before[:, :5], after[:, :5], atol=1e-6)  # positions before 5 never read token 5
    assert not torch.allclose(before[:, 5:], after[:, 5:])
    # The gradient of an early decoder position's logits reaches no later target token, and the encoder's
    # states do not depend on the target at all.
    embedded = model.token_embedding(target).detach().requires_grad_(True)
    memory = model.encode(source)
    x = embedded + model.position_embedding(torch.arange(8))
    for block in model.decoder_blocks:
        x = block(x, memory=memory)[0]
    model.lm_head(model.final_norm(x))[0, 3].sum().backward()
    assert embedded.grad[0, 4:].abs().max() == 0 and embedded.grad[0, :4].abs().max() > 0
    assert torch.equal(model.encode(source), memory)


def test_the_encoder_is_bidirectional_and_ignores_padded_source_keys():
    model = build(positional="rotary")
    source = ids(1, 10)
    changed = source.clone()
    changed[0, 9] = (changed[0, 9] + 1) % VOCAB
    assert not torch.allclose(model.encode(source)[:, 0], model.encode(changed)[:, 0])  # the first token sees the last
    padded = torch.cat((source, torch.ones(1, 4, dtype=torch.long)), dim=1)
    mask = torch.tensor([[True] * 10 + [False] * 4])
    target = ids(1, 6, seed=3)
    assert torch.allclose(model(source, target)[0], model(padded, target, attention_mask=mask)[0], atol=1e-5)


def test_build_model_picks_the_class_and_each_class_refuses_the_other_architecture():
    assert isinstance(build_model(config()), EncoderDecoder)
    assert isinstance(build_model(config(architecture="decoder")), Transformer)
    with pytest.raises(ConfigError, match="encoder-decoder is built by EncoderDecoder"):
        Transformer(config())
    with pytest.raises(ConfigError, match="EncoderDecoder needs architecture encoder-decoder, got 'decoder'"):
        EncoderDecoder(config(architecture="decoder"))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("max_new_tokens", [0, 1, 5, 15])
def test_beam_search_with_one_beam_equals_greedy(seed, max_new_tokens):
    torch.manual_seed(seed)
    model = EncoderDecoder(config(n_layer=1)).eval()
    memory = model.encode(ids(1, 9, seed=seed))

    def next_logits(prefixes):
        return model.decode(prefixes, memory.expand(len(prefixes), -1, -1))[:, -1]

    start = torch.tensor([[0]])
    for end_id in (0, 7):  # 7 is likely to come: the search stops on it
        greedy = greedy_search(next_logits, start, end_id, max_new_tokens)
        assert beam_search(next_logits, start, end_id, max_new_tokens, num_beams=1) == greedy
        assert len(greedy) <= max_new_tokens and end_id not in greedy


def test_beam_search_finds_the_likelier_sequence_greedy_misses():
    # Token 1 is likelier first (0.6 vs 0.4), but after it the end comes with 0.4, after 2 with 1.0:
    # greedy writes 1 then the end ([1], probability 0.24), beam search [2] (0.4).
    table = {(): [0.0, 0.6, 0.4], (1,): [0.4, 0.3, 0.3], (2,): [1.0, 0.0, 0.0], (1, 1): [1.0, 0, 0], (1, 2): [1.0, 0, 0]}

    def next_logits(prefixes):
        return torch.tensor([table[tuple(row[1:])] for row in prefixes.tolist()]).clamp(min=1e-9).log()

    start = torch.tensor([[9]])
    assert greedy_search(next_logits, start, 0, 3) == [1]
    assert beam_search(next_logits, start, 0, 3, num_beams=2, length_penalty=0.0) == [2]


def test_generate_respects_the_length_limit_and_is_deterministic():
    model = build()
    source = ids(1, 7)[0]
    first = model.generate(source, start_id=0, end_id=1, max_new_tokens=6, num_beams=3)
    assert first == model.generate(source, start_id=0, end_id=1, max_new_tokens=6, num_beams=3)
    assert len(first) <= 6 and all(isinstance(token, int) for token in first)
    assert model.generate(source, 0, 1, max_new_tokens=4) == greedy_search(
        lambda p: model.decode(p, model.encode(source[None]).expand(len(p), -1, -1))[:, -1], torch.tensor([[0]]), 1, 4
    )


@pytest.mark.parametrize(
    ("num_beams", "max_new_tokens", "match"), [(0, 5, "num_beams must be a positive integer, got 0"), (2, -1, "max_new_tokens must be")]
)
def test_bad_search_arguments(num_beams, max_new_tokens, match):
    with pytest.raises(ConfigError, match=match):
        beam_search(lambda p: torch.zeros(len(p), 3), torch.tensor([[0]]), 0, max_new_tokens, num_beams)


def test_loss_is_the_mean_over_non_ignored_targets():
    model = build()
    source, decoder_inputs, labels = ids(2, 8), ids(2, 6, seed=2), ids(2, 6, seed=3)
    labels[:, 4:] = -100
    logits, loss = model(source, decoder_inputs, labels)
    manual = torch.nn.functional.cross_entropy(logits[:, :4].reshape(-1, VOCAB), labels[:, :4].reshape(-1))
    assert math.isclose(float(loss.detach()), float(manual.detach()), rel_tol=1e-6)
