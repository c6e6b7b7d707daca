import logging
import math
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins import TorchCheckpointIO

from lmladder.errors import ConfigError, CorruptFileError, TrainingDivergedError
from lmladder.training.pretrain import resolve_max_steps

from .conftest import build_model, disk_full_half_way, run_pretrain


class CrashAt(pl.Callback):
    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            raise RuntimeError(f"simulated crash at step {self.step}")


def test_decoder_learns_a_periodic_stream(trained_decoder):
    result, _ = trained_decoder
    val_losses = [loss for _, loss in result.history.val]
    assert result.global_step == 40
    assert result.resumed_from_step == 0
    assert val_losses[-1] < math.log(50) / 3
    assert val_losses[-1] < val_losses[0]
    assert result.best_val_loss == pytest.approx(min(val_losses))


def test_checkpoints_are_written(tmp_path):
    run_pretrain(build_model(), tmp_path / "ck", max_steps=10)
    assert sorted(p.name for p in (tmp_path / "ck").glob("*.ckpt")) == ["best.ckpt", "last.ckpt"]


def test_resume_after_crash_matches_an_uninterrupted_run(tmp_path, trained_decoder, caplog):
    uninterrupted, _ = trained_decoder
    with pytest.raises(RuntimeError, match="simulated crash at step 25"):
        run_pretrain(build_model(), tmp_path / "ck", extra_callbacks=[CrashAt(25)])
    assert (tmp_path / "ck" / "last.ckpt").is_file()

    with caplog.at_level(logging.INFO, logger="lmladder.training.pretrain"):
        resumed = run_pretrain(build_model(), tmp_path / "ck")
    assert any("resuming from" in record.getMessage() and "step 20 of 40" in record.getMessage() for record in caplog.records)
    assert resumed.resumed_from_step == 20
    assert resumed.global_step == 40
    assert [step for step, _ in resumed.history.train] == list(range(21, 41))
    expected = uninterrupted.model.state_dict()
    for name, tensor in resumed.model.state_dict().items():
        torch.testing.assert_close(tensor, expected[name], atol=1e-6, rtol=0, msg=name)


def test_encoder_masked_lm_loss_decreases(tmp_path):
    result = run_pretrain(build_model(architecture="encoder"), tmp_path / "ck", period=4, max_steps=30)
    first_train_loss = result.history.train[0][1]
    final_val_loss = result.history.val[-1][1]
    assert first_train_loss > math.log(64) - 0.5
    assert final_val_loss < math.log(64) / 2
    assert final_val_loss < first_train_loss - 1.5


@pytest.fixture(scope="module")
def accumulated_run(tmp_path_factory):
    trainer = {"max_tokens": 20 * 512 - 100, "accumulate_grad_batches": 2}
    return run_pretrain(build_model(), tmp_path_factory.mktemp("accumulated") / "ck", max_steps=None, trainer=trainer)


def test_token_budget_sets_the_number_of_steps(accumulated_run):
    assert accumulated_run.tokens_per_step == 8 * 32 * 2
    assert accumulated_run.global_step == 20


def test_validation_interval_counts_optimizer_steps_under_accumulation(accumulated_run):
    assert [step for step, _ in accumulated_run.history.val] == [10, 20]


def test_loss_history_has_one_entry_per_optimizer_step_under_accumulation(accumulated_run):
    assert [step for step, _ in accumulated_run.history.train] == list(range(1, 21))


@pytest.mark.parametrize(
    ("max_steps", "max_tokens", "tokens_per_step", "expected"),
    [
        (7, None, 256, 7),
        (None, 1024, 256, 4),
        (None, 1025, 256, 5),
        (None, 1000, 256, 4),
        (None, 1, 256, 1),
        (7, 512, 256, 2),
    ],
)
def test_resolve_max_steps(max_steps, max_tokens, tokens_per_step, expected):
    assert resolve_max_steps(max_steps, max_tokens, tokens_per_step) == expected


