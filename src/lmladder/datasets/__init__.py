"""Custom Kedro datasets: raw text sources, Arrow document sets, tokenizers, token files and model directories."""

from lmladder.datasets.arrow import ArrowDataset
from lmladder.datasets.model_directory import ModelDirectoryDataset
from lmladder.datasets.text_source import TextSourceDataset
from lmladder.datasets.token_file import TokenFileDataset
from lmladder.datasets.tokenizer import TokenizerDataset

__all__ = ["ArrowDataset", "ModelDirectoryDataset", "TextSourceDataset", "TokenFileDataset", "TokenizerDataset"]
