"""What the Airflow DAGs' tasks call (the DAGs come from ``conf/airflow/*.j2``, see ``conf/base/airflow.yml``).

An Airflow task runs wherever the worker runs: its working directory is not the project, and its
environment is the worker's. Each task therefore enters the project first (``project``): the folder
is ``LMLADDER_PROJECT_PATH`` when the worker sets it (the project lives elsewhere on the workers than
where the DAG was generated), else the folder ``kedro airflow create`` baked into the DAG. Inside, Kedro
finds the project as ``kedro run`` does (``${project_root:}`` in ``mlflow.yml``, the hooks' locks)
and logs one plain line per message (``conf/logging_plain.yml``, unless ``KEDRO_LOGGING_CONFIG`` says
otherwise): Kedro's rich console handler would wrap every line of the task's log.

The environment is the one the DAG was generated for (``kedro airflow create --env``); a worker's
``KEDRO_ENV`` does not change it (Kedro gives an explicit environment precedence).

Kedro is imported inside the functions: Airflow imports the DAG files often (parsing), and importing
``kedro.framework.project`` configures logging for the whole process.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

PROJECT_PATH_VARIABLE = "LMLADDER_PROJECT_PATH"


def project_path(baked: str) -> Path:
    """The project folder: ``LMLADDER_PROJECT_PATH`` if set, else ``baked`` (written by ``kedro airflow create``)."""
    path = Path(os.environ.get(PROJECT_PATH_VARIABLE) or baked)
    if not (path / "pyproject.toml").is_file():
        source = PROJECT_PATH_VARIABLE if os.environ.get(PROJECT_PATH_VARIABLE) else "the path baked into the DAG"
        raise FileNotFoundError(
            f"no lmladder project at {path} ({source}): set {PROJECT_PATH_VARIABLE} on the Airflow workers to the "
            "project folder, or regenerate the DAG with `kedro airflow create` from the project folder"
        )
    return path


@contextlib.contextmanager
def project(baked: str) -> Iterator[Path]:
    """Work inside the project (see the module's docstring); the previous directory is restored after."""
    path = project_path(baked)
    plain = path / "conf" / "logging_plain.yml"
    if "KEDRO_LOGGING_CONFIG" not in os.environ and plain.is_file():
        os.environ["KEDRO_LOGGING_CONFIG"] = str(plain)  # read when kedro.framework.project is first imported
    with contextlib.chdir(path):  # settings.project_root (mlflow.yml's ${project_root:}) reads the working directory
        yield path


def run_group(baked_path: str, env: str, conf_source: str | None, pipeline_name: str, namespaces=None, node_names=None) -> None:
    """One task of a DAG kedro-airflow grouped: its namespaces (or nodes) of ``pipeline_name``, as one ``kedro run``."""
    with project(baked_path) as path:
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(path)  # also resets the pipelines, built again for this session's ladder
        with KedroSession.create(project_path=path, env=env, conf_source=conf_source) as session:
            session.run(pipeline_names=[pipeline_name], namespaces=namespaces, node_names=node_names)


def retrain(baked_path: str, env: str, conf_source: str | None) -> str:
    """The retraining task: what ``kedro retrain`` does. Returns (Airflow keeps it as the task's XCom) the
    plan's action and message, e.g. ``skip: up to date: champion v1 was trained on this data``."""
    with project(baked_path) as path:
        from lmladder.cli import run_retraining

        plan = run_retraining(path, env=env, conf_source=conf_source)
        return f"{plan['action']}: {plan['message']}"
