"""The project's hooks, in the order a session meets them (see docs/architecture.md).

kedro-mlflow's own hook (a plugin, registered by Kedro from its entry point) sets the tracking
URI and experiment, opens one MLflow run per ``kedro run`` and logs node parameters; these hooks
only add to it, through public APIs of Kedro and MLflow. Heavy libraries (torch, MLflow, the
selection code) are imported inside the hooks: ``import lmladder.settings``, which every ``kedro``
command does, stays light.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from itertools import pairwise
from pathlib import Path

from filelock import FileLock, Timeout
from kedro.framework.hooks import hook_impl

from lmladder.errors import ConfigError

log = logging.getLogger(__name__)


class TrackingStoreHook:
    """kedro-mlflow sets the tracking store up in its ``after_context_created`` (the URI, the
    experiment and, for SQLite, the schema on first use). This hook wraps every
    ``after_context_created`` implementation, kedro-mlflow's included:

    - they run under ``data/.locks/tracking.lock``, so two sessions starting at once never both
      create the database or the experiment;
    - when one of them fails and the store is unusable, the session fails with a ``ConfigError``
      naming the URI, before any data is processed, instead of whatever the backend raised.
    """

    @hook_impl(wrapper=True)
    def after_context_created(self, context):
        lock = Path(context.project_path) / "data" / ".locks" / "tracking.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(lock):
            try:
                return (yield)
            except ConfigError:
                raise
            except Exception as error:
                uri = configured_tracking_uri(context)
                problem = tracking_store_problem(uri)
                if problem is None:
                    raise
                raise ConfigError(
                    f"MLflow tracking store {uri} is unreachable or unwritable: {problem}. "
                    "Check server.mlflow_tracking_uri in mlflow.yml or MLFLOW_TRACKING_URI."
                ) from error


def tracking_store_problem(uri: str) -> str | None:
    """Why the tracking store at ``uri`` cannot be used; None when it answers."""
    from mlflow import MlflowClient

    try:
        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as error:  # noqa: BLE001 - whatever the backend raises, the store is unusable
        return f"{type(error).__name__}: {error}"
    return None


def server_problem(uri: str) -> str | None:
    """Why the tracking server at ``uri`` does not answer its health check; None when it does. One quick
    request: MLflow's own client would retry for minutes before saying the same."""
    from urllib.request import urlopen

    try:
        with urlopen(f"{uri.rstrip('/')}/health", timeout=10):
            return None
    except OSError as error:  # refused, timed out, or an HTTP error status
        return f"{type(error).__name__}: {error}"


def configured_tracking_uri(context) -> str:
    """The URI kedro-mlflow was asked to use: mlflow.yml's, else the environment's."""
    import mlflow

    uri = (mlflow_settings(context.config_loader).get("server") or {}).get("mlflow_tracking_uri")
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()


def mlflow_settings(config_loader) -> dict:
    """``mlflow.yml`` of the run's environments, read as kedro-mlflow reads it."""
    from kedro.config import MissingConfigException

    if "mlflow" not in config_loader.config_patterns:
        config_loader.config_patterns.update({"mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"]})
    try:
        return config_loader["mlflow"]
    except MissingConfigException:
        return {}


class ConfigValidationHook:
    """Checks the whole configuration when the session starts: a typo, a bad value, a secret in the
    parameters or a setting that would misroute metrics fails in a second, before any data is
    processed and before an MLflow run exists.

    Whether the model, optimizer and schedule can really be built, and whether a training step fits
    in memory, needs torch: that part runs when the pipeline starts (still before any node and before
    the MLflow run), and only for the training sections the pipeline reads, so ``kedro run
    --pipelines data_processing`` never imports torch.
    """

    def __init__(self) -> None:
        self._params: dict = {}

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        from lmladder.parameters import check_parameters

        check_not_one_of_several_ranks()
        check_corpus_catalog(context.config_loader["catalog"])
        check_tracking_settings(mlflow_settings(context.config_loader))
        params = context.config_loader["parameters"]  # not context.params: that builds every pipeline
        check_no_secrets(params)
        check_parameters(params)
        ladder_parameters(params)  # the rung names and keys, before anything builds model_selection
        self._params = params

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, pipeline) -> None:
        params, read = self._params, {name for node in pipeline.nodes for name in node.inputs}
        if not {"params:pretraining", "params:finetuning", "params:model_selection"} & read:
            return
        from lmladder.training.config import validate_finetuning_params, validate_pretraining_params

        # The tokenizer is trained later in the run: its configured size stands in for it in the memory estimate.
        vocab_size = params["data_processing"]["tokenizer"]["vocab_size"]
        if "params:pretraining" in read:
            validate_pretraining_params(params["pretraining"], vocab_size=vocab_size)
        if "params:finetuning" in read:
            validate_finetuning_params(params["finetuning"], model_params=params["pretraining"]["model"], vocab_size=vocab_size)
        if "params:model_selection" in read:
            for name, rung in ladder_parameters(params).items():
                spec = rung["rung"]
                where = (
                    f"model_selection.rungs.{name}"
                    if spec["kind"] == "explicit"
                    else f"model_selection.budgets.{spec['budget']} (rung {name})"
                )
                validate_pretraining_params(rung["pretraining"], section=f"{where} -> pretraining", vocab_size=vocab_size)
                validate_finetuning_params(  # a rung fine-tunes in its mode only (no baseline)
                    rung["finetuning"],
                    section=f"{where} -> finetuning",
                    model_params=rung["pretraining"]["model"],
                    vocab_size=vocab_size,
                    modes=(rung["finetuning"]["mode"],),
                )


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


