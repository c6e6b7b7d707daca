"""Pretraining and fine-tuning on two CPU processes (DDP over gloo), against the same runs in one process.

Two ranks of batch 4 read, at every step, the same 8 windows as one process of batch 8 and average the
same gradient, so the two runs differ only by the order of float32 sums. Their validation losses agree
to within 1e-4 (seen: about 3e-7; a rank reading the wrong windows moves them by about 2e-2).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import pickle
import signal
import tempfile
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from mlflow.tracking import MlflowClient
from pytorch_lightning.strategies import DDPStrategy

from lmladder.errors import ConfigError
from lmladder.tracking.lightning import active_run_logger
from lmladder.training import distributed
from lmladder.training.data import RandomWindows
from lmladder.training.distributed import launch_strategy, start_method
from lmladder.training.finetune import build_classifier, finetune
from lmladder.training.optim import warmup_cosine_schedule
from lmladder.training.pretrain import pretrain

from .conftest import SPECIAL_IDS, build_model, periodic_tokens, run_pretrain

pytestmark = pytest.mark.slow

STEPS, BLOCK, GLOBAL_BATCH, RANKS = 30, 32, 8, 2
DDP = {"devices": RANKS, "strategy": "ddp"}
PER_RANK = {"batch_size": GLOBAL_BATCH // RANKS}
LOSS_TOLERANCE = 1e-4  # float32 summation order only (module docstring)


class WindowRecorder(pl.Callback):
    """Each rank saves the window indices its sampler gives it and the inputs of every batch it trains on."""

    def __init__(self, folder: Path):
        self.folder, self.inputs = folder, []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.inputs.append(batch[0].clone())

    def on_train_end(self, trainer, pl_module):
        indices = list(trainer.train_dataloader.sampler)
        torch.save({"indices": indices, "inputs": torch.stack(self.inputs)}, self.folder / f"rank{trainer.global_rank}.pt")


class Slow(pl.Callback):
    """Slows each step down, so that a kill lands mid-training."""

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        time.sleep(0.1)


@contextlib.contextmanager
def tracking_store(folder: Path):
    """A scratch MLflow store (SQLite, as the project's), the tracking URI of this process while it lasts."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    # an experiment of this store: the process's active one may be an earlier test's, in another store
    mlflow.set_experiment("ddp")
    try:
        yield MlflowClient(registry_uri=mlflow.get_tracking_uri())
    finally:
        mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    with tracking_store(tmp_path_factory.mktemp("mlflow")) as client:
        yield client


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, tracking):
    """Pretraining on two ranks inside an MLflow run, as the pretraining node runs it."""
    folder = tmp_path_factory.mktemp("ddp")
    model = build_model()
    with mlflow.start_run() as run:
        result = run_pretrain(
            model,
            folder / "ck",
            max_steps=STEPS,
            data=PER_RANK,
            trainer=DDP,
            logger=active_run_logger(),
            extra_callbacks=[WindowRecorder(folder)],
        )
    return result, model, folder, run.info.run_id


@pytest.fixture(scope="module")
def single_run(tmp_path_factory, tracking):
    """The same training in one process with the global batch, logged into the same store."""
    with mlflow.start_run() as run:
        result = run_pretrain(build_model(), tmp_path_factory.mktemp("single") / "ck", max_steps=STEPS, logger=active_run_logger())
    return result, run.info.run_id


def metric_steps(client: MlflowClient, run_id: str) -> dict[str, list[int]]:
    """The steps each metric of a run was logged at, in order, repeats included."""
    return {name: [metric.step for metric in client.get_metric_history(run_id, name)] for name in client.get_run(run_id).data.metrics}


def test_ranks_read_disjoint_windows_that_together_are_the_single_process_batches(ddp_run):
    _, _, folder, _ = ddp_run
    ranks = [torch.load(folder / f"rank{rank}.pt") for rank in range(RANKS)]
    per_rank = GLOBAL_BATCH // RANKS
    assert ranks[0]["indices"] == list(range(0, STEPS * GLOBAL_BATCH, 2))
    assert ranks[1]["indices"] == list(range(1, STEPS * GLOBAL_BATCH, 2))
    windows = RandomWindows(periodic_tokens(20000), BLOCK, STEPS * GLOBAL_BATCH, seed=0)
    for rank, record in enumerate(ranks):
        assert record["inputs"].shape == (STEPS, per_rank, BLOCK)
        expected = torch.stack([windows[index][0] for index in record["indices"]]).view(STEPS, per_rank, BLOCK)
        assert torch.equal(record["inputs"], expected), f"rank {rank} trained on other windows than its sampler's"


