import json
import os
import subprocess
import sys

from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT, copy_project


def test_default_runs_every_stage_and_training_depends_on_validation():
    bootstrap_project(PROJECT_ROOT)
    pipelines.set_requested(None)
    default = pipelines["__default__"]
    parts = ("data_processing", "data_validation", "pretraining", "finetuning", "evaluation")
    assert {n.name for n in default.nodes} == {n.name for name in parts for n in pipelines[name].nodes}
    for training in ("pretraining", "finetuning"):  # nothing trains on unvalidated data
        assert "validated_data" in pipelines[training].inputs()


def test_one_pipeline_can_be_run_alone():
    """`kedro run --pipelines data_processing` loads only that pipeline; the registry must cope."""
    bootstrap_project(PROJECT_ROOT)
    pipelines.set_requested(["data_processing"])
    try:
        assert "train_tokens" in pipelines["data_processing"].all_outputs()
    finally:
        pipelines.set_requested(None)


BUILD_ALL = """
import json
from pathlib import Path
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project
bootstrap_project(Path.cwd())
print(json.dumps({name: len(pipelines[name].nodes) for name in pipelines}))
"""


def test_building_every_pipeline_touches_no_file_lock_or_registry(tmp_path):
    """`kedro viz`, `kedro airflow create` or a notebook build pipelines: building decides nothing."""
    project = copy_project(tmp_path)
    before = sorted(path.relative_to(project) for path in project.rglob("*"))
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1", "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/elsewhere.db"}
    result = subprocess.run([sys.executable, "-c", BUILD_ALL], cwd=project, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    built = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"__default__", "retraining", "retraining_pretrain", "model_selection", "data_processing"} <= set(built)
    assert all(count > 0 for count in built.values())
    assert sorted(path.relative_to(project) for path in project.rglob("*")) == before  # no mlflow.db, lock or output
    assert not (tmp_path / "elsewhere.db").exists()  # and no tracking store or registry reached