# Set by launchers that start a program once per rank: torchrun, srun (in its job step), mpirun.
LAUNCHER_WORLD_SIZES = ("WORLD_SIZE", "SLURM_STEP_NUM_TASKS", "OMPI_COMM_WORLD_SIZE")


def check_not_one_of_several_ranks() -> None:
    """A session started once per rank (``torchrun ... -m kedro run``) would run every node, open an MLflow
    run and write the same outputs in each rank, and the first would hold the project lock while the
    others wait for it and training waits for them. Several devices are started from inside training."""
    for variable in LAUNCHER_WORLD_SIZES:
        value = os.environ.get(variable, "1")
        if value.isdigit() and int(value) > 1:
            raise ConfigError(
                f"this session was started as one of {value} ranks ({variable}={value}: torchrun, srun or mpirun): "
                "every rank would run every node and open its own MLflow run. Start kedro once, with "
                "pretraining.trainer.devices / finetuning.trainer.devices set to the number of devices: the ranks "
                "start inside training. Training across several nodes is not supported by the pipelines"
            )


def check_tracking_settings(config: dict) -> None:
    """``tracking.run.nested: true`` makes kedro-mlflow reopen the ``kedro run``'s run on top of a
    rung's run before every node, so a rung's metrics would land in the parent run."""
    if ((config.get("tracking") or {}).get("run") or {}).get("nested"):
        raise ConfigError(
            "tracking.run.nested: true in mlflow.yml is not supported: each ladder rung logs into its own run "
            "nested under the kedro run's, which needs kedro-mlflow to keep one run per session (nested: false)"
        )


SECRET_WORDS = {
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "key",
    "apikey",
    "credential",
    "credentials",
    "auth",
}
# "tokens" alone counts text (max_tokens) and "keys" names fields (sort_keys); after these words they are secrets
SECRET_PAIRS = {("api", "tokens"), ("access", "tokens"), ("auth", "tokens"), ("api", "keys"), ("access", "keys"), ("private", "keys")}


def is_secret_name(name: str) -> bool:
    """``db.password``, ``hub_token``, ``api-key``, ``hfAccessToken`` are secrets; ``max_tokens``,
    ``tokenizer`` and ``keyword`` are not."""
    words = [word.lower() for word in re.split(r"[._\-\s/]+|(?<=[a-z0-9])(?=[A-Z])", name) if word]
    return any(word in SECRET_WORDS for word in words) or any(pair in SECRET_PAIRS for pair in pairwise(words))


def check_no_secrets(params: dict, prefix: str = "") -> None:
    """Credentials never travel as parameters: kedro-mlflow would log them to the tracking store."""
    for key, value in params.items():
        name = f"{prefix}{key}"
        if is_secret_name(str(key)):
            raise ConfigError(
                f"parameter {name} looks like a secret; parameters are logged to MLflow in clear text. "
                "Put credentials in conf/local/credentials.yml (git-ignored) or an environment variable instead"
            )
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            if isinstance(item, dict):
                check_no_secrets(item, f"{name}[{index}]." if isinstance(value, list) else f"{name}.")


def ladder_parameters(params: dict) -> dict[str, dict]:
    """Each rung's parameters (see ``selection.ladder.rung_parameters``); empty without a ladder."""
    from lmladder.selection.ladder import expand_ladder, rung_parameters

    selection = params.get("model_selection") or {}
    if not selection.get("rungs") and not selection.get("budgets"):
        return {}
    return {
        name: rung_parameters(name, spec, params["pretraining"], params["finetuning"], selection.get("rung_finetuning"))
        for name, spec in expand_ladder(selection).items()
    }


