"""Held-out loss of a pretrained language model, for perplexity and bits per byte."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader

from lmladder.corpus.tokenizer import sentinel_ids
from lmladder.model import Transformer
from lmladder.training.data import FixedWindows
from lmladder.training.objectives import corrupt_spans, mask_tokens


@torch.no_grad()
def mean_token_loss(
    model: Transformer,
    tokens: np.ndarray,
    block_size: int,
    batch_size: int = 16,
    max_windows: int | None = None,
    special_ids: dict[str, int] | None = None,
    seed: int = 0,
) -> float:
    """Mean cross-entropy (nats per predicted token) over fixed windows of ``tokens``.

    A decoder predicts every next token; an encoder predicts 15% masked tokens with masks fixed
    by ``seed`` (a pseudo-likelihood, comparable between encoders only); an encoder-decoder writes the
    corrupted spans (``corrupt_spans``, spans fixed by ``seed``; comparable between encoder-decoders only).
    """
    model.eval()
    device = next(model.parameters()).device
    windows = DataLoader(FixedWindows(tokens, block_size, max_windows), batch_size=batch_size)
    generator = torch.Generator().manual_seed(seed)
    total_loss, total_targets = 0.0, 0
    for inputs, targets in windows:
        if model.config.architecture == "encoder-decoder":
            encoder, decoder, targets = corrupt_spans(inputs, sentinel_ids(special_ids), special_ids["eot"], generator)
            _, loss = model(encoder.to(device), decoder.to(device), targets.to(device))
            total_loss += float(loss) * targets.numel()
            total_targets += targets.numel()
            continue
        if model.config.architecture == "encoder":
            inputs, targets = mask_tokens(
                inputs, special_ids["mask"], model.config.vocab_size, sorted(special_ids.values()), generator=generator
            )
        _, loss = model(inputs.to(device), targets.to(device))
        count = int((targets != -100).sum())
        total_loss += float(loss) * count
        total_targets += count
    return total_loss / total_targets
