"""What a retraining run will do, decided before any pipeline runs (by ``kedro retrain``).

Kedro has no conditional nodes, so the choice between "train" and "nothing to do" is made by the
scheduled entry point (``lmladder.cli.run_retraining``), which then runs either the whole
retraining or the single node that records why there is nothing to do. Building the pipeline
decides nothing: it touches no file, registry or lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lmladder.corpus.fingerprint import inputs_fingerprint
from lmladder.errors import ConfigError
from lmladder.retraining import RetrainingLock, retraining_fingerprint
from lmladder.tracking.champion import version_by_alias

TRAIN_MODES = ("finetune", "pretrain")


@contextmanager
def retraining_plan(config_loader, catalog, project_path: Path) -> Iterator[dict]:
    """Yield the plan; the retraining lock (when taken) is held until the ``with`` block ends.

    ``action``: ``train``, ``skip`` (the champion was trained on exactly this data and config) or
    ``refuse`` (another retraining holds the lock). ``catalog``: the session's, to read the raw data
    as the pipeline will.
    """
    params = config_loader["parameters"]
    settings = params["retraining"]
    if settings["train"] not in TRAIN_MODES:
        raise ConfigError(f"retraining.train must be one of {TRAIN_MODES}, got {settings['train']!r}")
    backbone = project_path / config_loader["catalog"]["pretrained_model"]["path"] if settings["train"] == "finetune" else None
    if backbone is not None and not (backbone / "model.safetensors").exists():
        raise ConfigError(
            f"retraining.train is 'finetune' but there is no pretrained model in {backbone}: run "
            "`kedro run --pipelines pretraining` first, or set retraining.train: pretrain"
        )
    lock = RetrainingLock(project_path / settings["lock_file"])
    if not lock.try_acquire():
        yield {
            "action": "refuse",
            "fingerprint": None,
            "champion_version": None,
            "message": f"another retraining is running (it holds {lock.path}); this run does nothing",
        }
        return
    try:
        yield decide(catalog, params, backbone)
    finally:
        lock.release()


def decide(catalog, params: dict, backbone: Path | None) -> dict:
    settings = params["retraining"]
    current = retraining_fingerprint(raw_data_fingerprint(catalog, params), training_params(params, backbone))
    champion = version_by_alias(params["evaluation"]["registered_model_name"], settings["champion_alias"])
    plan = {"fingerprint": current, "champion_version": champion.version if champion else None}
    if champion is not None and champion.tags.get("retraining_fingerprint") == current and not settings["force"]:
        return {**plan, "action": "skip", "message": f"up to date: champion v{champion.version} was trained on this data"}
    return {
        **plan,
        "action": "train",
        "message": f"training a challenger (train: {settings['train']}); current champion: {f'v{champion.version}' if champion else 'none'}",
    }


def raw_data_fingerprint(catalog, params: dict) -> str:
    """The same fingerprint the ``fingerprint_data`` node computes, from the raw datasets of the catalog."""
    return inputs_fingerprint(
        catalog.load("raw_corpus"), catalog.load("raw_labelled"), params["data_processing"], params.get("task", "classification")
    )


def training_params(params: dict, backbone: Path | None) -> dict:
    """Everything besides the raw data that shapes the retrained classifier."""
    mode = params["retraining"]["train"]
    shaping = {"train": mode, "finetuning": params["finetuning"], "seed": params["seed"]}
    if mode == "pretrain":
        shaping["pretraining"] = params["pretraining"]
    else:  # fine-tuning starts from the project's pretrained model: a new backbone is a new input
        shaping["backbone"] = hashlib.sha256((backbone / "model.safetensors").read_bytes()).hexdigest()
    return shaping
