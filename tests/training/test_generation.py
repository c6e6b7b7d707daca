import functools

import pytest
import torch

from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.errors import ConfigError
from lmladder.model import ModelConfig, build_model
from lmladder.model.generation import generate_ids, generate_texts
from lmladder.model.model import beam_search, greedy_search
from lmladder.training.generation import build_generator, encode_pairs, finetune_generator
from lmladder.training.objectives import IGNORE_INDEX
from lmladder.training.optim import warmup_cosine_schedule

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta"]


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer([" ".join(WORDS) * 20, "def f(x): return x"], vocab_size=320)


def model_of(architecture: str, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    values = dict(vocab_size=320, max_positions=32, n_layer=1, n_head=2, n_embd=32, architecture=architecture)
    return build_model(ModelConfig(**{**values, **overrides}))


def test_a_prefix_lm_learns_from_the_target_only(tokenizer):
    model = model_of("decoder")
    [(inputs, labels)] = encode_pairs(model, tokenizer, ["alpha beta"], ["gamma"], max_target_tokens=4)
    source, target = tokenizer.encode("alpha beta").ids, tokenizer.encode("gamma").ids
    assert inputs == [*source, 0, *target]  # source, <|endoftext|>, target (the final <|endoftext|> is only a label)
    assert labels == [IGNORE_INDEX] * len(source) + [*target, 0]


def test_an_encoder_decoder_reads_the_source_and_writes_the_target_behind_a_start_token(tokenizer):
    model = model_of("encoder-decoder")
    [(source, decoder_inputs, labels)] = encode_pairs(model, tokenizer, ["alpha beta"], ["gamma"], max_target_tokens=4)
    target = tokenizer.encode("gamma").ids
    assert source == tokenizer.encode("alpha beta").ids and decoder_inputs == [0, *target] and labels == [*target, 0]


@pytest.mark.parametrize("architecture", ["decoder", "encoder-decoder"])
def test_long_sources_and_targets_are_cut_to_fit(tokenizer, architecture):
    model = model_of(architecture)
    long = " ".join(WORDS * 10)
    example = encode_pairs(model, tokenizer, [long], [long], max_target_tokens=6)[0]
    assert all(len(part) <= 32 for part in example)
    assert len([label for label in example[-1] if label != IGNORE_INDEX]) == 7  # 6 target tokens and the end


@pytest.mark.parametrize(("architecture", "value", "limit"), [("decoder", 31, 30), ("encoder-decoder", 0, 31), ("decoder", True, 30)])
def test_max_target_tokens_must_fit_the_model(tokenizer, architecture, value, limit):
    with pytest.raises(ConfigError, match=rf"max_target_tokens must be an integer in \[1, {limit}\] .* got {value!r}"):
        encode_pairs(model_of(architecture), tokenizer, ["a"], ["b"], max_target_tokens=value)


def test_build_generator_copies_the_pretrained_weights_or_starts_from_scratch_and_refuses_an_encoder():
    pretrained = model_of("encoder-decoder", seed=1)
    full = build_generator(pretrained, "full")
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), pretrained.state_dict().values(), strict=True))
    scratch = build_generator(pretrained, "scratch")
    assert not torch.equal(scratch.token_embedding.weight, pretrained.token_embedding.weight)
    with pytest.raises(ConfigError, match="task generation needs a model that writes text.*architecture is encoder"):
        build_generator(model_of("encoder"), "full")
    with pytest.raises(ConfigError, match=r"finetuning.mode must be one of \('full', 'scratch'\) for task generation, got 'frozen'"):
        build_generator(pretrained, "frozen")


@pytest.mark.slow  # trains two models to convergence (about 25 s)
@pytest.mark.parametrize("architecture", ["decoder", "encoder-decoder"])
def test_fine_tuning_learns_a_word_mapping_and_generation_writes_it(tokenizer, architecture):
    # Each word maps to the word at the mirrored place in the list: learnable in a few epochs by both.
    sources, targets = WORDS * 16, WORDS[::-1] * 16
    result = finetune_generator(
        model_of(architecture, n_layer=2),
        tokenizer,
        (sources, targets),
        (WORDS, WORDS[::-1]),
        optimizer=functools.partial(torch.optim.AdamW, lr=3e-3),
        lr_schedule=functools.partial(warmup_cosine_schedule, warmup_steps=5, min_lr_ratio=0.1),
        batch_size=8,
        max_epochs=12,
        patience=2,
        max_target_tokens=4,
        trainer={"accelerator": "cpu", "devices": 1, "precision": "32-true"},
    )
    losses = [row["val_loss"] for row in result.history]
    assert result.best_val_loss == pytest.approx(min(losses)) and min(losses) < 0.3, losses
    assert generate_texts(result.model, tokenizer, WORDS, max_new_tokens=4) == WORDS[::-1]
    assert generate_texts(result.model, tokenizer, WORDS, max_new_tokens=4, num_beams=3) == WORDS[::-1]


@pytest.mark.parametrize("architecture", ["decoder", "encoder-decoder"])
def test_generation_with_one_beam_is_greedy_and_stops_at_the_length_limit(tokenizer, architecture):
    model = model_of(architecture, seed=3).eval()
    for source in ("alpha beta", "def f(x): return x", ""):
        ids = generate_ids(model, tokenizer, source, max_new_tokens=5)
        assert len(ids) <= 5 and 0 not in ids
        assert generate_ids(model, tokenizer, source, max_new_tokens=5, num_beams=1) == ids
    logits = (lambda prefixes: model(prefixes)[0][:, -1]) if architecture == "decoder" else None
    if logits is not None:
        prefix = torch.tensor([[*tokenizer.encode("alpha").ids, 0]])
        assert (
            beam_search(logits, prefix, 0, 5, num_beams=1)
            == greedy_search(logits, prefix, 0, 5)
            == generate_ids(model, tokenizer, "alpha", 5)
        )