def test_tokens_seen_and_throughput_count_both_ranks(ddp_run, tracking):
    result, _, _, run_id = ddp_run
    assert result.global_step == STEPS
    assert result.tokens_per_step == GLOBAL_BATCH * BLOCK  # 4 windows on each of 2 ranks
    seen = {metric.step: metric.value for metric in tracking.get_metric_history(run_id, "tokens_seen")}
    # Lightning files the metrics logged during step n under MLflow step n - 1.
    assert seen == {step - 1: step * 4 * BLOCK * RANKS for step in range(5, STEPS + 1, 5)}
    assert result.tokens_per_second > 0


def test_a_token_budget_counts_both_ranks(tmp_path):
    result = run_pretrain(build_model(), tmp_path / "ck", max_steps=None, data=PER_RANK, trainer={**DDP, "max_tokens": 10 * 256 - 100})
    assert result.global_step == 10  # ceil(2460 / 256): 256 tokens a step, 128 on each rank


def test_only_rank_zero_writes_checkpoints_and_metrics(ddp_run, single_run, tracking):
    result, model, folder, run_id = ddp_run
    assert sorted(path.name for path in (folder / "ck").iterdir()) == ["best.ckpt", "last.ckpt"]
    experiment = tracking.get_experiment_by_name("ddp").experiment_id
    assert {run.info.run_id for run in tracking.search_runs([experiment])} == {run_id, single_run[1]}  # no run of a rank's own
    # Every metric logged as often, at the same steps, as by one process (not once per rank).
    steps = metric_steps(tracking, run_id)
    assert {"train_loss", "val_loss", "tokens_seen", "tokens_per_s"} <= steps.keys()
    assert steps == metric_steps(tracking, single_run[1])
    # What the caller (the node) saves: rank 0's trained weights, in the model it passed in.
    assert result.model is model
    best = torch.load(folder / "ck" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(tensor, best[f"model.{name}"]) for name, tensor in model.state_dict().items())
    assert result.best_val_loss == pytest.approx(min(loss for _, loss in result.history.val))
    assert [step for step, _ in result.history.train] == list(range(1, STEPS + 1))


def test_final_loss_matches_the_single_process_run(ddp_run, single_run):
    result, _, _, _ = ddp_run
    single_run, _ = single_run
    assert [step for step, _ in result.history.val] == [step for step, _ in single_run.history.val] == [10, 20, 30]
    for (_, ddp_loss), (_, single_loss) in zip(result.history.val, single_run.history.val, strict=True):
        assert ddp_loss == pytest.approx(single_loss, abs=LOSS_TOLERANCE)
    assert single_run.history.val[-1][1] < single_run.history.val[0][1] - 0.5  # it did learn
    expected = single_run.model.state_dict()
    assert all(torch.allclose(tensor, expected[name], atol=1e-3) for name, tensor in result.model.state_dict().items())


def _train_in_own_process_group(checkpoint_dir: Path) -> None:
    os.setpgid(0, 0)  # the test kills this process and both ranks as one group
    tempfile.tempdir = str(checkpoint_dir.parent)  # where the killed run leaves its (empty) results folder
    run_pretrain(build_model(), checkpoint_dir, max_steps=STEPS, data=PER_RANK, trainer=DDP, extra_callbacks=[Slow()])


def training_past_its_first_checkpoint(checkpoint_dir: Path) -> multiprocessing.Process:
    """Two-rank pretraining in a process (group) of its own, once it has written its first ``last.ckpt``."""
    process = multiprocessing.get_context("fork").Process(target=_train_in_own_process_group, args=(checkpoint_dir,))
    process.start()
    deadline = time.monotonic() + 120
    while not (checkpoint_dir / "last.ckpt").exists() and process.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.is_alive(), f"training ended (exit code {process.exitcode}) before it could be killed"
    return process


def test_resumes_after_the_whole_process_group_is_killed(tmp_path, ddp_run, caplog):
    uninterrupted, _, _, _ = ddp_run
    checkpoint_dir = tmp_path / "ck"
    process = training_past_its_first_checkpoint(checkpoint_dir)
    os.killpg(process.pid, signal.SIGKILL)
    process.join()
    assert process.exitcode == -signal.SIGKILL

    with caplog.at_level(logging.INFO, logger="lmladder.training.pretrain"):
        resumed = run_pretrain(build_model(), checkpoint_dir, max_steps=STEPS, data=PER_RANK, trainer=DDP)
    assert 10 <= resumed.resumed_from_step < STEPS
    assert any(f"step {resumed.resumed_from_step} of {STEPS}" in record.getMessage() for record in caplog.records)
    assert resumed.global_step == STEPS
    assert resumed.history.train[0][0] == resumed.resumed_from_step + 1
    expected = uninterrupted.model.state_dict()
    assert all(torch.allclose(tensor, expected[name], atol=1e-6) for name, tensor in resumed.model.state_dict().items())


