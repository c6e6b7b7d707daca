import errno
import functools
import io

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

from lmladder.model import Transformer, model_config
from lmladder.training.optim import warmup_cosine_schedule
from lmladder.training.pretrain import pretrain

SPECIAL_IDS = {"eot": 0, "pad": 1, "cls": 2, "mask": 3}


def periodic_tokens(length: int, period: int = 50) -> np.ndarray:
    return (np.arange(length) % period + 4).astype(np.uint16)


def build_model(seed: int = 0, **overrides) -> Transformer:
    pl.seed_everything(seed)
    return Transformer(model_config("nano", **{"vocab_size": 64, "max_positions": 32, **overrides}))


def run_pretrain(model, checkpoint_dir, *, period=50, max_steps=40, data=None, trainer=None, **kwargs):
    return pretrain(
        model,
        periodic_tokens(20000, period),
        periodic_tokens(3000, period),
        optimizer=kwargs.pop("optimizer", functools.partial(torch.optim.AdamW, lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)),
        lr_schedule=functools.partial(warmup_cosine_schedule, warmup_steps=5, min_lr_ratio=0.1),
        data={**dict(block_size=32, batch_size=8, val_windows=8, seed=0), **(data or {})},
        trainer={
            **dict(
                max_steps=max_steps,
                val_check_interval=10,
                gradient_clip_val=1.0,
                accumulate_grad_batches=1,
                precision="32-true",
                accelerator="cpu",
                devices=1,
                log_every_n_steps=5,
            ),
            **(trainer or {}),
        },
        bytes_per_token=1.0,
        special_ids=kwargs.pop("special_ids", SPECIAL_IDS),
        checkpoint_dir=checkpoint_dir,
        peak_flops=kwargs.pop("peak_flops", 1e11),
        **kwargs,
    )


@pytest.fixture(scope="session")
def trained_decoder(tmp_path_factory):
    """One short decoder run shared by the tests that only inspect its result."""
    recorder = MetricsRecorder()
    result = run_pretrain(build_model(), tmp_path_factory.mktemp("decoder") / "checkpoints", extra_callbacks=[recorder])
    return result, recorder


class MetricsRecorder(pl.Callback):
    """Copies the trainer's metrics after every optimizer step and at the end of fit."""

    def __init__(self):
        self.per_step: dict[int, dict[str, float]] = {}
        self.final: dict[str, float] = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.per_step[trainer.global_step] = {name: float(value) for name, value in trainer.callback_metrics.items()}

    def on_train_end(self, trainer, pl_module):
        self.final = {name: float(value) for name, value in trainer.callback_metrics.items()}


def disk_full_half_way(self, checkpoint, path, storage_options=None):
    """Stands in for ``TorchCheckpointIO.save_checkpoint`` (monkeypatched on the class): writes the first half of the real bytes to
    ``path``, then fails as a full disk does."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    with open(path, "wb") as out:
        out.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    raise OSError(errno.ENOSPC, "No space left on device")
