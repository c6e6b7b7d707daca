import pytest

from lmladder.corpus.tokenizer import train_bpe_tokenizer

TRAINING_TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "机器学习是人工智能的一个分支",
    "مرحبا بالعالم، كيف حالك",
    "emoji 🎉🚀 party time",
] * 10


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(TRAINING_TEXTS, vocab_size=300)
