"""Byte-level BPE tokenizer training (GPT-2 style): any UTF-8 text encodes, nothing is unknown."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from lmladder.errors import ConfigError

# Fixed ids 0..3: downstream code (padding, classification pooling, masked LM) relies on them.
SPECIAL_TOKENS = {"eot": "<|endoftext|>", "pad": "<|pad|>", "cls": "<|cls|>", "mask": "<|mask|>"}
# Span corruption's sentinels (T5), ids 4..35: each marks one corrupted span in the encoder's input and
# introduces that span in the decoder's target. 32 spans cover windows of up to ~650 tokens.
SENTINEL_TOKENS = tuple(f"<|sentinel_{i}|>" for i in range(32))
BYTE_ALPHABET_SIZE = 256
MIN_VOCAB_SIZE = BYTE_ALPHABET_SIZE + len(SPECIAL_TOKENS) + len(SENTINEL_TOKENS)


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
    """Train a byte-level BPE tokenizer with the special tokens first in its vocabulary."""
    if not isinstance(vocab_size, int) or vocab_size < MIN_VOCAB_SIZE:
        raise ConfigError(
            f"tokenizer.vocab_size={vocab_size!r} is too small: a byte-level tokenizer needs "
            f"{BYTE_ALPHABET_SIZE} byte tokens plus {len(SPECIAL_TOKENS)} special tokens "
            f"({', '.join(SPECIAL_TOKENS.values())}) and {len(SENTINEL_TOKENS)} span sentinels, so at least {MIN_VOCAB_SIZE}"
        )
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[*SPECIAL_TOKENS.values(), *SENTINEL_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def special_token_id(tokenizer: Tokenizer, role: str) -> int:
    token_id = tokenizer.token_to_id(SPECIAL_TOKENS[role])
    if token_id is None:
        raise ConfigError(f"the tokenizer has no {SPECIAL_TOKENS[role]!r} token; retrain it with lmladder")
    return token_id


def special_token_ids(tokenizer: Tokenizer) -> dict[str, int]:
    """Ids of the special tokens by role, and of the span sentinels (``sentinel_0`` ...) when the tokenizer
    has them (tokenizers trained before they existed do not)."""
    ids = {role: special_token_id(tokenizer, role) for role in SPECIAL_TOKENS}
    for index, token in enumerate(SENTINEL_TOKENS):
        if (token_id := tokenizer.token_to_id(token)) is not None:
            ids[f"sentinel_{index}"] = token_id
    return ids


def sentinel_ids(special_ids: dict[str, int]) -> list[int]:
    """The sentinel ids of ``special_token_ids``, in order."""
    sentinels = [special_ids[f"sentinel_{i}"] for i in range(len(SENTINEL_TOKENS)) if f"sentinel_{i}" in special_ids]
    if not sentinels:
        raise ConfigError(
            "the tokenizer has no span sentinels (<|sentinel_0|> ...), which encoder-decoder pretraining needs; "
            "it was trained by an older lmladder: re-run data_processing to train it again"
        )
    return sentinels


def tokenizer_sha256(tokenizer: Tokenizer) -> str:
    """The tokenizer's identity: token files record it, so ids from another tokenizer are refused."""
    return hashlib.sha256(tokenizer.to_str().encode("utf-8")).hexdigest()
