import resource
import signal
from contextlib import contextmanager

import pytest

from lmladder.corpus.tokenizer import train_bpe_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return train_bpe_tokenizer(["the quick brown fox jumps over the lazy dog", "机器学习是人工智能的一个分支"] * 10, 300)


@contextmanager
def file_size_limit(limit: int):
    """Writes past ``limit`` bytes of any file fail for real (EFBIG, "File too large"), as on a full disk.
    Unlike a read-only folder this holds for root too. Keep the block to the one save: pytest's own
    capture files are limited as well while it lasts."""
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process instead of failing the write
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


@pytest.fixture
def limited_file_size():
    """``with limited_file_size(bytes): dataset.save(...)``: the save fails the way a full disk makes it fail."""
    return file_size_limit
