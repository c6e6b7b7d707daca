"""Shared fixtures and helpers: the project's own configuration, a scratch copy of the project, and
`kedro run` in a subprocess with its MLflow runs read back."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog

from lmladder.settings import CONFIG_LOADER_ARGS, ProjectConfigLoader

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
PLAIN_LOGGING = PROJECT_ROOT / "conf" / "logging_plain.yml"  # one line per message

# Tests that run the kedro CLI, whole pipelines or a model server, under these paths of tests/:
# marked `slow`, so that `make test-fast` (pytest -m "not slow") checks every library in a minute or two.
SLOW_TESTS = (
    "pipelines/",
    "reliability/",
    "tracking/test_serving.py",
    "tracking/test_generator_serving.py",
    "tracking/test_team_server.py",
    "test_hub_env.py",
    "test_pipeline_registry.py",
    "test_readme_commands.py",
    "test_run.py",
)


def pytest_configure(config) -> None:
    # Hardware probes (lmladder.training.hardware) measured by the tests go to a scratch cache, never the
    # developer's ~/.cache/lmladder; the kedro runs the tests start inherit it.
    os.environ["LMLADDER_CACHE_DIR"] = tempfile.mkdtemp(prefix="lmladder-test-cache-")


def pytest_collection_modifyitems(items) -> None:
    tests = PROJECT_ROOT / "tests"
    for item in items:
        if item.path.relative_to(tests).as_posix().startswith(SLOW_TESTS):
            item.add_marker(pytest.mark.slow)


def load_parameters(env: str = "test") -> dict:
    loader = ProjectConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env=env,
        base_env="base",
        default_run_env="local",
        merge_strategy=CONFIG_LOADER_ARGS["merge_strategy"],
        custom_resolvers=CONFIG_LOADER_ARGS["custom_resolvers"],
    )
    return loader["parameters"]


def add_parameters(catalog: DataCatalog, params: dict, prefix: str = "params:") -> None:
    """Feed parameters the way a Kedro session does: every nested key gets its own entry."""
    for key, value in params.items():
        catalog[f"{prefix}{key}"] = value
        if isinstance(value, dict):
            add_parameters(catalog, value, f"{prefix}{key}.")


@pytest.fixture
def test_params() -> dict:
    return load_parameters("test")


def copy_project(destination: Path) -> Path:
    """The project's conf and metadata in a scratch folder, so runs there write their data and
    mlflow.db there and never into the checkout."""
    for name in ("conf/base", "conf/test", "conf/airflow"):  # not conf/local: it holds the developer's own settings
        shutil.copytree(PROJECT_ROOT / name, destination / name)
    (destination / "conf" / "local").mkdir()
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy(PROJECT_ROOT / name, destination / name)
    (destination / "src").mkdir()  # bootstrap_project wants it; the package itself is installed
    (destination / "data" / "01_raw").mkdir(parents=True)
    return destination


def outputs(project: Path, env: str = "test") -> Path:
    """Where a run in ``env`` writes its outputs: ``data/<env>/`` (see ``ProjectConfigLoader``)."""
    return project / "data" / env


@pytest.fixture
def project_copy(tmp_path, monkeypatch) -> Path:
    """A scratch copy of the project (see ``copy_project``), which becomes the working directory."""
    monkeypatch.chdir(copy_project(tmp_path))
    return tmp_path


@pytest.fixture(autouse=True)
def no_mlflow_state_left_behind():
    """kedro-mlflow re-opens its run in every node; make sure no test leaks an active run into the next.
    Nor a registry URI: ``mlflow.set_registry_uri`` also exports MLFLOW_REGISTRY_URI, which every later
    client of this process, and every subprocess, would take over the tracking store it is given."""
    yield
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_registry_uri(None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)


@pytest.fixture(scope="session")
def selection_run(tmp_path_factory) -> Path:
    """One `model_selection` run on conf/test's ladder (15 rungs: 12 fine-tuned, 3 learning-rate sweep
    points), shared by the pipeline's tests and by the Airflow DAG's test, which checks that the same
    ladder run through Airflow recommends the same."""
    return run_model_selection(copy_project(tmp_path_factory.mktemp("selection")))


def run_model_selection(project: Path) -> Path:
    """`model_selection` on conf/test in ``project``, in this process, as `kedro run` runs it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(project)
        bootstrap_project(project)
        with KedroSession.create(project_path=project, env="test") as session:
            session.run(pipeline_names=["model_selection"])
    return project


def written(folder: Path) -> bool:
    """Whether a run wrote anything into ``folder``."""
    return folder.exists() and any(folder.iterdir())


def runs_of(project) -> tuple:
    """The MLflow client of a project's ``mlflow.db`` and the runs of its ``lmladder`` experiment."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("lmladder")
    return client, client.search_runs([experiment.experiment_id]) if experiment else []


def kedro_run(project, *args: str, env: str = "test") -> subprocess.CompletedProcess:
    """``kedro run`` in ``project``, in a subprocess, logging one plain line per message."""
    variables = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "KEDRO_LOGGING_CONFIG": str(PLAIN_LOGGING)}
    return subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--env", env, *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=variables,
        timeout=600,
    )
