import functools
import logging
import math
import re
import struct
import zipfile
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins import TorchCheckpointIO

from lmladder.errors import ConfigError, CorruptFileError, TrainingDivergedError
from lmladder.training import module as module_module
from lmladder.training.module import compile_reason
from lmladder.training.optim import MuonAdamW, unfused
from lmladder.training.pretrain import resolve_max_steps

from .conftest import SPECIAL_IDS, MetricsRecorder, build_model, disk_full_half_way, run_pretrain


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
    resumed_state = resumed.model.state_dict()
    assert resumed_state.keys() == expected.keys()
    # bit-identical on CPU (docs/reliability.md), not merely close
    differing = [name for name, tensor in resumed_state.items() if not torch.equal(tensor, expected[name])]
    assert not differing, f"weights differ from the uninterrupted run's: {differing}"


def test_the_default_recipe_with_muon_resumes_bit_identically(tmp_path):
    """MuonAdamW's momentum buffers and AdamW's moments go through the checkpoint like AdamW's alone."""
    muon = functools.partial(MuonAdamW, lr=6e-3, muon_lr=0.04, fused=True)
    recipe = {
        "positional": "rotary",
        "norm": "rmsnorm",
        "mlp": "relu2",
        "qk_norm": True,
        "zero_init_projections": True,
        "tie_embeddings": False,
        "bias": False,
    }
    uninterrupted = run_pretrain(build_model(**recipe), tmp_path / "a", max_steps=30, optimizer=muon)
    with pytest.raises(RuntimeError, match="simulated crash at step 15"):
        run_pretrain(build_model(**recipe), tmp_path / "b", max_steps=30, optimizer=muon, extra_callbacks=[CrashAt(15)])
    resumed = run_pretrain(build_model(**recipe), tmp_path / "b", max_steps=30, optimizer=muon)
    assert resumed.resumed_from_step == 10 and resumed.global_step == 30
    expected = uninterrupted.model.state_dict()
    assert all(torch.equal(tensor, expected[name]) for name, tensor in resumed.model.state_dict().items())
    assert uninterrupted.history.val[-1][1] < uninterrupted.history.train[0][1] - 1.0


def test_encoder_masked_lm_loss_decreases(tmp_path):
    result = run_pretrain(build_model(architecture="encoder"), tmp_path / "ck", period=4, max_steps=30)
    first_train_loss = result.history.train[0][1]
    final_val_loss = result.history.val[-1][1]
    assert first_train_loss > math.log(64) - 0.5
    assert final_val_loss < math.log(64) / 2
    assert final_val_loss < first_train_loss - 1.5


def test_encoder_decoder_span_corruption_loss_decreases_logs_no_bits_per_byte_and_resumes(tmp_path):
    from lmladder.model import EncoderDecoder, model_config

    special_ids = {**SPECIAL_IDS, **{f"sentinel_{i}": 56 + i for i in range(8)}}  # the periodic text uses ids 4..53
    pl.seed_everything(0)
    model = EncoderDecoder(model_config("nano", vocab_size=64, max_positions=32, architecture="encoder-decoder"))
    recorder = MetricsRecorder()
    result = run_pretrain(model, tmp_path / "ck", period=4, max_steps=30, special_ids=special_ids, extra_callbacks=[recorder])
    first_train_loss, final_val_loss = result.history.train[0][1], result.history.val[-1][1]
    assert first_train_loss > math.log(64) - 0.5
    assert final_val_loss < first_train_loss - 1.5
    assert "val_loss" in recorder.final and "val_bpb" not in recorder.final  # a span loss is no code length of the text
    resumed = run_pretrain(
        EncoderDecoder(model.config), tmp_path / "ck", period=4, max_steps=40, special_ids=special_ids, trainer={"val_check_interval": 10}
    )
    assert resumed.resumed_from_step == 30 and resumed.global_step == 40


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


def test_the_loss_history_holds_the_logged_train_loss_under_accumulation(tmp_path):
    """The history reads each step's output (divided by Lightning by the micro-batches accumulated) and
    the module logs train_loss only every log_every_n_steps: both must give the same loss on those steps."""
    recorder = MetricsRecorder()
    trainer = {"max_steps": 10, "accumulate_grad_batches": 2, "log_every_n_steps": 5}
    result = run_pretrain(build_model(), tmp_path / "ck", max_steps=None, trainer=trainer, extra_callbacks=[recorder])
    history = dict(result.history.train)
    assert sorted(history) == list(range(1, 11))
    for step in (5, 10):
        assert history[step] == pytest.approx(recorder.per_step[step]["train_loss"], rel=1e-6)
    assert "train_loss" not in recorder.per_step[3]  # nothing logged before the first logging step (5)


