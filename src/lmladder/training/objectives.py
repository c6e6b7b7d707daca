"""Training objectives: next-token prediction (decoder) and masked language modelling (encoder)."""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


def mask_tokens(
    ids: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    special_ids: list[int],
    probability: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: pick ``probability`` of the non-special tokens as targets; of those, 80% become
    the mask token, 10% a random token, 10% stay. Returns (inputs, labels with -100 elsewhere)."""
    device = ids.device
    special = torch.isin(ids, torch.tensor(special_ids, device=device))
    draw = lambda: torch.rand(ids.shape, generator=generator, device=device)  # noqa: E731
    selected = (draw() < probability) & ~special
    if not selected.any():  # a loss over zero targets is NaN: always predict at least one token
        candidates = (~special).flatten().nonzero()
        if len(candidates):
            selected.view(-1)[candidates[0]] = True
    labels = torch.where(selected, ids, torch.full_like(ids, IGNORE_INDEX))
    roll = draw()
    to_mask = selected & (roll < 0.8)
    to_random = selected & (roll >= 0.8) & (roll < 0.9)
    first_regular = max(special_ids) + 1
    random_tokens = torch.randint(first_regular, vocab_size, ids.shape, generator=generator, device=device)
    inputs = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    inputs = torch.where(to_random, random_tokens, inputs)
    return inputs, labels
