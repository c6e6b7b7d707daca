import logging
import math
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.plugins import TorchCheckpointIO

from lmladder.atomic import temporary_sibling
from lmladder.model import flops_per_token
from lmladder.training.callbacks import AtomicCheckpointIO, LossHistory, PlainProgressLog, ThroughputMonitor

from .conftest import disk_full_half_way

TOKENS_PER_STEP = 8 * 32


class FakeModule:
    def __init__(self):
        self.logged: list[tuple[str, float]] = []

    def log(self, name, value):
        self.logged.append((name, value))


def test_loss_history_records_every_step_and_each_validation(trained_decoder):
    result, _ = trained_decoder
    history = result.history
    assert isinstance(history, LossHistory)
    assert [step for step, _ in history.train] == list(range(1, 41))
    assert [step for step, _ in history.val] == [10, 20, 30, 40]
    assert all(math.isfinite(loss) for _, loss in history.train + history.val)
    assert result.best_val_loss == pytest.approx(min(loss for _, loss in history.val))


def test_throughput_monitor_counts_tokens_seen(trained_decoder):
    result, recorder = trained_decoder
    assert result.tokens_per_step == TOKENS_PER_STEP
    assert sorted(recorder.per_step) == list(range(1, 41))
    for step, metrics in recorder.per_step.items():  # logged on the steps whose metrics go to the logger (every 5)
        assert metrics.get("tokens_seen") == (step - step % 5) * TOKENS_PER_STEP if step >= 5 else "tokens_seen" not in metrics
    assert recorder.final["tokens_seen"] == 40 * TOKENS_PER_STEP


def test_throughput_monitor_reports_speed_and_mfu(trained_decoder):
    result, recorder = trained_decoder
    assert result.tokens_per_second > 0
    assert recorder.final["tokens_per_s"] == pytest.approx(result.tokens_per_second)
    assert result.flops_per_token == flops_per_token(result.model.config, 32)
    assert result.peak_flops == 1e11
    expected_mfu = recorder.final["tokens_per_s"] * result.flops_per_token / result.peak_flops
    assert recorder.final["mfu"] == pytest.approx(expected_mfu, rel=1e-5)
    assert "tokens_per_s" not in recorder.per_step[4]
    assert "tokens_per_s" in recorder.per_step[5]


def test_throughput_monitor_logs_speed_every_n_steps():
    monitor = ThroughputMonitor(tokens_per_step=100, flops_per_token=6, peak_flops=1200.0, log_every_n_steps=5)
    module = FakeModule()
    for step in range(12):
        trainer = SimpleNamespace(global_step=step, accumulate_grad_batches=1, max_steps=12)
        monitor.on_train_batch_start(trainer, module, None, step)
        trainer.global_step = step + 1
        monitor.on_train_batch_end(trainer, module, None, None, step)
    names = [name for name, _ in module.logged]
    # on the steps whose metrics go to the logger (every 5) and the last: not on every step, where each
    # LightningModule.log costs as much as a small model's optimizer step
    assert [value for name, value in module.logged if name == "tokens_seen"] == [500.0, 1000.0, 1200.0]
    assert names.count("tokens_per_s") == 2
    assert names.count("mfu") == 2
    speeds = [value for name, value in module.logged if name == "tokens_per_s"]
    utilisations = [value for name, value in module.logged if name == "mfu"]
    for speed, mfu in zip(speeds, utilisations, strict=True):
        assert speed > 0
        assert mfu == pytest.approx(speed * 6 / 1200.0)
    assert monitor.tokens_per_second == speeds[-1]


