"""Tags on the MLflow run that kedro-mlflow opens for each ``kedro run``.

kedro-mlflow (a plugin, so its hooks run before the project's) starts the run in its own
``before_pipeline_run``; these hooks only add to it.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

import mlflow
from filelock import FileLock, Timeout
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook
from mlflow import MlflowClient

from lmladder.errors import ConfigError
from lmladder.pipelines.model_selection.pipeline import configured_rungs, use_ladder
from lmladder.pipelines.retraining.pipeline import use_context as use_retraining_context
from lmladder.pipelines.retraining.plan import release_lock as release_retraining_lock
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
        self._workspace = "local"

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project_path = Path(context.project_path)
        self._workspace = context.config_loader["globals"]["workspace"]

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
            log.info("Model card: %s", self._project_path / "data" / self._workspace / "08_reporting" / "model_card.md")


class ConfigValidationHook:
    """Checks the training parameters, and every rung's, when the session starts: a typo fails in a
    second, not after the data has been processed."""

    @hook_impl
    def after_context_created(self, context) -> None:
        check_corpus_catalog(context.config_loader["catalog"])
        params = raw_parameters(context)
        if "pretraining" in params:
            validate_pretraining_params(params["pretraining"])
        for name, rung in ladder_parameters(params).items():
            validate_pretraining_params(rung["pretraining"], section=f"model_selection.rungs.{name} -> pretraining")


ARROW_DATASET = "lmladder.datasets.ArrowDataset"


def check_corpus_catalog(catalog: dict) -> None:
    """An Arrow raw corpus (``in_memory: false``) must leave processing as Arrow data sets: a pandas
    dataset would fail at the end of processing, or load a corpus larger than memory into RAM."""
    if (catalog.get("raw_corpus") or {}).get("in_memory", True):
        return
    wrong = {name: (catalog.get(name) or {}).get("type") for name in ("corpus_train", "corpus_val")}
    wrong = {name: kind for name, kind in wrong.items() if kind != ARROW_DATASET}
    if wrong:
        raise ConfigError(
            f"raw_corpus is loaded with in_memory: false, so {' and '.join(wrong)} must be {ARROW_DATASET} in the catalog, "
            f"not {', '.join(sorted(set(map(str, wrong.values()))))} (see conf/hub/catalog.yml)"
        )


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
            mlflow.log_params({name: REDACTED if is_secret_name(name) else value for name, value in flatten_params(self._ladder[rung]).items()})
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


class RetrainingHooks:
    """Hands the session's configuration to the retraining pipeline (which plans when it is built),
    puts the decision on the run's tags and releases the retraining lock when the run ends."""

    @hook_impl
    def after_context_created(self, context) -> None:
        use_retraining_context(context.config_loader, context.project_path)
        # A retraining plan depends on the registry and the data, not only on the code: a second
        # run in the same process (a notebook, a test) must rebuild the pipeline, not reuse it.
        requested = pipelines._requested_pipelines
        if requested and "retraining" in requested:
            pipelines.set_requested([])
            pipelines.set_requested(requested)

    @hook_impl
    def after_node_run(self, outputs: dict) -> None:
        if mlflow.active_run() is None:
            return
        if "retraining.plan" in outputs and outputs["retraining.plan"].get("fingerprint"):
            mlflow.set_tag("retraining_fingerprint", outputs["retraining.plan"]["fingerprint"])
        if "retraining.decision" in outputs:
            decision = outputs["retraining.decision"]
            mlflow.set_tags({"decision": decision["decision"], "decision_reasons": "; ".join(decision["reasons"])[:5000]})

    @hook_impl
    def after_pipeline_run(self) -> None:
        release_retraining_lock()

    @hook_impl
    def on_pipeline_error(self) -> None:
        release_retraining_lock()


SECRET_WORDS = {"password", "passwd", "secret", "token", "key", "apikey", "credentials"}
REDACTED = "***"


def is_secret_name(name: str) -> bool:
    """``db.password``, ``hub_token``, ``api-key`` are secrets; ``max_tokens`` and ``tokenizer`` are not."""
    return any(word in SECRET_WORDS for word in re.split(r"[._\-\s/]+", name.lower()))


class ProjectMlflowHook(MlflowHook):
    """kedro-mlflow's hook (registered in ``settings.HOOKS`` in place of the plugin's own instance), with:

    - its setup (tracking URI, experiment, and the SQLite schema on first use) under a file lock, so
      two sessions starting at once do not both create the database, and any failure there
      reported as a ``ConfigError`` naming the URI, before any data is processed;
    - a parameter whose name says it is a secret logged as ``***``. Credentials belong in
      ``conf/local/credentials.yml`` or the environment, never in parameters; this keeps a slip
      out of the tracking store.
    """

    @hook_impl
    def after_context_created(self, context) -> None:
        lock = Path(context.project_path) / "data" / ".locks" / "tracking.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(lock):
            try:
                super().after_context_created(context)
                MlflowClient().search_experiments(max_results=1)
            except Exception as error:  # noqa: BLE001 - whatever the backend raises, the store is unusable
                raise ConfigError(
                    f"MLflow tracking store {configured_tracking_uri(context)} is unreachable or unwritable: "
                    f"{type(error).__name__}: {error}. Check server.mlflow_tracking_uri in mlflow.yml or MLFLOW_TRACKING_URI."
                ) from error

    def _log_param(self, name: str, value) -> None:
        return super()._log_param(name, REDACTED if is_secret_name(name) else value)


def configured_tracking_uri(context) -> str:
    try:
        uri = (context.config_loader["mlflow"].get("server") or {}).get("mlflow_tracking_uri")
    except Exception:  # noqa: BLE001 - only for the error message
        uri = None
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()


class RunLockHooks:
    """Two ``kedro run``s of one project never write the same outputs at once: each run holds a lock
    on the project's data (the second waits, and says so). A run of one ladder rung alone (an Airflow
    task of model_selection) writes only that rung's outputs, so it locks just the rung and rungs
    still train in parallel."""

    def __init__(self) -> None:
        self._project_path = Path.cwd()
        self._lock: FileLock | None = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._project_path = Path(context.project_path)

    @hook_impl
    def before_pipeline_run(self, pipeline) -> None:
        namespaces = {node.namespace.split(".")[0] if node.namespace else None for node in pipeline.nodes}
        rung = namespaces.pop() if len(namespaces) == 1 else None
        name = f"rung-{rung}" if rung in configured_rungs(default=[]) else "project"
        path = self._project_path / "data" / ".locks" / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(path)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            log.warning("Another kedro run of this project is writing its outputs (%s is held); waiting for it to finish", path)
            self._lock.acquire()

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._release()

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


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