def test_compile_on_a_cpu_trains_compiled_and_saves_the_models_own_parameter_names(tmp_path, caplog, monkeypatch):
    calls = []
    real_compile = torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn: calls.append(fn) or real_compile(fn, backend="eager"))  # no C++ build in a unit test
    monkeypatch.setattr(module_module.shutil, "which", lambda name: name)  # as if a C++ compiler were installed
    with caplog.at_level(logging.INFO, logger="lmladder.training.pretrain"):
        result = run_pretrain(build_model(), tmp_path / "ck", max_steps=3, compile=True)
    assert result.compiled and len(calls) == 1
    assert "torch.compile on: pretraining.compile is true" in caplog.text
    assert set(result.model.state_dict()) == set(build_model().state_dict())
    checkpoint = torch.load(tmp_path / "ck" / "last.ckpt", weights_only=True)
    assert sorted(checkpoint["state_dict"]) == sorted(f"model.{name}" for name in build_model().state_dict())


def test_compile_auto_stays_off_on_a_cpu_and_a_failed_compile_falls_back_to_eager(tmp_path, caplog, monkeypatch):
    with caplog.at_level(logging.INFO, logger="lmladder.training.pretrain"):
        assert not run_pretrain(build_model(), tmp_path / "a", max_steps=2, compile="auto").compiled
    assert "torch.compile off: pretraining.compile is auto and training runs on a CPU" in caplog.text
    state = torch.load(tmp_path / "a" / "last.ckpt", weights_only=True)["state_dict"]
    assert sorted(state) == sorted(f"model.{name}" for name in build_model().state_dict())  # each weight once

    def broken(fn):
        def compiled(*args):
            raise RuntimeError("inductor: no working C++ compiler")

        return compiled

    monkeypatch.setattr(torch, "compile", broken)
    monkeypatch.setattr(module_module.shutil, "which", lambda name: name)
    with caplog.at_level(logging.WARNING, logger="lmladder.training.module"):
        result = run_pretrain(build_model(), tmp_path / "b", max_steps=3, compile=True)
    assert result.global_step == 3
    assert "torch.compile failed (RuntimeError: inductor: no working C++ compiler); training continues without it" in caplog.text


def test_compile_needs_a_cpp_compiler_on_a_cpu(monkeypatch):
    monkeypatch.setattr(module_module.shutil, "which", lambda name: None)
    assert compile_reason(True, accelerator_is_gpu=False) == (
        False,
        "no C++ compiler (g++, c++ or $CXX) on PATH, which torch.compile needs for CPU kernels",
    )
    assert compile_reason(True, accelerator_is_gpu=True) == (True, "pretraining.compile is true")
    assert compile_reason("auto", accelerator_is_gpu=True) == (True, "pretraining.compile is auto and training runs on a GPU")
    assert compile_reason(False, accelerator_is_gpu=True) == (False, "pretraining.compile is false")


def test_bf16_mixed_precision_reaches_the_fp32_loss_at_equal_steps(tmp_path):
    """What precision: auto may switch to on a CPU with fast bf16 must learn the same: same seed, data and
    steps, the final validation loss within 0.05 nats of fp32's (the model reaches ~0.3 from 4.2)."""
    losses = {}
    for precision in ("32-true", "bf16-mixed"):
        result = run_pretrain(build_model(), tmp_path / precision, max_steps=40, trainer={"precision": precision})
        losses[precision] = result.history.val[-1][1]
    assert losses["32-true"] < 1.0
    assert losses["bf16-mixed"] == pytest.approx(losses["32-true"], abs=0.05)


def test_a_fused_optimizer_trains_in_mixed_precision_unfused_with_a_log_line(tmp_path, caplog):
    optimizer = functools.partial(torch.optim.AdamW, lr=3e-3, fused=True)
    for precision in ("bf16-mixed", "16-mixed", "bf16", "16", 16):
        assert unfused(optimizer, precision, 1.0).keywords == {"lr": 3e-3, "fused": False}
    assert unfused(optimizer, "bf16-mixed", None) is optimizer  # no clipping: nothing to refuse
    assert unfused(optimizer, "32-true", 1.0) is optimizer
    assert unfused(functools.partial(torch.optim.SGD, lr=0.1), "bf16-mixed", 1.0).keywords == {"lr": 0.1}
    with caplog.at_level(logging.INFO, logger="lmladder.training.optim"):
        result = run_pretrain(build_model(), tmp_path / "ck", max_steps=3, trainer={"precision": "bf16-mixed"}, optimizer=optimizer)
    assert result.global_step == 3
    assert "fused=true is off under mixed precision with gradient clipping" in caplog.text


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


