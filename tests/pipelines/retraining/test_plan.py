import pytest
from filelock import FileLock
from kedro.io import DataCatalog, DatasetError

from lmladder.errors import ConfigError
from lmladder.pipelines.retraining.plan import retraining_plan


def config(train="pretrain"):
    return {
        "parameters": {
            "retraining": {"train": train, "lock_file": "data/.retraining.lock", "champion_alias": "champion", "force": False},
            "evaluation": {"registered_model_name": "m"},
            "data_processing": {},
        },
        "catalog": {"pretrained_model": {"path": "data/06_models/pretrained_model"}},
    }


def missing_raw_data(tmp_path) -> DataCatalog:
    missing = {"type": "text.TextDataset", "filepath": str(tmp_path / "missing.txt")}
    return DataCatalog.from_config({"raw_corpus": missing, "raw_labelled": missing})


def test_a_plan_that_fails_releases_the_lock(tmp_path):
    with pytest.raises(DatasetError), retraining_plan(config(), missing_raw_data(tmp_path), tmp_path):
        pass  # the raw data cannot be read
    with FileLock(tmp_path / "data" / ".retraining.lock", timeout=0):
        pass


def test_a_held_lock_gives_a_refusal_and_is_left_to_its_holder(tmp_path):
    lock = FileLock(tmp_path / "data" / ".retraining.lock")
    with lock, retraining_plan(config(), missing_raw_data(tmp_path), tmp_path) as plan:
        assert plan["action"] == "refuse" and "another retraining is running" in plan["message"]
        assert lock.is_locked


def test_finetune_mode_without_a_pretrained_model_says_what_to_run(tmp_path):
    with pytest.raises(
        ConfigError, match=r"retraining.train is 'finetune' but there is no pretrained model in .*kedro run --pipelines pretraining"
    ):
        with retraining_plan(config(train="finetune"), missing_raw_data(tmp_path), tmp_path):
            pass


def test_unknown_train_mode_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"retraining.train must be one of \('finetune', 'pretrain'\), got 'continue'"):
        with retraining_plan(config(train="continue"), missing_raw_data(tmp_path), tmp_path):
            pass