def test_plain_progress_log_every_n_steps_and_at_the_end(caplog):
    progress = PlainProgressLog(every_n_steps=10)
    metrics = {"train_loss": torch.tensor(2.5), "lr": torch.tensor(0.001), "other": torch.tensor(1.0)}
    with caplog.at_level(logging.INFO, logger="lmladder.training.callbacks"):
        for step in (9, 10, 11, 25):
            progress.on_train_batch_end(
                SimpleNamespace(global_step=step, max_steps=25, callback_metrics=metrics, accumulate_grad_batches=1), None, None, None, 0
            )
    assert [record.getMessage() for record in caplog.records] == [
        "step 10/25 | train_loss 2.5 | lr 0.001",
        "step 25/25 | train_loss 2.5 | lr 0.001",
    ]


def test_loss_history_skips_sanity_check_validation():
    history = LossHistory()
    metrics = {"val_loss": torch.tensor(3.0)}
    history.on_validation_end(SimpleNamespace(callback_metrics=metrics, sanity_checking=True, global_step=0), None)
    history.on_validation_end(SimpleNamespace(callback_metrics=metrics, sanity_checking=False, global_step=10), None)
    assert history.val == [(10, 3.0)]
    assert history.train == []


def test_atomic_checkpoint_io_replaces_a_checkpoint_and_leaves_nothing_else(tmp_path):
    checkpoint_io = AtomicCheckpointIO()
    checkpoint_io.save_checkpoint({"global_step": 1, "state_dict": {"w": torch.zeros(3)}}, tmp_path / "ck" / "last.ckpt")
    checkpoint_io.save_checkpoint({"global_step": 2, "state_dict": {"w": torch.ones(3)}}, tmp_path / "ck" / "last.ckpt")
    assert checkpoint_io.load_checkpoint(tmp_path / "ck" / "last.ckpt", weights_only=True)["global_step"] == 2
    assert [path.name for path in (tmp_path / "ck").iterdir()] == ["last.ckpt"]


def test_a_checkpoint_save_failing_half_way_keeps_the_previous_one_and_no_temporary_file(tmp_path, monkeypatch):
    last = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"global_step": 1, "state_dict": {"w": torch.zeros(3)}}, last)
    before = last.read_bytes()
    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", disk_full_half_way)
    with pytest.raises(OSError, match="No space left on device"):
        AtomicCheckpointIO().save_checkpoint({"global_step": 2, "state_dict": {"w": torch.ones(1000)}}, last)
    assert last.read_bytes() == before
    assert torch.load(last, weights_only=True)["global_step"] == 1
    assert [path.name for path in tmp_path.iterdir()] == ["last.ckpt"]


def test_a_checkpoint_save_removes_the_temporary_file_a_killed_save_of_the_same_checkpoint_left(tmp_path):
    killed = temporary_sibling(tmp_path / "last.ckpt")
    killed.write_bytes(b"half a checkpoint")
    other = temporary_sibling(tmp_path / "best.ckpt")  # another checkpoint's: not this save's business
    other.write_bytes(b"half a checkpoint")
    AtomicCheckpointIO().save_checkpoint({"global_step": 1, "state_dict": {"w": torch.zeros(3)}}, tmp_path / "last.ckpt")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([other.name, "last.ckpt"])


class OneLayer(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        return self.layer(batch[0]).sum()

    def train_dataloader(self):
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.ones(4, 2)), batch_size=2)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_lightning_never_resumes_from_a_temporary_checkpoint_file_a_killed_save_left(tmp_path):
    # The newest file in the folder, and a name with "last" and ".ckpt" in it: ckpt_path="last" still skips it.
    temporary_sibling(tmp_path / "last.ckpt").write_bytes(b"half a checkpoint")
    trainer = pl.Trainer(
        max_steps=2,
        callbacks=[ModelCheckpoint(dirpath=tmp_path, save_last=True)],
        plugins=[AtomicCheckpointIO()],
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with pytest.warns(UserWarning, match=r'ckpt_path="last"\) is set, but there is no last checkpoint available'):
        trainer.fit(OneLayer(), ckpt_path="last")
    assert trainer.global_step == 2
    assert "last.ckpt" in [path.name for path in tmp_path.iterdir()]
    assert not [path.name for path in tmp_path.iterdir() if ".tmp" in path.name]
