"""A sequence classifier: a Transformer backbone plus a linear head on a pooled hidden state.

Texts are framed with the ``<|cls|>`` token where the pooling reads it: appended for a decoder
(its last position has attended to every token), prepended for an encoder (BERT's [CLS]). An
encoder-decoder reads the text with both stacks and classifies from its decoder's last state (BART).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from tokenizers import Tokenizer

from lmladder.errors import ConfigError
from lmladder.model.model import ModelConfig, build_model

POOLINGS = ("last", "first", "mean")


@dataclass(frozen=True)
class ClassifierConfig:
    labels: tuple[str, ...]
    pooling: str = "last"  # last non-pad token (decoder), first token or mean (encoder)
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if len(self.labels) < 2:
            raise ConfigError(f"a classifier needs at least 2 labels, got {list(self.labels)}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"finetuning.pooling must be one of {POOLINGS}, got {self.pooling!r}")

    def to_dict(self) -> dict:
        return {**asdict(self), "labels": list(self.labels)}


def default_pooling(architecture: str) -> str:
    """The last token where the states come out of a causal stack (decoder, encoder-decoder: BART's choice)."""
    return "first" if architecture == "encoder" else "last"


class SequenceClassifier(nn.Module):
    def __init__(self, config: ModelConfig, classifier: ClassifierConfig):
        super().__init__()
        self.config, self.classifier_config = config, classifier
        self.backbone = build_model(config)
        self.dropout = nn.Dropout(classifier.dropout)
        self.head = nn.Linear(config.n_embd, len(classifier.labels))
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits [B, classes] for right-padded ``ids`` [B, T] with ``attention_mask`` True on real tokens."""
        # A decoder needs no padding mask: with right padding, real tokens never attend to pads. An
        # encoder-decoder's encoder does (its decoder reads the text causally, as a decoder).
        mask = attention_mask if self.config.architecture != "decoder" else None
        hidden = self.backbone.hidden_states(ids, mask)
        pooling = self.classifier_config.pooling
        if pooling == "last":
            last = attention_mask.sum(dim=1) - 1
            pooled = hidden[torch.arange(len(ids), device=ids.device), last]
        elif pooling == "first":
            pooled = hidden[:, 0]
        else:
            weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)
        return self.head(self.dropout(pooled))


def encode_for_classification(tokenizer: Tokenizer, texts: Sequence[str], max_length: int, architecture: str) -> list[list[int]]:
    """Token ids framed with ``<|cls|>``, truncated so the frame fits ``max_length``."""
    cls_id = tokenizer.token_to_id("<|cls|>")
    encodings = tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)
    if architecture != "encoder":
        return [encoding.ids[: max_length - 1] + [cls_id] for encoding in encodings]
    return [[cls_id] + encoding.ids[: max_length - 1] for encoding in encodings]


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest sequence in the batch (dynamic padding); returns ids and mask."""
    length = max(len(sequence) for sequence in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.bool)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
        mask[row, : len(sequence)] = True
    return ids, mask


@torch.no_grad()
def predict_probabilities(model: SequenceClassifier, tokenizer: Tokenizer, texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
    """Class probabilities [N, classes] for raw texts, in batches, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    encoded = encode_for_classification(tokenizer, texts, model.config.max_positions, model.config.architecture)
    pad_id = tokenizer.token_to_id("<|pad|>")
    outputs = []
    for start in range(0, len(encoded), batch_size):
        ids, mask = pad_batch(encoded[start : start + batch_size], pad_id)
        outputs.append(model(ids.to(device), mask.to(device)).float().softmax(dim=-1).cpu())
    if not outputs:
        return torch.zeros((0, len(model.classifier_config.labels)))
    return torch.cat(outputs)
