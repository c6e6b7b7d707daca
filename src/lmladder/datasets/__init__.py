"""Custom Kedro datasets: raw text sources, tokenizers and token files."""

from lmladder.datasets.text_source import TextSourceDataset
from lmladder.datasets.token_file import TokenFileDataset
from lmladder.datasets.tokenizer import TokenizerDataset

__all__ = ["TextSourceDataset", "TokenFileDataset", "TokenizerDataset"]
