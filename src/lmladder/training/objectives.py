"""Training objectives: next-token prediction (decoder), masked language modelling (encoder) and span
corruption (encoder-decoder)."""

from __future__ import annotations

import torch

from lmladder.errors import ConfigError
from lmladder.model.model import span_corruption_lengths

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


def _random_segmentation(total: int, parts: int, generator: torch.Generator | None) -> list[int]:
    """``total`` split into ``parts`` positive lengths, uniformly at random."""
    cuts = (torch.randperm(total - 1, generator=generator)[: parts - 1] + 1).sort().values.tolist()
    return [end - start for start, end in zip([0, *cuts], [*cuts, total], strict=True)]


def corrupt_spans(
    ids: torch.Tensor, sentinel_ids: list[int], end_id: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """T5's span corruption of windows ``ids`` [B, L]: 15% of each window's tokens, in spans of mean length
    3, each replaced by one sentinel in the encoder's input; the decoder's target is each sentinel followed
    by its span, then ``end_id``. Returns (encoder inputs [B, Le], decoder inputs [B, Ld], labels [B, Ld]);
    the decoder's inputs are its labels shifted right behind ``end_id`` (the start token).

    Every window gets the same counts (``span_corruption_lengths``), so batches stack without padding.
    """
    length = ids.shape[1]
    _, _, noise, spans = span_corruption_lengths(length)
    if spans > len(sentinel_ids):
        raise ConfigError(
            f"span corruption of {length}-token windows makes {spans} spans, more than the tokenizer's {len(sentinel_ids)} "
            "sentinels; lower pretraining.data.block_size"
        )
    encoder_rows, label_rows = [], []
    for row in ids.tolist():
        noise_lengths = _random_segmentation(noise, spans, generator)
        keep_lengths = _random_segmentation(length - noise, spans, generator)
        encoder, labels, position = [], [], 0
        for span, (keep, corrupt) in enumerate(zip(keep_lengths, noise_lengths, strict=True)):
            encoder += row[position : position + keep] + [sentinel_ids[span]]
            labels += [sentinel_ids[span]] + row[position + keep : position + keep + corrupt]
            position += keep + corrupt
        encoder_rows.append(encoder)
        label_rows.append(labels + [end_id])
    encoder_inputs = torch.tensor(encoder_rows, dtype=torch.long, device=ids.device)
    labels = torch.tensor(label_rows, dtype=torch.long, device=ids.device)
    decoder_inputs = torch.cat((torch.full_like(labels[:, :1], end_id), labels[:, :-1]), dim=1)
    return encoder_inputs, decoder_inputs, labels
