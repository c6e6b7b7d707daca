"""Writing text with a generator (``task: generation``): greedy or beam search for an encoder-decoder, and
for a decoder fine-tuned as a prefix LM (``source <|endoftext|> target <|endoftext|>``). Pure torch and
tokenizers: the served model imports this and nothing of training."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tokenizers import Tokenizer

from lmladder.corpus.tokenizer import special_token_id
from lmladder.errors import ConfigError
from lmladder.model.model import beam_search, greedy_search


def source_budget(model, max_target_tokens: int) -> int:
    """Source tokens that fit: all positions for an encoder-decoder's encoder; for a prefix LM, what the
    separator and ``max_target_tokens`` leave."""
    if model.config.architecture == "encoder-decoder":
        return model.config.max_positions
    return model.config.max_positions - 1 - max_target_tokens


def check_max_target_tokens(model, max_target_tokens: int) -> None:
    limit = model.config.max_positions - 1 if model.config.architecture == "encoder-decoder" else model.config.max_positions - 2
    if not isinstance(max_target_tokens, int) or isinstance(max_target_tokens, bool) or not 1 <= max_target_tokens <= limit:
        raise ConfigError(
            f"finetuning.generation.max_target_tokens must be an integer in [1, {limit}] for a model of "
            f"max_positions={model.config.max_positions} ({model.config.architecture}), got {max_target_tokens!r}"
        )


@torch.no_grad()
def generate_ids(
    model, tokenizer: Tokenizer, source: str, max_new_tokens: int, num_beams: int = 1, length_penalty: float = 1.0
) -> list[int]:
    """The token ids ``model`` writes for one source (greedy with one beam, else beam search)."""
    check_max_target_tokens(model, max_new_tokens)
    eot = special_token_id(tokenizer, "eot")
    device = next(model.parameters()).device
    source_ids = tokenizer.encode(source, add_special_tokens=False).ids[: source_budget(model, max_new_tokens)]
    if model.config.architecture == "encoder-decoder":
        idx = torch.tensor(source_ids or [eot], device=device)
        return model.generate(idx, eot, eot, max_new_tokens, num_beams, length_penalty)
    if model.config.architecture != "decoder":
        raise ConfigError("an encoder cannot generate text: use a decoder or an encoder-decoder")

    def next_logits(prefixes: torch.Tensor) -> torch.Tensor:
        return model(prefixes)[0][:, -1]

    prefix = torch.tensor([[*source_ids, eot]], device=device)
    if num_beams == 1:
        return greedy_search(next_logits, prefix, eot, max_new_tokens)
    return beam_search(next_logits, prefix, eot, max_new_tokens, num_beams, length_penalty)


def generate_texts(
    model, tokenizer: Tokenizer, sources: Sequence[str], max_new_tokens: int, num_beams: int = 1, length_penalty: float = 1.0
) -> list[str]:
    """The text ``model`` writes for each source (special tokens dropped from the output)."""
    model.eval()
    return [tokenizer.decode(generate_ids(model, tokenizer, s, max_new_tokens, num_beams, length_penalty)) for s in sources]