def rung_run_params(shared: dict, rung: dict) -> dict:
    """What a rung's MLflow run logs as parameters: the shared ones, its pretraining and fine-tuning
    parameters and its place in the ladder, less the values the ladder sets only when the rung runs
    (they are logged as the rung's metrics and in ``rung/rung_parameters.json``)."""
    flat = flatten_params({**shared, "pretraining": rung["pretraining"], "finetuning": rung["finetuning"], "rung": rung["rung"]})
    return {key: value for key, value in flat.items() if key not in rung["run_time"]}


def git_commit(project_path: Path) -> str:
    """The checked-out commit, with ``-dirty`` when tracked files changed; ``unknown`` outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_path, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=project_path,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit


class RunHooks:
    """Tags the MLflow run (git commit, Kedro env, pipelines, data fingerprint, the process that owns
    it) and, at the end, tells the user where to look. When a session starts, runs left RUNNING by a
    process that died (a ``kedro run`` killed with SIGKILL) are marked FAILED
    (``lmladder.tracking.orphans``)."""

    def __init__(self) -> None:
        self._project_path = Path.cwd()
        self._workspace = "local"

    @hook_impl  # after kedro-mlflow's (registered later, called first), which points MLflow at the store
    def after_context_created(self, context) -> None:
        from mlflow import MlflowClient

        from lmladder.tracking.orphans import fail_orphaned_runs

        self._project_path = Path(context.project_path)
        self._workspace = context.config_loader["globals"]["workspace"]
        fail_orphaned_runs(MlflowClient())

    @hook_impl
    def before_pipeline_run(self, run_params: dict) -> None:
        import mlflow

        if mlflow.active_run() is None:  # tracking disabled for this pipeline
            return
        from lmladder.tracking.orphans import owner_tags

        mlflow.set_tags(
            {
                **owner_tags(),
                "git_commit": git_commit(self._project_path),
                "kedro_env": run_params.get("env") or "local",
                "kedro_pipelines": ",".join(run_params.get("pipeline_names") or ["__default__"]),
            }
        )

    @hook_impl
    def after_node_run(self, outputs: dict) -> None:
        import mlflow

        if "data_fingerprint" in outputs and mlflow.active_run() is not None:
            mlflow.set_tag("data_fingerprint", outputs["data_fingerprint"])

    @hook_impl
    def after_pipeline_run(self, run_params: dict) -> None:
        import mlflow

        uri = mlflow.get_tracking_uri()
        if uri.startswith(("http://", "https://")):  # a tracking server: its own address is the UI
            log.info("Browse this run and earlier ones: %s", uri)
        else:
            log.info("Browse this run and earlier ones: kedro mlflow ui  (then open http://127.0.0.1:5000)")
        if {"__default__", "evaluation"} & set(run_params.get("pipeline_names") or ["__default__"]):
            log.info("Model card: %s", self._project_path / "data" / self._workspace / "08_reporting" / "model_card.md")

    @hook_impl(tryfirst=True)  # before kedro-mlflow's, which raises when it cannot close the run
    def on_pipeline_error(self) -> None:
        """A tracking server that stops answering fails the run with MLflow's connection error, deep in
        whatever was logging; say plainly what happened and what it left behind."""
        import mlflow

        uri = mlflow.get_tracking_uri()
        if not uri.startswith(("http://", "https://")):
            return
        problem = server_problem(uri)
        if problem is not None:
            log.error(
                "MLflow tracking server %s stopped answering during the run (%s). The run failed; on the server it "
                "stays RUNNING until the next session of this project marks it FAILED. Nothing was registered or "
                "promoted after the server stopped.",
                uri,
                problem,
            )


# Runners that run nodes in several threads or processes. Kedro records the runner as its name or,
# for an instance (what `kedro run` passes), its repr.
CONCURRENT_RUNNER = re.compile(r"\b(Parallel|Thread)Runner\b")


def rung_of(node, rungs) -> str | None:
    """The ladder rung a node belongs to (its top namespace), or None."""
    top = node.namespace.split(".")[0] if node.namespace else None
    return top if top in rungs else None


class LadderRunHooks:
    """Each rung of ``model_selection`` gets its own MLflow run, nested under the ``kedro run``'s.

    The rung names reach the pipeline from the run's own parameters (``--env`` and ``--params``
    apply): Kedro builds pipelines without parameters, so ``after_context_created`` hands them to
    ``pipelines.ladder_rungs.use_rungs`` before anything builds the pipeline.

    While a rung's node runs, the rung's run is the active one (created on first use, with the
    rung's resolved parameters), so Lightning's logger, kedro-mlflow datasets saved from the node's
    outputs and the node's own logging go to it (Kedro saves outputs after ``after_node_run``, so
    the run stays active until the next node starts). The switch is bracketed around kedro-mlflow's
    own ``before_node_run`` (which reopens the ``kedro run``'s run and logs the node's parameters):
    before every node the rung's run is left (``tryfirst``), after it the node's rung's run is
    entered (``trylast``, ``EnterRungRunHook``), so kedro-mlflow always finds its own run on top.
    A runner that runs nodes in several threads or processes (or ``--async`` saving) cannot keep
    one active run per rung: such a run fails before the rung's first node.
    """

    def __init__(self) -> None:
        self._ladder: dict[str, dict] = {}
        self._task = "classification"
        self._shared: dict = {}
        self._runs: dict[str, str] = {}
        self._active: str | None = None

    @hook_impl(tryfirst=True)  # before anything builds the pipelines
    def after_context_created(self, context) -> None:
        from lmladder.pipelines.ladder_rungs import use_rungs
        from lmladder.pipelines.session_task import use_task

        params = context.config_loader["parameters"]
        self._task = params.get("task", "classification")
        use_task(self._task)
        self._ladder = ladder_parameters(params)
        self._shared = {"seed": params.get("seed"), "evaluation": params.get("evaluation")}
        self._runs, self._active = {}, None
        use_rungs(list(self._ladder))

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict, pipeline) -> None:
        selection = [node for node in pipeline.nodes if node.name == "select_model"]
        built = {name.split(".")[0] for node in selection for name in node.inputs if name.endswith(".rung_summary")}
        if selection and built != set(self._ladder):
            raise ConfigError(
                f"model_selection was built for the rungs {sorted(built)} but this session's ladder is {sorted(self._ladder)}: "
                "pipelines are built once per process; call kedro.framework.startup.bootstrap_project() before a session with another ladder"
            )
        if self._task == "generation" and any(node.name.startswith("retraining.") for node in pipeline.nodes):
            raise ConfigError(
                "retraining compares and promotes classifiers; task is generation. Run retraining with task: classification "
                "(a scheduled retraining of a generator is not built yet)"
            )
        encoders = sorted(rung for rung in built if self._ladder.get(rung, {}).get("rung", {}).get("architecture") == "encoder")
        if self._task == "generation" and encoders:
            raise ConfigError(
                f"task is generation but the ladder's rungs {encoders} are encoders, which cannot write text: set "
                "model_selection.architecture_comparison.architecture to [encoder-decoder] (and no encoder in model_selection.rungs)"
            )
        finetuners = {node.name.rsplit(".", 1)[-1] for node in pipeline.nodes} & {"finetune_classifier", "finetune_generator"}
        if finetuners and finetuners != {"finetune_generator" if self._task == "generation" else "finetune_classifier"}:
            raise ConfigError(
                f"the pipelines were built for another task than this session's task ({self._task}): pipelines are built "
                "once per process; call kedro.framework.startup.bootstrap_project() before a session with another task"
            )
        runner = str(run_params.get("runner"))
        if any(rung_of(node, self._ladder) for node in pipeline.nodes) and CONCURRENT_RUNNER.search(runner):
            raise ConfigError(
                "model_selection logs each rung into its own MLflow run, which needs one node at a time in one thread: "
                f"run it with the default SequentialRunner, not {CONCURRENT_RUNNER.search(runner).group(0)} "
                "(Airflow runs rungs in parallel as separate tasks)"
            )

    @hook_impl(tryfirst=True)
    def before_node_run(self) -> None:
        self._leave_rung("FINISHED")

    def enter_rung(self, node, is_async: bool) -> None:
        import mlflow

        from lmladder.tracking.orphans import owner_tags

        rung = rung_of(node, self._ladder)
        if rung is None or mlflow.active_run() is None:
            return
        if is_async:  # outputs would be saved in other threads, where the rung's run is not the active one
            raise ConfigError(
                f"model_selection cannot run rung {rung} with --async: each rung's outputs are logged into its own MLflow run"
            )
        if rung in self._runs:
            mlflow.start_run(run_id=self._runs[rung], nested=True)
        else:
            run = mlflow.start_run(run_name=rung, nested=True, tags={"rung": rung, **owner_tags()})
            self._runs[rung] = run.info.run_id
            mlflow.log_params(rung_run_params(self._shared, self._ladder[rung]))
        self._active = rung

    def _leave_rung(self, status: str) -> None:
        import mlflow

        if self._active is not None:
            mlflow.end_run(status)
            self._active = None

    @hook_impl(tryfirst=True)
    def after_pipeline_run(self) -> None:
        self._leave_rung("FINISHED")

    @hook_impl(tryfirst=True)
    def on_pipeline_error(self) -> None:
        self._leave_rung("FAILED")


class EnterRungRunHook:
    """The second half of ``LadderRunHooks``'s switch: enter the rung's run after kedro-mlflow's
    ``before_node_run`` (a hook class has one implementation per hook, hence a class of its own)."""

    def __init__(self, ladder_runs: LadderRunHooks) -> None:
        self._ladder_runs = ladder_runs

    @hook_impl(trylast=True)
    def before_node_run(self, node, is_async: bool) -> None:
        self._ladder_runs.enter_rung(node, is_async)


class RetrainingHooks:
    """The retraining pipeline runs only as ``kedro retrain`` planned it, and its decision goes on
    the run's tags."""

    def __init__(self) -> None:
        self._plan: dict | None = None

    @hook_impl
    def after_context_created(self, context) -> None:
        self._plan = (context.config_loader["parameters"].get("retraining") or {}).get("plan")

    @hook_impl(tryfirst=True)  # before kedro-mlflow opens a run for a run that must not happen
    def before_pipeline_run(self, pipeline) -> None:
        if self._plan is None and any((node.namespace or "").split(".")[0] == "retraining" for node in pipeline.nodes):
            raise ConfigError(
                "the retraining pipeline runs through `kedro retrain`, which first decides whether there is anything "
                "to train (and takes the retraining lock); run `kedro retrain [--env ENV] [--params ...]` instead of kedro run"
            )

    @hook_impl
    def after_node_run(self, outputs: dict) -> None:
        import mlflow

        if mlflow.active_run() is None:
            return
        if "retraining.plan" in outputs and outputs["retraining.plan"].get("fingerprint"):
            mlflow.set_tag("retraining_fingerprint", outputs["retraining.plan"]["fingerprint"])
        decision = outputs.get("retraining.decision") or outputs.get("retraining.no_training")
        if decision is not None:
            mlflow.set_tags({"decision": decision["decision"], "decision_reasons": "; ".join(decision["reasons"])[:5000]})