class PoisonLossAt(pl.Callback):
    """From optimizer step ``step`` on, the model's loss is ``value`` (NaN or Inf): a diverged run. Records the
    learning rate of that step and the weights after each of ``snapshot_steps``."""

    def __init__(self, step: int, value: float, snapshot_steps: tuple[int, ...] = ()):
        self.step, self.value, self.snapshot_steps = step, value, snapshot_steps
        self.learning_rate: float | None = None
        self.weights: dict[int, dict[str, torch.Tensor]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            self.learning_rate = trainer.optimizers[0].param_groups[0]["lr"]
            model, forward, value = pl_module.model, type(pl_module.model).forward, self.value

            def diverged(*args, **kwargs):
                logits, loss = forward(model, *args, **kwargs)
                return logits, loss + value

            model.forward = diverged

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step in self.snapshot_steps:
            self.weights[trainer.global_step] = {name: tensor.detach().clone() for name, tensor in pl_module.state_dict().items()}


@pytest.mark.parametrize(("value", "shown"), [(float("nan"), "nan"), (float("inf"), "inf")], ids=["nan", "inf"])
def test_a_non_finite_loss_stops_training_at_once_naming_step_and_learning_rate_and_keeps_the_last_good_checkpoint(tmp_path, value, shown):
    checkpoints = tmp_path / "ck"
    poison = PoisonLossAt(15, value, snapshot_steps=(10, 14))  # after the first checkpoint (val_check_interval=10)
    with pytest.raises(TrainingDivergedError) as raised:
        run_pretrain(build_model(), checkpoints, extra_callbacks=[poison])
    assert poison.learning_rate is not None and 0 < poison.learning_rate < 3e-3
    assert str(raised.value).startswith(f"training loss became {shown} at step 15 (learning rate {poison.learning_rate:.3g})")

    # nothing saved from the diverged run: both checkpoints still hold step 10's state
    assert sorted(path.name for path in checkpoints.iterdir()) == ["best.ckpt", "last.ckpt"]
    at_step_10 = poison.weights[10]
    assert any(not torch.equal(at_step_10[name], tensor) for name, tensor in poison.weights[14].items())  # training moved on
    for name in ("last.ckpt", "best.ckpt"):
        saved = torch.load(checkpoints / name, map_location="cpu", weights_only=True)
        assert saved["global_step"] == 10, name
        assert saved["state_dict"].keys() == at_step_10.keys(), name
        assert all(torch.isfinite(tensor).all() for tensor in saved["state_dict"].values()), name
        differing = [key for key, tensor in saved["state_dict"].items() if not torch.equal(tensor, at_step_10[key])]
        assert not differing, f"{name} differs from the step-10 weights: {differing}"


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


def member_data_offset(archive_path: Path, member: str | None = None) -> tuple[str, int, int]:
    """Name, offset of the first data byte and size of ``member`` of a zip archive (a torch checkpoint), or of its
    largest member when ``member`` is None."""
    with zipfile.ZipFile(archive_path) as archive:
        infos = archive.infolist()
    info = max(infos, key=lambda i: i.file_size) if member is None else next(i for i in infos if i.filename.endswith(member))
    with open(archive_path, "rb") as file:
        file.seek(info.header_offset)
        header = file.read(30)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.filename, info.header_offset + 30 + name_length + extra_length, info.file_size


@pytest.mark.parametrize("member", [None, "data.pkl"], ids=["tensor-data", "pickle"])
def test_a_checkpoint_with_bytes_overwritten_in_the_middle_is_named(tmp_path, member):
    run_pretrain(build_model(), tmp_path / "ck", max_steps=10)
    last = tmp_path / "ck" / "last.ckpt"
    name, start, size = member_data_offset(last, member)
    damaged = bytearray(last.read_bytes())
    middle = start + size // 2
    damaged[middle : middle + 8] = bytes(byte ^ 0xFF for byte in damaged[middle : middle + 8])  # same size, other bytes
    last.write_bytes(bytes(damaged))
    with pytest.raises(CorruptFileError, match=rf"checkpoint .*last\.ckpt is truncated or corrupted \({re.escape(name)} fails its CRC-32"):
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
