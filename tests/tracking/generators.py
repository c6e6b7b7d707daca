"""A tiny sequence-to-sequence generator to register in the tracking store, and what it should write."""

from __future__ import annotations

import mlflow
import torch

from lmladder.corpus.tokenizer import train_bpe_tokenizer
from lmladder.model import ModelConfig, build_model
from lmladder.model.directory import ModelBundle
from lmladder.model.generation import generate_texts
from lmladder.tracking.registry import log_and_register_generator
from tests.tracking.conftest import MAX_TEXT_CHARS

MAX_NEW_TOKENS = 8


def make_generator(architecture: str = "encoder-decoder", seed: int = 3, num_beams: int = 1, generation: dict | None = None) -> ModelBundle:
    """A tiny untrained generator whose (gibberish) output differs from source to source."""
    tokenizer = train_bpe_tokenizer(["some text " * 50, "def f(x): return x"], vocab_size=300)
    torch.manual_seed(seed)
    model = build_model(ModelConfig(vocab_size=300, max_positions=64, n_layer=1, n_head=2, n_embd=32, architecture=architecture))
    with torch.no_grad():  # at the initial scale, every source gets the empty text
        for parameter in model.parameters():
            parameter.normal_(0.0, 1.0)
    if generation is None:
        generation = {"max_target_tokens": MAX_NEW_TOKENS, "num_beams": num_beams}
    return ModelBundle(model.eval(), tokenizer, {"task": "generation", "generation": generation})


def register_generator(experiment_id, bundle, name="gen", alias="candidate", tags=None, max_text_chars=MAX_TEXT_CHARS, **settings) -> dict:
    with mlflow.start_run(experiment_id=experiment_id):
        return log_and_register_generator(
            bundle, name, alias, ["def f(x): return x", ""], tags=tags, max_text_chars=max_text_chars, **settings
        )


def expected(bundle: ModelBundle, texts: list[str], max_new_tokens: int = MAX_NEW_TOKENS, num_beams: int = 1) -> list[str]:
    return generate_texts(bundle.model, bundle.tokenizer, texts, max_new_tokens, num_beams)