# retraining.pipeline.NO_TRAINING_NODE (a test keeps them equal): importing the pipeline here would
# import every library it runs into each session's start.
NO_TRAINING_NODE = "retraining.record_no_training"


class RunLockHooks:
    """Two ``kedro run``s of one project never write the same outputs at once: each run holds a lock
    on the project's data (the second waits, and says so). A run of one ladder rung alone (an Airflow
    task of model_selection) writes only that rung's outputs, so it locks just the rung and rungs
    still train in parallel."""

    def __init__(self) -> None:
        self._project_path = Path.cwd()
        self._rungs: set[str] = set()
        self._lock: FileLock | None = None

    @hook_impl
    def after_context_created(self, context) -> None:
        from lmladder.selection.ladder import expand_ladder

        self._project_path = Path(context.project_path)
        selection = context.config_loader["parameters"].get("model_selection") or {}
        self._rungs = set(expand_ladder(selection)) if selection.get("rungs") or selection.get("budgets") else set()

    @hook_impl(tryfirst=True)  # after the tryfirst checks (registered later), before kedro-mlflow opens its run
    def before_pipeline_run(self, pipeline) -> None:
        if {node.name for node in pipeline.nodes} == {NO_TRAINING_NODE}:
            return  # `kedro retrain` with nothing to do writes no output: it must not wait for a running retraining
        namespaces = {node.namespace.split(".")[0] if node.namespace else None for node in pipeline.nodes}
        rung = namespaces.pop() if len(namespaces) == 1 else None
        name = f"rung-{rung}" if rung in self._rungs else "project"
        path = self._project_path / "data" / ".locks" / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(path)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            log.warning("Another kedro run of this project is writing its outputs (%s is held); waiting for it to finish", path)
            self._lock.acquire()

    @hook_impl(tryfirst=True)  # released even when a later hook (kedro-mlflow's) raises
    def after_pipeline_run(self) -> None:
        self._release()

    @hook_impl(tryfirst=True)
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
