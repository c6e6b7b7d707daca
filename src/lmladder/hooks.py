"""Tags on the MLflow run that kedro-mlflow opens for each ``kedro run``.

kedro-mlflow (a plugin, so its hooks run before the project's) starts the run in its own
``before_pipeline_run``; these hooks only add to it.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import mlflow
from kedro.framework.hooks import hook_impl

from lmladder.training.config import validate_pretraining_params

log = logging.getLogger(__name__)


def git_commit(project_path: Path) -> str:
    """The checked-out commit, with ``-dirty`` when tracked files changed; ``unknown`` outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_path, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=project_path, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


class RunHooks:
    """Tags the MLflow run (git commit, Kedro env, pipelines, data fingerprint) and, at the end,
    tells the user where to look."""

    def __init__(self) -> None:
        self._project_path = Path.cwd()

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project_path = Path(context.project_path)

    @hook_impl
    def before_pipeline_run(self, run_params: dict) -> None:
        if mlflow.active_run() is None:  # tracking disabled for this pipeline
            return
        mlflow.set_tags(
            {
                "git_commit": git_commit(self._project_path),
                "kedro_env": run_params.get("env") or "local",
                "kedro_pipelines": ",".join(run_params.get("pipeline_names") or ["__default__"]),
            }
        )

    @hook_impl
    def after_node_run(self, outputs: dict) -> None:
        if "data_fingerprint" in outputs and mlflow.active_run() is not None:
            mlflow.set_tag("data_fingerprint", outputs["data_fingerprint"])

    @hook_impl
    def after_pipeline_run(self, run_params: dict) -> None:
        log.info("Browse this run and earlier ones: kedro mlflow ui  (then open http://127.0.0.1:5000)")
        if {"__default__", "evaluation"} & set(run_params.get("pipeline_names") or ["__default__"]):
            log.info("Model card: %s", self._project_path / "data" / "08_reporting" / "model_card.md")


class ConfigValidationHook:
    """Checks the training parameters when the session starts: a typo fails in a second, not after
    the data has been processed."""

    @hook_impl
    def after_context_created(self, context) -> None:
        params = context.params
        if "pretraining" in params:
            validate_pretraining_params(params["pretraining"])
