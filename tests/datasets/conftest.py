import pytest

from lmladder.corpus.tokenizer import train_bpe_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(["the quick brown fox jumps over the lazy dog", "机器学习是人工智能的一个分支"] * 10, 300)
