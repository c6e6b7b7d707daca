"""Windows of ``block_size + 1`` tokens from memory-mapped token files.

Training windows start at random offsets drawn from a per-index generator, so sample ``i`` is
the same on every run and every machine; being a map-style dataset, Lightning gives it a
``DistributedSampler`` under DDP and each rank sees different windows. Validation windows are
fixed, evenly spaced and non-overlapping.
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from lmladder.errors import ConfigError


def _window(tokens: np.ndarray, start: int, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    chunk = torch.from_numpy(tokens[start : start + block_size + 1].astype(np.int64))
    return chunk[:-1], chunk[1:]


def _check_length(tokens: np.ndarray, block_size: int, what: str) -> None:
    if len(tokens) < block_size + 1:
        raise ConfigError(
            f"{what} holds {len(tokens)} tokens, fewer than one window of block_size + 1 = {block_size + 1}; "
            "lower pretraining.data.block_size or add text"
        )


class RandomWindows(Dataset):
    def __init__(self, tokens: np.ndarray, block_size: int, num_samples: int, seed: int = 0):
        _check_length(tokens, block_size, "the training token file")
        self.tokens, self.block_size, self.num_samples, self.seed = tokens, block_size, num_samples, seed
        self.start = 0  # index of the first window, moved forward when training resumes

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int):
        rng = np.random.default_rng((self.seed, (self.start + index) % self.num_samples))
        start = int(rng.integers(0, len(self.tokens) - self.block_size))
        return _window(self.tokens, start, self.block_size)


class FixedWindows(Dataset):
    def __init__(self, tokens: np.ndarray, block_size: int, max_windows: int | None = None):
        _check_length(tokens, block_size, "the validation token file")
        available = (len(tokens) - 1) // block_size
        count = min(available, max_windows) if max_windows else available
        stride = available // count * block_size
        self.tokens, self.block_size, self.starts = tokens, block_size, [i * stride for i in range(count)]

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int):
        return _window(self.tokens, self.starts[index], self.block_size)


class TokenDataModule(pl.LightningDataModule):
    def __init__(
        self,
        train_tokens: np.ndarray,
        val_tokens: np.ndarray,
        block_size: int,
        batch_size: int,
        train_samples: int,
        val_windows: int | None = None,
        seed: int = 0,
        num_workers: int = 0,
    ):
        super().__init__()
        self.train = RandomWindows(train_tokens, block_size, train_samples, seed)
        self.val = FixedWindows(val_tokens, block_size, val_windows)
        self.batch_size, self.num_workers = batch_size, num_workers

    def train_dataloader(self) -> DataLoader:
        # On resume, Lightning restarts the epoch's iteration: skip the windows already trained on,
        # so an interrupted run sees exactly the windows an uninterrupted one would.
        # Lightning keeps the epoch's length and counts the restored batches as done, so rotate
        # the windows rather than drop them.
        if self.trainer is not None:
            self.train.start = self.trainer.global_step * self.trainer.accumulate_grad_batches * self.batch_size * self.trainer.world_size
        # shuffle=False: the windows are already random, and a fixed order makes resuming exact.
        return DataLoader(self.train, batch_size=self.batch_size, shuffle=False, num_workers=self.num_workers, drop_last=True)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=self.batch_size, shuffle=False, num_workers=self.num_workers)
