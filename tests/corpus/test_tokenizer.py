import pytest
from tokenizers import Tokenizer, models

from lmladder.corpus.tokenizer import (
    MIN_VOCAB_SIZE,
    SENTINEL_TOKENS,
    SPECIAL_TOKENS,
    sentinel_ids,
    special_token_id,
    special_token_ids,
    train_bpe_tokenizer,
)
from lmladder.errors import ConfigError

from .conftest import TRAINING_TEXTS


def test_special_tokens_have_ids_0_to_3_in_order(tokenizer):
    assert [tokenizer.token_to_id(token) for token in SPECIAL_TOKENS.values()] == [0, 1, 2, 3]
    assert [special_token_id(tokenizer, role) for role in ("eot", "pad", "cls", "mask")] == [0, 1, 2, 3]


def test_span_sentinels_follow_the_special_tokens_and_never_come_from_text(tokenizer):
    ids = special_token_ids(tokenizer)
    assert sentinel_ids(ids) == list(range(4, 4 + len(SENTINEL_TOKENS)))
    assert all(token_id >= len(ids) for token_id in tokenizer.encode("plain text with sentinel words").ids)


def test_a_tokenizer_without_sentinels_is_refused_for_span_corruption():
    with pytest.raises(ConfigError, match=r"no span sentinels .* re-run data_processing"):
        sentinel_ids({"eot": 0, "pad": 1, "cls": 2, "mask": 3})


def test_vocab_size_is_respected(tokenizer):
    assert tokenizer.get_vocab_size() == 300


@pytest.mark.parametrize(
    "text",
    [
        "the quick brown fox",
        "机器学习是人工智能的一个分支",
        "مرحبا بالعالم",
        "emoji 🎉🚀 and 👩‍👩‍👧",
        "unseen: Ωmega ß ﬁ \t tabs\n",
    ],
)
def test_round_trip(tokenizer, text):
    encoding = tokenizer.encode(text)
    assert tokenizer.decode(encoding.ids) == text
    assert all(token_id >= len(SPECIAL_TOKENS) for token_id in encoding.ids)


def test_training_merges_frequent_words(tokenizer):
    assert len(tokenizer.encode("the quick brown fox").ids) < len("the quick brown fox")


@pytest.mark.parametrize("vocab_size", [291, 0, 300.0, "300"])
def test_vocab_too_small_for_bytes_and_special_tokens(vocab_size):
    assert MIN_VOCAB_SIZE == 292
    with pytest.raises(
        ConfigError, match=r"too small: .*256 byte tokens plus 4 special tokens \(<\|endoftext\|>, .*and 32 span sentinels, so at least 292"
    ):
        train_bpe_tokenizer(TRAINING_TEXTS, vocab_size=vocab_size)


def test_smallest_vocab_holds_exactly_bytes_and_special_tokens():
    assert train_bpe_tokenizer(TRAINING_TEXTS, vocab_size=292).get_vocab_size() == 292


def test_special_token_id_of_foreign_tokenizer_is_a_config_error():
    with pytest.raises(ConfigError, match=r"no '<\|endoftext\|>' token; retrain it"):
        special_token_id(Tokenizer(models.BPE()), "eot")
