from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

from tests.conftest import PROJECT_ROOT


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
