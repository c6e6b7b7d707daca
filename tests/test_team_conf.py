"""conf/team/mlflow.yml replaces base's `server` and `tracking` sections (Kedro merges an environment's
mlflow.yml over base's key by key at the top level): it must change where runs go and nothing else."""

from __future__ import annotations

import yaml

from tests.conftest import PROJECT_ROOT


def read(env: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / "conf" / env / "mlflow.yml").read_text())


def test_team_tracking_differs_from_base_only_in_where_runs_and_artifacts_go():
    base, team = read("base"), read("team")
    assert team["server"]["mlflow_tracking_uri"].startswith("http://")
    assert team["server"]["credentials"] == "mlflow_team"  # exported from conf/team/credentials.yml when present
    assert team["server"]["mlflow_registry_uri"] == team["server"]["mlflow_tracking_uri"]  # one store, as in base
    assert base["server"]["mlflow_registry_uri"] == base["server"]["mlflow_tracking_uri"]
    where = {"mlflow_tracking_uri": None, "mlflow_registry_uri": None, "credentials": None}
    assert {**team["server"], **where} == {**base["server"], **where}
    assert team["tracking"]["experiment"]["create_experiment_kwargs"]["artifact_location"] is None  # the server's store
    team["tracking"]["experiment"]["create_experiment_kwargs"]["artifact_location"] = base["tracking"]["experiment"][
        "create_experiment_kwargs"
    ]["artifact_location"]
    assert team["tracking"] == base["tracking"]
    assert set(team) == {"server", "tracking"}  # everything else is base's


def test_credentials_files_of_any_environment_are_ignored_by_git():
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert "conf/*/credentials*.yml" in ignored and "conf/local/**" in ignored
