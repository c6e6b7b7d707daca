import pytest
from filelock import FileLock
from kedro.config import MissingConfigException
from kedro.io import DatasetError

from lmladder.errors import ConfigError
from lmladder.pipelines.retraining.plan import retraining_plan


class FakeConfig(dict):
    def __getitem__(self, key):
        if key not in self:
            raise MissingConfigException(f"no {key}")
        return super().__getitem__(key)


def config(tmp_path, train="pretrain"):
    missing = {"type": "text.TextDataset", "filepath": str(tmp_path / "missing.txt")}
    return FakeConfig(
        parameters={
            "retraining": {"train": train, "lock_file": "data/.retraining.lock", "champion_alias": "champion", "force": False},
            "evaluation": {"registered_model_name": "m"},
            "data_processing": {},
        },
        catalog={"pretrained_model": {"path": "data/06_models/pretrained_model"}, "raw_corpus": missing, "raw_labelled": missing},
    )


def test_a_plan_that_fails_releases_the_lock(tmp_path):
    with pytest.raises(DatasetError), retraining_plan(config(tmp_path), tmp_path):
        pass  # the raw data cannot be read
    with FileLock(tmp_path / "data" / ".retraining.lock", timeout=0):
        pass


def test_a_held_lock_gives_a_refusal_and_is_left_to_its_holder(tmp_path):
    lock = FileLock(tmp_path / "data" / ".retraining.lock")
    with lock, retraining_plan(config(tmp_path), tmp_path) as plan:
        assert plan["action"] == "refuse" and "another retraining is running" in plan["message"]
        assert lock.is_locked


def test_finetune_mode_without_a_pretrained_model_says_what_to_run(tmp_path):
    with pytest.raises(
        ConfigError, match=r"retraining.train is 'finetune' but there is no pretrained model in .*kedro run --pipelines pretraining"
    ):
        with retraining_plan(config(tmp_path, train="finetune"), tmp_path):
            pass


def test_unknown_train_mode_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"retraining.train must be one of \('finetune', 'pretrain'\), got 'continue'"):
        with retraining_plan(config(tmp_path, train="continue"), tmp_path):
            pass
