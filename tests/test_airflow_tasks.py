"""Where an Airflow task finds the project (lmladder.airflow_tasks); the DAGs themselves run under
Airflow in tests/pipelines/test_airflow_dags.py."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from lmladder.airflow_tasks import PROJECT_PATH_VARIABLE, project, project_path


def make_project(folder: Path, plain_logging: bool = True) -> Path:
    (folder / "conf").mkdir(parents=True)
    (folder / "pyproject.toml").write_text("[tool.kedro]\n")
    if plain_logging:
        (folder / "conf" / "logging_plain.yml").write_text("version: 1\n")
    return folder


def test_the_baked_path_is_used_unless_the_worker_sets_the_variable(tmp_path, monkeypatch):
    baked, deployed = make_project(tmp_path / "baked"), make_project(tmp_path / "deployed")
    monkeypatch.delenv(PROJECT_PATH_VARIABLE, raising=False)
    assert project_path(str(baked)) == baked
    monkeypatch.setenv(PROJECT_PATH_VARIABLE, str(deployed))
    assert project_path(str(baked)) == deployed


def test_no_project_at_the_baked_path_names_it_and_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv(PROJECT_PATH_VARIABLE, raising=False)
    with pytest.raises(
        FileNotFoundError,
        match=f"no lmladder project at {re.escape(str(tmp_path))} \\(the path baked into the DAG\\).*{PROJECT_PATH_VARIABLE}",
    ):
        project_path(str(tmp_path))


def test_no_project_at_the_variables_path_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(PROJECT_PATH_VARIABLE, str(tmp_path / "missing"))
    with pytest.raises(
        FileNotFoundError, match=f"no lmladder project at {re.escape(str(tmp_path / 'missing'))} \\({PROJECT_PATH_VARIABLE}\\)"
    ):
        project_path(str(make_project(tmp_path / "baked")))


def test_a_task_works_inside_the_project_with_plain_logging_then_leaves(tmp_path, monkeypatch):
    folder = make_project(tmp_path / "project")
    monkeypatch.delenv(PROJECT_PATH_VARIABLE, raising=False)
    monkeypatch.delenv("KEDRO_LOGGING_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    with project(str(folder)) as path:
        assert path == folder and Path.cwd() == folder
        assert os.environ["KEDRO_LOGGING_CONFIG"] == str(folder / "conf" / "logging_plain.yml")
    assert Path.cwd() == tmp_path


def test_a_logging_config_the_worker_chose_is_kept(tmp_path, monkeypatch):
    folder = make_project(tmp_path / "project")
    monkeypatch.delenv(PROJECT_PATH_VARIABLE, raising=False)
    monkeypatch.setenv("KEDRO_LOGGING_CONFIG", "/etc/kedro/logging.yml")
    with project(str(folder)):
        assert os.environ["KEDRO_LOGGING_CONFIG"] == "/etc/kedro/logging.yml"