def test_the_ranks_die_with_the_process_that_started_them(tmp_path):
    """SIGKILL of the training process alone (a `kedro run` killed by its scheduler): its ranks must not
    go on training and writing checkpoints beside the retry. (torch.multiprocessing asks the kernel to send
    each rank SIGINT when its parent dies; Lightning then stops the rank.)"""
    import psutil

    checkpoint_dir = tmp_path / "ck"
    process = training_past_its_first_checkpoint(checkpoint_dir)
    ranks = psutil.Process(process.pid).children(recursive=True)
    assert len(ranks) >= RANKS - 1
    os.kill(process.pid, signal.SIGKILL)  # the caller only, not its group
    process.join()
    _, alive = psutil.wait_procs(ranks, timeout=30)
    assert alive == [], f"ranks outlived the process that started them: {[rank.pid for rank in alive]}"


LABELS = ("neg", "pos")
SUBJECTS = ("movie", "film", "plot", "acting", "story", "script")


def _sentiment(repeat: int) -> tuple[list[str], list[str]]:
    pairs = [(f"the {subject} was {word}", label) for subject in SUBJECTS for word, label in (("good", "pos"), ("bad", "neg"))]
    return [text for text, _ in pairs] * repeat, [label for _, label in pairs] * repeat


def _finetune(tokenizer, batch_size: int, trainer: dict, logger=None):
    from lmladder.model import Transformer, model_config

    pl.seed_everything(0)
    # Untied embeddings (the default recipe's): the classifier leaves the LM head unused, which DDP must be told.
    backbone = Transformer(model_config("nano", vocab_size=tokenizer.get_vocab_size(), max_positions=32, tie_embeddings=False))
    model = build_classifier(backbone, LABELS, "full", "last")
    train, val = _sentiment(8), _sentiment(1)
    val = (val[0][:-1], val[1][:-1])  # 11 examples: the ranks' shares are padded to 6 each, the padding dropped again
    return finetune(
        model,
        tokenizer,
        train,
        val,
        optimizer=functools.partial(torch.optim.AdamW, lr=3e-3),
        lr_schedule=functools.partial(warmup_cosine_schedule, warmup_steps=2),
        batch_size=batch_size,
        max_epochs=4,
        patience=4,
        trainer={"accelerator": "cpu", **trainer},
        logger=logger,
    )


def test_finetuning_on_two_ranks_writes_once_and_matches_one_process(tmp_path):
    from lmladder.corpus.tokenizer import train_bpe_tokenizer
    from lmladder.model.classifier import predict_probabilities

    tokenizer = train_bpe_tokenizer(_sentiment(8)[0], 300)
    with tracking_store(tmp_path) as tracking:
        with mlflow.start_run() as single_run:
            single = _finetune(tokenizer, 16, {}, logger=active_run_logger())
        with mlflow.start_run() as ddp_run:
            ddp = _finetune(tokenizer, 8, DDP, logger=active_run_logger())
        steps = metric_steps(tracking, ddp_run.info.run_id)
        assert "val_macro_f1" in steps
        assert steps == metric_steps(tracking, single_run.info.run_id)  # logged once, not once per rank
    assert ddp.epochs_run == single.epochs_run == 4
    assert [row["epoch"] for row in ddp.history] == [0, 1, 2, 3]
    # The F1 the ranks computed together is the F1 of the returned weights on the whole validation set.
    texts, labels = _sentiment(1)
    predicted = predict_probabilities(ddp.model, tokenizer, texts[:-1]).argmax(dim=1).tolist()
    targets = [LABELS.index(label) for label in labels[:-1]]
    from sklearn.metrics import f1_score

    assert ddp.best_val_macro_f1 == pytest.approx(f1_score(targets, predicted, average="macro"))
    # Lightning's training sampler shuffles the ranks' examples in another order than one process does,
    # so the runs differ by more than rounding: both learn the task to the same F1 within one example.
    assert ddp.best_val_macro_f1 == pytest.approx(single.best_val_macro_f1, abs=0.1)


def test_ranks_start_from_inside_fit_fork_on_a_cpu_and_spawn_on_a_gpu():
    strategy = launch_strategy({"accelerator": "cpu", **DDP}, RANKS, "pretraining.trainer")["strategy"]
    assert isinstance(strategy, DDPStrategy)
    assert start_method("cpu") == "fork"
    assert start_method("gpu") == start_method("cuda") == "spawn"
    assert launch_strategy({"accelerator": "cpu", "devices": 1}, 1, "pretraining.trainer") == {"accelerator": "cpu", "devices": 1}
    explicit = {"accelerator": "cpu", "devices": 2, "strategy": "ddp_spawn"}
    assert launch_strategy(explicit, RANKS, "pretraining.trainer") == explicit


