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

from lmladder.pipelines.model_selection.pipeline import use_ladder
from lmladder.selection.ladder import check_ladder, rung_parameters
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
    """Checks the training parameters, and every rung's, when the session starts: a typo fails in a
    second, not after the data has been processed."""

    @hook_impl
    def after_context_created(self, context) -> None:
        params = raw_parameters(context)
        if "pretraining" in params:
            validate_pretraining_params(params["pretraining"])
        for name, rung in ladder_parameters(params).items():
            validate_pretraining_params(rung["pretraining"], section=f"model_selection.rungs.{name} -> pretraining")


def raw_parameters(context) -> dict:
    """The run's parameters (environment and ``--params`` included). Not ``context.params``: that
    builds the pipelines to validate against them, and model selection's pipeline depends on them."""
    return context.config_loader["parameters"]


def ladder_parameters(params: dict) -> dict[str, dict]:
    """Each rung's resolved pretraining and fine-tuning parameters; empty without a ladder."""
    selection = params.get("model_selection") or {}
    if "rungs" not in selection:
        return {}
    return {
        name: rung_parameters(name, spec, params["pretraining"], params["finetuning"], selection.get("rung_finetuning"))
        for name, spec in check_ladder(selection["rungs"]).items()
    }


class LadderRunHooks:
    """Each rung of ``model_selection`` gets its own MLflow run, nested under the ``kedro run``'s.

    Before a node of a rung's namespace runs, that rung's run becomes the active one (created on
    first use, with the rung's resolved parameters), so kedro-mlflow datasets, Lightning's logger and
    node parameters all log into it; any other node switches back to the parent run. ``tryfirst``:
    the switch must happen before kedro-mlflow's own ``before_node_run`` logs parameters, and the
    rung's run must end before kedro-mlflow ends the parent. Assumes nodes run one at a time in one
    thread (the sequential runner, and one Airflow task per rung).
    """

    def __init__(self) -> None:
        self._ladder: dict[str, dict] = {}
        self._runs: dict[str, str] = {}
        self._active: str | None = None

    @hook_impl(tryfirst=True)  # before anything reads context.params, which builds the pipelines
    def after_context_created(self, context) -> None:
        self._ladder = ladder_parameters(raw_parameters(context))
        self._runs, self._active = {}, None
        if self._ladder:
            use_ladder(list(self._ladder))

    @hook_impl(tryfirst=True)
    def before_node_run(self, node) -> None:
        rung = node.namespace.split(".")[0] if node.namespace else None
        rung = rung if rung in self._ladder else None
        if rung == self._active:
            return
        self._leave_rung("FINISHED")
        if rung is not None and mlflow.active_run() is not None:
            self._enter_rung(rung)

    def _enter_rung(self, rung: str) -> None:
        if rung in self._runs:
            mlflow.start_run(run_id=self._runs[rung], nested=True)
        else:
            run = mlflow.start_run(run_name=rung, nested=True, tags={"rung": rung})
            self._runs[rung] = run.info.run_id
            mlflow.log_params(flatten_params(self._ladder[rung]))
        self._active = rung

    def _leave_rung(self, status: str) -> None:
        if self._active is not None:
            mlflow.end_run(status)
            self._active = None

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self) -> None:
        self._leave_rung("FINISHED")

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self) -> None:
        self._leave_rung("FAILED")


def flatten_params(params: dict, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``, values cut to MLflow's 6,000-character limit."""
    flat = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_params(value, f"{name}."))
        else:
            flat[name] = str(value)[:6000]
    return flat
