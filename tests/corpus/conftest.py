"""Fixtures and sample texts shared by the corpus tests."""

import pandas as pd
import pytest

from lmladder.corpus.cleaning import QualityFilters
from lmladder.corpus.tokenizer import train_bpe_tokenizer

PARAGRAPH = (
    "The standard library offers a wide range of facilities. It contains built-in modules, written in C, "
    "that provide access to system functionality such as file input and output that would otherwise be "
    "inaccessible to Python programmers, as well as modules written in Python that provide standardized "
    "solutions for many problems that occur in everyday programming. Some of these modules are explicitly "
    "designed to encourage and enhance the portability of Python programs by abstracting away platform "
    "specifics into platform-neutral interfaces. Installers for the Windows platform usually include the "
    "entire standard library and often also include many additional components."
)
ONE_WORD_CHANGED = PARAGRAPH.replace("everyday", "daily")
UNRELATED = "Byte pair encoding merges the most frequent pair of symbols until the vocabulary is full."

FILTERS = QualityFilters(min_chars=20, max_chars=10_000, max_symbol_ratio=0.5, min_alpha_ratio=0.3)
NEAR = {"threshold": 0.8, "num_perm": 128, "shingle_size": 5}
TEXTS = [
    "The socket module provides access to the BSD socket interface.",
    "Write to me at someone@example.com about the  socket module.",
    "short",
    "The socket module provides access to the BSD socket interface.",  # exact duplicate
    "THE SOCKET MODULE PROVIDES ACCESS TO THE BSD SOCKET INTERFACE.",  # same dedup key as the first
    PARAGRAPH,
    "汉字的文本也应该被保留下来并且不被过滤掉，因为它是正常的文本。",
    ONE_WORD_CHANGED,  # near duplicate of PARAGRAPH
    "%%%% ### !!!! @@@@ $$$$ ^^^^ &&&& **** (((( )))) ____",
    "x" * 20_000,
    UNRELATED,
]


def raw_documents() -> pd.DataFrame:
    """``TEXTS`` as a raw corpus table, with ids ``d0``, ``d1``, ..."""
    return pd.DataFrame({"doc_id": [f"d{i}" for i in range(len(TEXTS))], "text": TEXTS})


TRAINING_TEXTS = [
    "the quick brown fox jumps over the lazy dog",
    "机器学习是人工智能的一个分支",
    "مرحبا بالعالم، كيف حالك",
    "emoji 🎉🚀 party time",
] * 10


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(TRAINING_TEXTS, vocab_size=300)
