"""The generated DAGs run by Airflow itself: `airflow dags test` on a SQLite metadata database in a
scratch AIRFLOW_HOME, started outside the project folder with a worker's `KEDRO_ENV` that is not the
DAG's. The ladder's DAG (conf/test) and the retraining DAG share one dags folder (distinct dag ids).

`airflow dags test` runs the tasks one after the other, in its own process (Airflow 3's `dag.test()`
without `--use-executor`): one Kedro session per task, in one process, as a worker would run them.
Every task's state and duration is read back from Airflow's metadata database and printed
(`pytest -s`)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from tests.conftest import PLAIN_LOGGING, copy_project, outputs, runs_of

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("airflow") is None, reason="Airflow is not installed (pip install -e '.[airflow]')"
)

AIRFLOW = Path(sys.executable).parent / "airflow"
# conf/test's ladder (see tests/pipelines/model_selection/test_pipeline.py), as kedro-airflow names its tasks
RUNGS = [f"{budget}_{size}" for budget in ("c1", "c2") for size in ("d1", "d2", "d3")]
RUNGS += [f"c1_{size}_seed1" for size in ("d1", "d2", "d3")] + ["c1_d2_encoder", "c1_d2_encoder_decoder", "default_model"]
SWEEP = [f"lr_sweep_{index}" for index in (1, 2, 3)]
LADDER_TASKS = {"shared-data", "calibrate-learning-rate", "select-model", *(rung.replace("_", "-") for rung in RUNGS + SWEEP)}


class Airflow:
    """A scratch Airflow installation whose dags folder holds the project copy's generated DAGs."""

    def __init__(self, root: Path, project: Path):
        self.root, self.project, self.home = root, project, root / "airflow_home"
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home}/airflow.db",
            "KEDRO_DISABLE_TELEMETRY": "1",
            "KEDRO_ENV": "local",  # a worker's: the DAG runs in the environment it was generated for (test)
        }
        self.env.pop("KEDRO_LOGGING_CONFIG", None)  # the task chooses the project's plain logging itself
        self.env.pop("LMLADDER_PROJECT_PATH", None)  # the project path baked into the DAG

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        # cwd: not the project, as for a scheduler or a worker
        return subprocess.run([str(AIRFLOW), *args], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=1500)

    def start(self, log: Path, *args: str) -> subprocess.Popen:
        with log.open("w") as output:  # the child keeps its own copy of the file descriptor
            return subprocess.Popen([str(AIRFLOW), *args], cwd=self.root, env=self.env, stdout=output, stderr=subprocess.STDOUT)

    def newest_run(self, dag_id: str) -> str:
        with sqlite3.connect(self.home / "airflow.db") as db:
            return db.execute("SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)).fetchone()[0]

    def task_instances(self, dag_id: str) -> dict[str, tuple[str, float]]:
        """The newest run of ``dag_id``: each task's state and duration (seconds), from the metadata database."""
        run_id = self.newest_run(dag_id)
        with sqlite3.connect(self.home / "airflow.db") as db:
            rows = db.execute(
                "SELECT task_id, state, duration FROM task_instance WHERE dag_id = ? AND run_id = ? ORDER BY start_date",
                (dag_id, run_id),
            ).fetchall()
        report = "\n".join(f"  {task:<24} {state:<8} {duration or 0:7.1f} s" for task, state, duration in rows)
        print(f"\n{dag_id} {run_id}:\n{report}\n  total {sum(d or 0 for _, _, d in rows):.1f} s")
        return {task: (state, duration) for task, state, duration in rows}


def generate(project: Path, dags: Path, *args: str) -> None:
    # retries=0: a failing task fails the test now, not after the configured retry delays
    command = [sys.executable, "-m", "kedro", "airflow", "create", "--env", "test", "--params", "retries=0", "--target-dir", str(dags)]
    variables = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "KEDRO_LOGGING_CONFIG": str(PLAIN_LOGGING)}
    result = subprocess.run([*command, *args], cwd=project, capture_output=True, text=True, timeout=300, env=variables)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def airflow(tmp_path_factory) -> Airflow:
    root = tmp_path_factory.mktemp("airflow")
    project = copy_project(root / "project")
    shutil.copy(PLAIN_LOGGING, project / "conf" / PLAIN_LOGGING.name)  # the tasks' logging (lmladder.airflow_tasks)
    generate(
        project, root / "dags", "--pipelines", "model_selection", "--group-by", "namespace", "--jinja-file", "conf/airflow/grouped_dag.j2"
    )
    generate(project, root / "dags", "--pipelines", "retraining", "--jinja-file", "conf/airflow/retraining_dag.j2")
    airflow = Airflow(root, project)
    result = airflow("db", "migrate")
    assert result.returncode == 0, result.stderr[-3000:]
    return airflow


