import errno

import datasets
import numpy as np
import pytest
from kedro.io import DatasetError

from lmladder.corpus.packing import TokenFile, TokenStream
from lmladder.datasets import TokenFileDataset
from lmladder.errors import CorruptFileError

TEXTS = ["the quick fox", "机器学习"]


def test_save_stream_then_load_memory_mapped_tokens(tmp_path, tokenizer):
    dataset = TokenFileDataset(filepath=str(tmp_path / "tokens" / "train.bin"))
    assert not dataset.exists()
    dataset.save(TokenStream(datasets.Dataset.from_dict({"text": TEXTS}), tokenizer, batch_size=2))
    assert dataset.exists()
    loaded = dataset.load()
    assert isinstance(loaded, TokenFile)
    assert isinstance(loaded.tokens, np.memmap)
    assert loaded.tokens.tolist() == [i for text in TEXTS for i in tokenizer.encode(text).ids + [0]]
    assert loaded.metadata["documents"] == 2


def test_exists_needs_both_tokens_and_metadata(tmp_path, tokenizer):
    dataset = TokenFileDataset(filepath=str(tmp_path / "train.bin"))
    dataset.save(TokenStream(datasets.Dataset.from_dict({"text": TEXTS}), tokenizer))
    (tmp_path / "train.json").unlink()
    assert not dataset.exists()


def test_load_of_truncated_file_is_wrapped_corrupt_file_error(tmp_path, tokenizer):
    path = tmp_path / "train.bin"
    dataset = TokenFileDataset(filepath=str(path))
    dataset.save(TokenStream(datasets.Dataset.from_dict({"text": TEXTS}), tokenizer))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(DatasetError, match=r"train\.bin is \d+ bytes") as raised:
        dataset.load()
    assert isinstance(raised.value.__cause__, CorruptFileError)


class DiskFullStream(TokenStream):
    def chunks(self):
        yield from super().chunks()
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_disk_full_save_names_the_file_keeps_the_previous_one_and_leaves_no_temporary_file(tmp_path, tokenizer):
    dataset = TokenFileDataset(filepath=str(tmp_path / "train.bin"))
    dataset.save(TokenStream(datasets.Dataset.from_dict({"text": ["old"]}), tokenizer))
    with pytest.raises(
        DatasetError,
        match=r"could not save .*train\.bin \(\[Errno 28\] No space left on device\); the previous train\.bin is unchanged\. Free disk",
    ):
        dataset.save(DiskFullStream(datasets.Dataset.from_dict({"text": TEXTS}), tokenizer))
    assert dataset.load().tokens.tolist() == tokenizer.encode("old").ids + [0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["train.bin", "train.json"]
