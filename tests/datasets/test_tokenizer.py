import errno
import re
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


def test_a_save_the_tokenizers_library_fails_for_real_names_the_file_and_keeps_the_previous_one(tmp_path, tokenizer, limited_file_size):
    target = tmp_path / "tokenizer.json"
    dataset = TokenizerDataset(filepath=str(target))
    dataset.save(tokenizer)
    before = target.read_text()
    # tokenizers raises a bare Exception("File too large (os error 27)") here, not an OSError.
    with (
        pytest.raises(
            DatasetError,
            match=rf"could not save {re.escape(str(target))} \(\[Errno 27\] File too large\); the previous tokenizer\.json is unchanged\. "
            "Free disk space or fix the folder's permissions, then run again.",
        ),
        limited_file_size(len(before) // 2),
    ):
        dataset.save(tokenizer)
    assert target.read_text() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tokenizer.json"]


@pytest.mark.parametrize("content", ["{not json", "{}"])
def test_a_corrupt_tokenizer_file_is_named(tmp_path, content):
    (tmp_path / "tokenizer.json").write_text(content)
    with pytest.raises(DatasetError, match=r"tokenizer\.json could not be loaded as a tokenizer .*re-run the data_processing") as raised:
        TokenizerDataset(filepath=str(tmp_path / "tokenizer.json")).load()
    assert isinstance(raised.value.__cause__, CorruptFileError)
