"""Windows of ``block_size + 1`` tokens from memory-mapped token files.

Training windows start at random offsets drawn from a per-index generator, so sample ``i`` is
the same on every run and every machine. Under DDP each rank reads every W-th window (W ranks,
``TokenDataModule.train_dataloader``), so the ranks read different windows. Validation windows are
fixed, evenly spaced and non-overlapping; Lightning splits them among the ranks.
"""

from __future__ import annotations

import os

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

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


def _whole_file(tokens: np.ndarray) -> bool:
    """Whether ``tokens`` maps a whole file, as read (a slice of a memmap keeps its parent's offset)."""
    return (
        isinstance(tokens, np.memmap)
        and tokens.filename is not None
        and tokens.ndim == 1
        and tokens.strides == (tokens.itemsize,)
        and os.path.exists(tokens.filename)
        and tokens.offset + tokens.nbytes == os.path.getsize(tokens.filename)
    )


class _Picklable:
    """A memory-mapped token file pickles by its path (ranks spawned for a GPU reopen it rather than each
    receiving a copy of the whole corpus); an in-memory array pickles as usual."""

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        tokens = state["tokens"]
        if _whole_file(tokens):
            state["tokens"] = ("memmap", tokens.filename, tokens.dtype.str, tokens.offset, tokens.shape)
        return state

    def __setstate__(self, state: dict) -> None:
        tokens = state["tokens"]
        if isinstance(tokens, tuple) and tokens[0] == "memmap":
            _, filename, dtype, offset, shape = tokens
            state["tokens"] = np.memmap(filename, dtype=np.dtype(dtype), mode="r", offset=offset, shape=shape)
        self.__dict__.update(state)


class RandomWindows(_Picklable, Dataset):
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


class FixedWindows(_Picklable, Dataset):
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
        sampler = None
        if self.trainer is not None:
            self.train.start = self.trainer.global_step * self.trainer.accumulate_grad_batches * self.batch_size * self.trainer.world_size
            if self.trainer.world_size > 1:
                # Several ranks: rank r reads windows r, r + W, r + 2W... (W ranks), so a step trains on the
                # same windows as one process with the same global batch, and resuming stays exact.
                # Lightning's own sampler for training would shuffle the whole epoch.
                sampler = DistributedSampler(
                    self.train, num_replicas=self.trainer.world_size, rank=self.trainer.global_rank, shuffle=False, drop_last=True
                )
        # shuffle=False: the windows are already random, and a fixed order makes resuming exact.
        return DataLoader(
            self.train, batch_size=self.batch_size, shuffle=False, sampler=sampler, num_workers=self.num_workers, drop_last=True
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val, batch_size=self.batch_size, shuffle=False, num_workers=self.num_workers)