@pytest.mark.parametrize(
    "variables",
    [
        {"TORCHELASTIC_RUN_ID": "1", "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "2", "GROUP_RANK": "0", "LOCAL_WORLD_SIZE": "2"},
        {"LOCAL_RANK": "0"},
    ],
    ids=["torchrun", "LOCAL_RANK"],
)
def test_ranks_started_by_a_launcher_keep_the_configured_strategy(monkeypatch, variables):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    trainer = {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "num_nodes": 2}
    assert launch_strategy(trainer, 4, "pretraining.trainer") == trainer


@pytest.mark.parametrize(
    ("trainer", "message"),
    [
        (
            {"strategy": "fsdp"},
            "pretraining.trainer.strategy='fsdp' on 2 devices would start its ranks by running the whole command again "
            "(every Kedro node, a second MLflow run). Use strategy ddp",
        ),
        (
            {"strategy": "ddp", "num_nodes": 2},
            "pretraining.trainer.num_nodes=2 needs a launcher that starts the program once per rank on every node (torchrun "
            "or SLURM's srun), and `kedro run` cannot be started that way (each rank would run every node): set num_nodes: 1",
        ),
    ],
    ids=["fsdp", "num_nodes"],
)
def test_refuses_what_would_rerun_the_command_or_needs_a_launcher(tmp_path, trainer, message):
    with pytest.raises(ConfigError) as error:
        run_pretrain(build_model(), tmp_path / "ck", max_steps=2, data=PER_RANK, trainer={"devices": 2, **trainer})
    assert str(error.value) == message
    assert not (tmp_path / "ck").exists()


def test_ranks_spawned_as_on_a_gpu_get_everything_pickled_and_log_into_the_open_run(tmp_path, monkeypatch):
    """The GPU path (spawned ranks) on gloo: module, memory-mapped token files, callbacks and the MLflow
    logger travel pickled to fresh interpreters, and rank 0 logs into the run the caller opened."""
    monkeypatch.setattr(distributed, "start_method", lambda accelerator: "spawn")
    files = {}
    for name, length in (("train", 20000), ("val", 3000)):
        periodic_tokens(length).tofile(tmp_path / f"{name}.bin")
        files[name] = np.memmap(tmp_path / f"{name}.bin", dtype=np.uint16, mode="r")
    with tracking_store(tmp_path) as tracking, mlflow.start_run() as run:
        model = build_model()
        result = pretrain(
            model,
            files["train"],
            files["val"],
            optimizer=functools.partial(torch.optim.AdamW, lr=3e-3),
            lr_schedule=functools.partial(warmup_cosine_schedule, warmup_steps=2),
            data={"block_size": BLOCK, "batch_size": 4, "val_windows": 8, "seed": 0},
            trainer={"max_steps": 10, "val_check_interval": 10, "accelerator": "cpu", "log_every_n_steps": 5, **DDP},
            bytes_per_token=1.0,
            special_ids=SPECIAL_IDS,
            checkpoint_dir=tmp_path / "ck",
            logger=active_run_logger(),
            peak_flops=1e11,
        )
        seen = {metric.step: metric.value for metric in tracking.get_metric_history(run.info.run_id, "tokens_seen")}
    assert result.global_step == 10 and len(result.history.val) == 1
    assert seen == {4: 5 * 256.0, 9: 10 * 256.0}
    last = torch.load(tmp_path / "ck" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(tensor, last[f"model.{name}"]) for name, tensor in model.state_dict().items())


def test_a_memory_mapped_token_file_travels_by_its_path(tmp_path):
    periodic_tokens(20000).tofile(tmp_path / "train.bin")
    tokens = np.memmap(tmp_path / "train.bin", dtype=np.uint16, mode="r")
    windows = RandomWindows(tokens, BLOCK, 100)
    copy = pickle.loads(pickle.dumps(windows))
    assert len(pickle.dumps(windows)) < 1000  # not the 40 kB of tokens
    assert isinstance(copy.tokens, np.memmap) and copy.tokens.filename == tokens.filename
    assert all(torch.equal(copy[i][0], windows[i][0]) for i in range(10))
    part = RandomWindows(tokens[100:], BLOCK, 100)  # a slice keeps its parent's offset: it travels as a copy
    assert torch.equal(pickle.loads(pickle.dumps(part))[3][0], part[3][0])