@pytest.mark.parametrize(
    ("max_steps", "max_tokens", "key"),
    [
        (0, None, "max_steps"),
        (-3, None, "max_steps"),
        (None, None, "max_steps"),
        (2.5, None, "max_steps"),
        (10, 0, "max_tokens"),
        (None, -100, "max_tokens"),
    ],
)
def test_resolve_max_steps_rejects_non_positive_budgets(max_steps, max_tokens, key):
    with pytest.raises(ConfigError, match=key):
        resolve_max_steps(max_steps, max_tokens, 256)


def test_block_size_above_max_positions(tmp_path):
    with pytest.raises(ConfigError, match="block_size=64"):
        run_pretrain(build_model(), tmp_path / "ck", data={"block_size": 64})
    assert not (tmp_path / "ck").exists()


class PoisonWeightsAt(pl.Callback):
    """Turns one weight into NaN before a step: the loss of that step is NaN (a diverged run)."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            with torch.no_grad():
                next(pl_module.model.parameters()).fill_(float("nan"))


def test_a_nan_loss_stops_training_at_once_naming_step_and_learning_rate(tmp_path):
    with pytest.raises(TrainingDivergedError, match=r"training loss became nan at step 7 \(learning rate 0\.00"):
        run_pretrain(build_model(), tmp_path / "ck", extra_callbacks=[PoisonWeightsAt(7)])
    assert not (tmp_path / "ck" / "last.ckpt").exists()  # nothing saved from the diverged run


class WritesAFileWhenUnpickled:
    """A harmless stand-in for a malicious payload: unpickling it would create ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickled_payload_in_a_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "payload_ran"
    (tmp_path / "ck").mkdir()
    torch.save({"global_step": 3, "state_dict": {}, "extra": WritesAFileWhenUnpickled(marker)}, tmp_path / "ck" / "last.ckpt")
    with pytest.raises(CorruptFileError, match=r"refused to load .*last\.ckpt: it holds objects other than tensors"):
        run_pretrain(build_model(), tmp_path / "ck")
    assert not marker.exists()


def test_a_truncated_checkpoint_is_named(tmp_path):
    run_pretrain(build_model(), tmp_path / "ck", max_steps=10)
    last = tmp_path / "ck" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(CorruptFileError, match=r"checkpoint .*last\.ckpt is truncated or corrupted"):
        run_pretrain(build_model(), tmp_path / "ck")


def test_a_disk_full_during_a_checkpoint_keeps_the_previous_last_ckpt_and_the_next_run_resumes_from_it(tmp_path, monkeypatch):
    checkpoints = tmp_path / "ck"
    run_pretrain(build_model(), checkpoints, max_steps=10)
    last = checkpoints / "last.ckpt"
    before = last.read_bytes()

    real_save = TorchCheckpointIO.save_checkpoint

    def disk_full_while_saving_last(self, checkpoint, path, storage_options=None):
        # best.ckpt is saved before last.ckpt: only the save of last.ckpt (under whatever name) fails
        save = disk_full_half_way if "last" in Path(path).name else real_save
        save(self, checkpoint, path, storage_options)

    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", disk_full_while_saving_last)
    with pytest.raises(OSError, match="No space left on device"):
        run_pretrain(build_model(), checkpoints, max_steps=20)  # resumes at 10, fails saving at 20
    monkeypatch.undo()
    assert last.read_bytes() == before
    assert sorted(path.name for path in checkpoints.iterdir()) == ["best.ckpt", "last.ckpt"]  # no temporary file left

    resumed = run_pretrain(build_model(), checkpoints, max_steps=20)
    assert resumed.resumed_from_step == 10
    assert resumed.global_step == 20


@pytest.mark.parametrize(
    ("content", "missing"),
    [({"a": 1}, "'pytorch-lightning_version', 'global_step', 'state_dict'"), (torch.zeros(3), "'pytorch-lightning_version'")],
)
def test_a_torch_file_that_is_not_a_lightning_checkpoint_is_named(tmp_path, content, missing):
    (tmp_path / "ck").mkdir()
    torch.save(content, tmp_path / "ck" / "last.ckpt")
    with pytest.raises(CorruptFileError, match=rf"checkpoint .*last\.ckpt is a torch file but not a Lightning checkpoint \(no {missing}"):
        run_pretrain(build_model(), tmp_path / "ck")
