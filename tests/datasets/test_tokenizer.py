import errno
from pathlib import Path

import pytest
from kedro.io import DatasetError

from lmladder.datasets import TokenizerDataset
from lmladder.errors import CorruptFileError

TEXT = "the lazy fox 机器学习"


def test_save_then_load_gives_the_same_tokenizer(tmp_path, tokenizer):
    dataset = TokenizerDataset(filepath=str(tmp_path / "tok" / "tokenizer.json"))
    assert not dataset.exists()
    dataset.save(tokenizer)
    loaded = dataset.load()
    assert dataset.exists()
    assert loaded.get_vocab() == tokenizer.get_vocab()
    assert loaded.encode(TEXT).ids == tokenizer.encode(TEXT).ids
    assert loaded.decode(loaded.encode(TEXT).ids) == TEXT


def test_save_leaves_no_partial_file(tmp_path, tokenizer):
    dataset = TokenizerDataset(filepath=str(tmp_path / "tokenizer.json"))
    dataset.save(tokenizer)
    dataset.save(tokenizer)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tokenizer.json"]


def test_a_failed_write_keeps_the_previous_tokenizer_and_leaves_no_temporary_file(tmp_path, tokenizer):
    dataset = TokenizerDataset(filepath=str(tmp_path / "tokenizer.json"))
    dataset.save(tokenizer)
    before = (tmp_path / "tokenizer.json").read_text()

    class DiskFull:
        def save(self, path):
            Path(path).write_text(before[: len(before) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(
        DatasetError, match=r"could not save .*tokenizer\.json \(\[Errno 28\] No space left on device\); the previous tokenizer\.json"
    ):
        dataset.save(DiskFull())
    assert (tmp_path / "tokenizer.json").read_text() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tokenizer.json"]


@pytest.mark.parametrize("content", ["{not json", "{}"])
def test_a_corrupt_tokenizer_file_is_named(tmp_path, content):
    (tmp_path / "tokenizer.json").write_text(content)
    with pytest.raises(DatasetError, match=r"tokenizer\.json could not be loaded as a tokenizer .*re-run the data_processing") as raised:
        TokenizerDataset(filepath=str(tmp_path / "tokenizer.json")).load()
    assert isinstance(raised.value.__cause__, CorruptFileError)
