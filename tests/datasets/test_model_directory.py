import errno
import re

import pytest
import torch
from kedro.io import DatasetError
from tokenizers import Tokenizer

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


@pytest.mark.parametrize("failing", ["model.safetensors", "tokenizer.json"])
def test_a_save_safetensors_or_tokenizers_fails_for_real_names_the_folder_and_keeps_the_previous_model(
    tmp_path, tokenizer, limited_file_size, failing
):
    target = tmp_path / "pretrained_model"
    dataset = ModelDirectoryDataset(path=str(target))
    first = tiny_model(tokenizer.get_vocab_size(), seed=0)
    dataset.save(ModelBundle(first, tokenizer))
    weights_bytes = (target / "model.safetensors").stat().st_size
    large = Tokenizer.from_str(tokenizer.to_str())
    large.add_tokens([f"token{i}" for i in range(2000)])  # its tokenizer.json outgrows the weights file
    # Writes stop at half the weights file (safetensors raises a SafetensorError) or just past it, so
    # only tokenizer.json fails (tokenizers raises a bare Exception); neither is an OSError.
    limit = weights_bytes // 2 if failing == "model.safetensors" else weights_bytes + 4096
    with (
        pytest.raises(
            DatasetError,
            match=rf"could not save {re.escape(str(target))} \(\[Errno 27\] File too large\); the previous pretrained_model is unchanged\. "
            "Free disk space",
        ),
        limited_file_size(limit),
    ):
        dataset.save(ModelBundle(tiny_model(tokenizer.get_vocab_size(), seed=1), large))
    loaded = dataset.load()
    for name, tensor in first.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor), name
    assert loaded.tokenizer.get_vocab_size() == tokenizer.get_vocab_size()
    assert [path.name for path in tmp_path.iterdir()] == ["pretrained_model"]