def test_the_ladder_dag_runs_every_task_and_logs_every_rung_to_the_projects_mlflow(airflow, selection_run):
    result = airflow("dags", "test", "lmladder-test-model-selection")
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]

    tasks = airflow.task_instances("lmladder-test-model-selection")
    assert set(tasks) == LADDER_TASKS
    assert {task: state for task, (state, _) in tasks.items() if state != "success"} == {}

    # every task is its own session: a "model_selection" run per task, the rung's run nested in it
    client, runs = runs_of(airflow.project)
    by_name = {}
    for run in runs:
        by_name.setdefault(run.info.run_name, []).append(run)
    for rung in RUNGS + SWEEP:
        (run,) = by_name[rung]
        assert run.info.status == "FINISHED" and run.data.tags["rung"] == rung
        assert "rung.val_loss" in run.data.metrics
        task_run = client.get_run(run.data.tags["mlflow.parentRunId"])
        assert task_run.info.run_name == "model_selection" and task_run.data.tags["kedro_env"] == "test"
    selection = [run for run in by_name["model_selection"] if "model_selection_metrics.law.alpha" in run.data.metrics]
    assert len(selection) == 1 and selection[0].info.status == "FINISHED"
    assert not (airflow.project / "data" / "local").exists()  # KEDRO_ENV=local on the worker changed nothing

    # a second full run of the ladder, each rung in a session of its own, recommends what `kedro run` did
    recommendation = [
        json.loads((outputs(project) / "08_reporting" / "model_selection.json").read_text())["recommendation"]
        for project in (airflow.project, selection_run)
    ]
    assert recommendation[0]["recommended"] == recommendation[1]["recommended"]
    assert recommendation[0]["tied"] == recommendation[1]["tied"]


def test_two_rung_tasks_run_at_once_in_separate_processes(airflow):
    """A scheduler runs the rungs in parallel, each task in its own process: two rung tasks at once
    (`airflow tasks test`, after the DAG's run above made their inputs) share the project's files,
    its locks and its SQLite MLflow store, and both succeed. They start together: both wait for the
    tracking lock (held here) that every session takes when it starts, then train from scratch. They
    run in the DAG's run: without a run id, each `tasks test` writes a temporary DAG run of its own into
    Airflow's SQLite database, and two at once fail there (IntegrityError: FOREIGN KEY constraint failed)."""
    rungs = ("c1_d1", "c1_d3")  # two of the cheapest rungs: the point is their overlap, not their size
    run_id = airflow.newest_run("lmladder-test-model-selection")
    shutil.rmtree(airflow.project / "data" / "test" / "06_models" / "pretraining" / "checkpoints")  # no resuming
    logs = [airflow.root / f"{rung}.log" for rung in rungs]
    with FileLock(airflow.project / "data" / ".locks" / "tracking.lock"):
        processes = [
            airflow.start(log, "tasks", "test", "lmladder-test-model-selection", rung.replace("_", "-"), run_id)
            for rung, log in zip(rungs, logs, strict=True)
        ]
        deadline = time.monotonic() + 300
        while not all("Kedro project lmladder" in log.read_text() for log in logs):  # both sessions are starting
            assert time.monotonic() < deadline and all(process.poll() is None for process in processes), [
                log.read_text()[-3000:] for log in logs
            ]
            time.sleep(1)
    for process, log in zip(processes, logs, strict=True):
        assert process.wait(timeout=1500) == 0, log.read_text()[-5000:]

    client, runs = runs_of(airflow.project)
    assert all(sum(run.info.run_name == rung for run in runs) == 2 for rung in rungs)  # the DAG's run's and this one
    newest = {rung: max((run for run in runs if run.info.run_name == rung), key=lambda run: run.info.start_time) for rung in rungs}
    assert all(run.info.status == "FINISHED" and "rung.val_loss" in run.data.metrics for run in newest.values())
    first, second = newest.values()
    assert first.info.start_time < second.info.end_time and second.info.start_time < first.info.end_time  # they overlapped


def test_the_retraining_dag_promotes_then_is_up_to_date(airflow):
    first = airflow("dags", "test", "lmladder-test-retraining")
    assert first.returncode == 0, (first.stdout + first.stderr)[-5000:]
    assert airflow.task_instances("lmladder-test-retraining")["retraining"][0] == "success"
    assert "Returned value was: train: training a challenger" in first.stdout + first.stderr
    client, _ = runs_of(airflow.project)
    assert client.get_model_version_by_alias("lmladder-classifier-test", "champion").version == 1

    second = airflow("dags", "test", "lmladder-test-retraining")
    assert second.returncode == 0, (second.stdout + second.stderr)[-5000:]
    assert airflow.task_instances("lmladder-test-retraining")["retraining"][0] == "success"
    assert "Returned value was: skip: up to date: champion v1 was trained on this data" in second.stdout + second.stderr
