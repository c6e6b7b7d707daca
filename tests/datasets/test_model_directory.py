import errno

import pytest
import torch
from kedro.io import DatasetError

from lmladder.datasets import ModelDirectoryDataset
from lmladder.model import ModelConfig, Transformer
from lmladder.model.directory import ModelBundle


def tiny_model(vocab_size: int, seed: int) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(ModelConfig(vocab_size=vocab_size, max_positions=16, n_layer=1, n_head=2, n_embd=8)).eval()


def test_a_disk_full_save_names_the_folder_and_keeps_the_previous_model(tmp_path, tokenizer):
    dataset = ModelDirectoryDataset(path=str(tmp_path / "pretrained_model"))
    first = tiny_model(tokenizer.get_vocab_size(), seed=0)
    dataset.save(ModelBundle(first, tokenizer))

    class DiskFull:
        def save(self, path):
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(
        DatasetError, match=r"could not save .*pretrained_model \(\[Errno 28\] No space left on device\); the previous pretrained_model"
    ):
        dataset.save(ModelBundle(tiny_model(tokenizer.get_vocab_size(), seed=1), DiskFull()))
    loaded = dataset.load().model
    for name, tensor in first.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    assert [path.name for path in tmp_path.iterdir()] == ["pretrained_model"]
