"""Training on several devices (``strategy: ddp``, ``devices: N``) inside one ordinary program.

Lightning's plain ``ddp`` starts its extra ranks by running the program's command line again
(``sys.argv``): under ``kedro run`` every rank would run every node and open its own MLflow run. Here
only ``Trainer.fit`` runs in several processes: when no launcher started the ranks, ``ddp`` (or ``auto``
on several devices) becomes a ``DDPStrategy`` whose ranks are started from inside ``fit`` with
``multiprocessing``: forked on a CPU (nothing to pickle, started in milliseconds; gloo), spawned on a
GPU (CUDA cannot be used in a forked child once the parent touched it; NCCL). When a launcher did
start the ranks (torchrun, SLURM's srun, LSF, MPI, or LOCAL_RANK set by hand), Lightning detects it
and the strategy is left as configured: each rank then runs the whole program, as that launcher means.

Ranks started from inside ``fit`` send rank 0's weights back to the calling process (Lightning does
that), but not the trainer's counters or the callbacks' state: ``RankZeroResults`` carries those.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.plugins.environments import (
    LightningEnvironment,
    LSFEnvironment,
    MPIEnvironment,
    SLURMEnvironment,
    TorchElasticEnvironment,
)
from pytorch_lightning.strategies import DDPStrategy

from lmladder.errors import ConfigError
from lmladder.training.config import trains_on_gpu

# Strategies whose ranks start from inside fit: Lightning's ddp_spawn, ddp_fork and ddp_notebook, and auto and ddp
# as launch_strategy turns them. Lightning starts the ranks of others (fsdp, deepspeed) by running the command again.
IN_PROCESS_STRATEGIES = ("auto", "ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")


def world_size(trainer: dict) -> int:
    """Processes taking part in training, as Lightning will count them (devices x nodes)."""
    devices = trainer.get("devices", 1)
    if devices in ("auto", -1, "-1"):  # without initialising CUDA here (trains_on_gpu says why)
        per_node = torch.cuda.device_count() if trains_on_gpu(trainer.get("accelerator", "auto")) else 1
    elif isinstance(devices, str):  # "2" is a count, "0,1" a list of device indices
        per_node = int(devices) if devices.strip().isdigit() else len([d for d in devices.split(",") if d.strip()])
    elif isinstance(devices, (list, tuple)):
        per_node = len(devices)
    else:
        per_node = int(devices)
    return per_node * trainer.get("num_nodes", 1)


def external_launcher() -> str | None:
    """The launcher that started this process as one rank of several (Lightning's detection), or None."""
    for environment in (TorchElasticEnvironment, SLURMEnvironment, LSFEnvironment, MPIEnvironment):
        if environment.detect():
            return environment.__name__
    if LightningEnvironment().creates_processes_externally:  # LOCAL_RANK set by whoever started the process
        return LightningEnvironment.__name__
    return None


def launch_strategy(trainer: dict, processes: int, section: str, find_unused_parameters: bool = False) -> dict:
    """``trainer`` (Lightning Trainer arguments) with a strategy that starts its ``processes`` ranks from inside
    ``fit``; unchanged for one process or when a launcher started the ranks. ``section`` names the
    parameters in error messages (``pretraining.trainer``). ``find_unused_parameters``: for models with
    parameters the loss does not use (a classifier on a backbone with its own LM head), which DDP
    otherwise refuses at the first step."""
    strategy = trainer.get("strategy", "auto")
    if processes <= 1 or external_launcher() is not None or not isinstance(strategy, str):
        return trainer
    if trainer.get("num_nodes", 1) > 1:
        raise ConfigError(
            f"{section}.num_nodes={trainer['num_nodes']} needs a launcher that starts the program once per rank on every "
            "node (torchrun or SLURM's srun), and `kedro run` cannot be started that way (each rank would run every node): "
            "set num_nodes: 1"
        )
    if strategy not in IN_PROCESS_STRATEGIES:
        raise ConfigError(
            f"{section}.strategy={strategy!r} on {processes} devices would start its ranks by running the whole command "
            "again (every Kedro node, a second MLflow run). Use strategy ddp"
        )
    if strategy in ("ddp_spawn", "ddp_fork", "ddp_notebook"):
        return trainer  # already started from inside fit
    method = start_method(trainer.get("accelerator", "auto"))
    return {**trainer, "strategy": DDPStrategy(start_method=method, find_unused_parameters=find_unused_parameters)}


def start_method(accelerator: str) -> str:
    """How ranks started from inside ``fit`` begin: forked on a CPU (the parent's memory as is, no pickling;
    PyTorch gives a forked child one intra-op thread and Lightning then sets cores / ranks); spawned on a GPU,
    where a forked child cannot use CUDA once the parent has (everything the ranks need is pickled)."""
    forkable = not trains_on_gpu(accelerator) and not torch.cuda.is_initialized()  # Lightning refuses to fork after CUDA
    return "fork" if forkable and "fork" in multiprocessing.get_all_start_methods() else "spawn"


def batches_per_rank(examples: int, batch_size: int, processes: int) -> int:
    """Batches (steps) per epoch on each rank: Lightning's sampler gives each rank ceil(examples / processes)
    examples (padding with repeats), and the last batch may be short."""
    return math.ceil(math.ceil(examples / processes) / batch_size)


def gather_in_order(module: pl.LightningModule, values: torch.Tensor) -> torch.Tensor:
    """On every rank, all ranks' per-item ``values`` for the validation set, in the set's order (on one
    process: ``values``). Lightning's sampler gives rank r the items r, r + W, r + 2W... (W ranks, no
    shuffling for validation) of the set padded to a multiple of W with its first items: the padding is dropped."""
    trainer = module.trainer
    if trainer.world_size == 1:
        return values
    gathered = module.all_gather(values)  # (W, items per rank)
    return gathered.transpose(0, 1).reshape(-1)[: len(trainer.val_dataloaders.dataset)].cpu()


class RankZeroResults(pl.Callback):
    """Brings rank 0's trainer counters and the given callbacks' state back to the calling process.

    In the process that runs ``fit`` (one device, or ranks started by torchrun) it just records the counters
    at the end of fit. Where Lightning started the ranks, rank 0 saves them to a private temporary folder,
    and ``restore`` (the caller's, after ``fit``, also after a failure: it removes the folder) loads them into
    the caller's callbacks: a ``ModelCheckpoint`` by its ``state_dict``, others by their data attributes.
    Only plain data and tensors travel (``torch.load(weights_only=True)``).
    """

    def __init__(self, **callbacks: pl.Callback):
        self.callbacks = callbacks
        self.global_step = self.current_epoch = 0
        self._caller = os.getpid()
        self._folder = Path(tempfile.mkdtemp(prefix="lmladder-ranks-"))

    def on_fit_end(self, trainer, pl_module):
        self.global_step, self.current_epoch = trainer.global_step, trainer.current_epoch
        if os.getpid() == self._caller or not trainer.is_global_zero:
            return
        state = {name: _state(callback) for name, callback in self.callbacks.items()}
        torch.save({"global_step": self.global_step, "current_epoch": self.current_epoch, "callbacks": state}, self._folder / "results.pt")

    def restore(self) -> None:
        """Take over rank 0's results if ranks ran in other processes; remove the temporary folder."""
        path = self._folder / "results.pt"
        try:
            if not path.exists():
                return
            results = torch.load(path, weights_only=True, map_location="cpu")
            self.global_step, self.current_epoch = results["global_step"], results["current_epoch"]
            for name, state in results["callbacks"].items():
                callback = self.callbacks[name]
                if isinstance(callback, ModelCheckpoint):
                    callback.load_state_dict(state)
                else:
                    vars(callback).update(state)
        finally:
            shutil.rmtree(self._folder, ignore_errors=True)


def _state(callback: pl.Callback) -> dict:
    if isinstance(callback, ModelCheckpoint):
        return callback.state_dict()  # best score and paths; its attributes include a file system object
    return {name: value for name, value in vars(callback).items() if not callable(value)}  # not the log methods Lightning binds
