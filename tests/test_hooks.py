import threading
from types import SimpleNamespace

import pytest
from filelock import FileLock, Timeout

from lmladder import hooks as hooks_module
from lmladder.errors import ConfigError
from lmladder.hooks import (
    LadderRunHooks,
    RunLockHooks,
    check_corpus_catalog,
    check_no_secrets,
    check_not_one_of_several_ranks,
    check_tracking_settings,
    is_secret_name,
)
from lmladder.pipelines.data_processing import create_pipeline as data_processing
from lmladder.pipelines.finetuning import create_pipeline as finetuning_pipeline
from lmladder.pipelines.model_selection import create_pipeline as model_selection
from tests.conftest import load_parameters

ARROW_CORPUS = {"type": "lmladder.datasets.TextSourceDataset", "source": "hub", "dataset": "x", "in_memory": False}
ARROW_OUTPUT = {"type": "lmladder.datasets.ArrowDataset", "path": "data/03_primary/corpus_train"}
PARQUET_OUTPUT = {"type": "pandas.ParquetDataset", "filepath": "data/03_primary/corpus_val.parquet"}


def test_an_arrow_corpus_with_arrow_outputs_and_an_in_memory_corpus_with_any_outputs_pass():
    check_corpus_catalog({"raw_corpus": ARROW_CORPUS, "corpus_train": ARROW_OUTPUT, "corpus_val": ARROW_OUTPUT})
    check_corpus_catalog({"raw_corpus": {**ARROW_CORPUS, "in_memory": True}, "corpus_train": PARQUET_OUTPUT, "corpus_val": ARROW_OUTPUT})
    check_corpus_catalog({})


def test_an_arrow_corpus_with_a_pandas_output_is_refused_naming_it():
    with pytest.raises(
        ConfigError,
        match=r"in_memory: false, so corpus_val must be lmladder.datasets.ArrowDataset in the catalog, not pandas.ParquetDataset",
    ):
        check_corpus_catalog({"raw_corpus": ARROW_CORPUS, "corpus_train": ARROW_OUTPUT, "corpus_val": PARQUET_OUTPUT})
    with pytest.raises(ConfigError, match=r"so corpus_train and corpus_val must be .* not None, pandas.ParquetDataset"):
        check_corpus_catalog({"raw_corpus": ARROW_CORPUS, "corpus_val": PARQUET_OUTPUT})


def test_secret_names_are_recognised_and_counts_of_tokens_are_not():
    for name in (
        "hub.token",
        "db_password",
        "api-key",
        "hfAccessToken",
        "api_tokens",
        "auth",
        "passphrase",
        "pwd",
        "AWS_SECRET",
        "api_keys",
        "private_keys",
        "credentials",
        "db.credential",
        "clientSecrets",
        "privateKey",
    ):
        assert is_secret_name(name), name
    for name in (
        "max_tokens",
        "tokenizer.vocab_size",
        "tokens_per_step",
        "keyword",
        "min_tokens_per_split",
        "attention_max_tokens",
        "sort_keys",
        "primary_keys",
    ):
        assert not is_secret_name(name), name


def test_a_secret_parameter_is_refused_naming_it_and_where_credentials_go():
    with pytest.raises(ConfigError, match=r"parameter hub.hfAccessToken looks like a secret.*conf/local/credentials.yml"):
        check_no_secrets({"seed": 1, "hub": {"name": "x", "hfAccessToken": "hf_abc"}})
    with pytest.raises(ConfigError, match=r"parameter hub.mirrors\[1\].password looks like a secret"):
        check_no_secrets({"hub": {"mirrors": [{"url": "a"}, {"url": "b", "password": "x"}]}})
    check_no_secrets(load_parameters("test"))  # the project's own parameters hold none
    check_no_secrets(load_parameters("base"))


def test_nested_kedro_mlflow_runs_are_refused_saying_why():
    check_tracking_settings({"tracking": {"run": {"nested": False}}})
    check_tracking_settings({})
    with pytest.raises(
        ConfigError, match=r"tracking.run.nested: true in mlflow.yml is not supported: each ladder rung logs into its own run"
    ):
        check_tracking_settings({"tracking": {"run": {"nested": True}}})


class Context:
    def __init__(self, params):
        self.config_loader = {"parameters": params}


def ladder_hook(rungs: list[str]) -> LadderRunHooks:
    params = load_parameters("test")
    params["model_selection"].update(
        budgets={},
        seeds={"budget": None, "count": 1},
        architecture_comparison={"budget": None, "architecture": "encoder", "sizes": None},
        rungs={name: {"preset": "nano", "tokens": 1000} for name in rungs},
    )
    hook = LadderRunHooks()
    hook.after_context_created(Context(params))
    return hook


def test_a_parallel_runner_for_ladder_rungs_is_refused_before_the_run():
    hook = ladder_hook(["a", "b"])
    pipeline = model_selection(["a", "b"])
    for runner in ("None", "SequentialRunner", "<kedro.runner.sequential_runner.SequentialRunner object at 0x7f>"):  # as Kedro records them
        hook.before_pipeline_run({"runner": runner}, pipeline)
    for runner in ("ParallelRunner", "ThreadRunner", "<kedro.runner.parallel_runner.ParallelRunner object at 0x7f>"):
        with pytest.raises(
            ConfigError, match=r"one thread: run it with the default SequentialRunner, not (Parallel|Thread)Runner \(Airflow"
        ):
            hook.before_pipeline_run({"runner": runner}, pipeline)
    hook.before_pipeline_run({"runner": "ThreadRunner"}, data_processing())  # no rung: any runner


def test_a_pipeline_built_for_another_ladder_is_refused():
    hook = ladder_hook(["a", "b", "c"])
    with pytest.raises(
        ConfigError, match=r"model_selection was built for the rungs \['a', 'b'\] but this session's ladder is \['a', 'b', 'c'\]"
    ):
        hook.before_pipeline_run({"runner": "SequentialRunner"}, model_selection(["a", "b"]))


def test_a_rung_run_logs_its_place_in_the_ladder_but_not_the_values_set_when_it_runs():
    params = load_parameters("test")
    ladder = hooks_module.ladder_parameters(params)
    logged = hooks_module.rung_run_params({"seed": 42}, ladder["c1_d2_seed1"])
    assert logged["rung.budget"] == "c1" and logged["rung.seed_offset"] == "1" and logged["pretraining.model.preset"] == "d2"
    # the budget's token count and the learning-rate rule's values are the rung's metrics, not these
    for key in ("pretraining.trainer.max_tokens", "pretraining.optimizer.lr", "pretraining.lr_schedule.warmup_steps"):
        assert key not in logged
    explicit = hooks_module.rung_run_params({}, ladder["default_model"])
    assert explicit["pretraining.trainer.max_tokens"] == "12000" and explicit["rung.held_out"] == "True"


def test_the_lock_hook_knows_the_nothing_to_do_node_by_its_name():
    from lmladder import hooks
    from lmladder.pipelines.retraining import pipeline

    assert hooks.NO_TRAINING_NODE == pipeline.NO_TRAINING_NODE


def test_a_run_of_one_ladder_rung_locks_only_that_rung_while_another_run_holds_the_project(tmp_path):
    hook = RunLockHooks()
    hook.after_context_created(SimpleNamespace(project_path=tmp_path, config_loader={"parameters": load_parameters("test")}))
    one_rung = SimpleNamespace(nodes=[SimpleNamespace(name=f"c1_d2.{name}", namespace="c1_d2.pretraining") for name in ("a", "b")])
    locks = tmp_path / "data" / ".locks"
    locks.mkdir(parents=True)
    with FileLock(locks / "project.lock"):  # a whole-project run is writing its outputs
        started = threading.Thread(target=hook.before_pipeline_run, args=(one_rung,), daemon=True)
        started.start()
        started.join(timeout=30)
        assert not started.is_alive(), "the rung's run waited for the project lock"
    with pytest.raises(Timeout):
        FileLock(locks / "rung-c1_d2.lock").acquire(timeout=0)
    hook.after_pipeline_run()
    FileLock(locks / "rung-c1_d2.lock").acquire(timeout=0)


class ConfigLoader(dict):
    """The parts of a config loader ``ConfigValidationHook`` reads: the configs by name, and the patterns."""

    config_patterns = {"mlflow": ["mlflow*"]}


def validated_session(params: dict) -> hooks_module.ConfigValidationHook:
    hook = hooks_module.ConfigValidationHook()
    hook.after_context_created(SimpleNamespace(config_loader=ConfigLoader(parameters=params, catalog={}, mlflow={})))
    return hook


def test_the_memory_check_at_pipeline_start_counts_the_configured_vocabulary():
    from lmladder.pipelines.pretraining import create_pipeline as pretraining

    validated_session(load_parameters("test")).before_pipeline_run(pretraining())  # 512 tokens: a few MB
    params = load_parameters("test")
    params["data_processing"]["tokenizer"]["vocab_size"] = 1_000_000_000  # logits of 8 x 64 tokens over it: terabytes
    with pytest.raises(
        ConfigError, match=r"^pretraining: training needs about [\d,.]+ GB .*1000000000 logits each.* lower pretraining\.data\.batch_size"
    ):
        validated_session(params).before_pipeline_run(pretraining())


def test_the_memory_check_covers_each_ladder_rungs_finetuning():
    params = load_parameters("test")
    params["model_selection"]["rung_finetuning"]["batch_size"] = 10**12
    rungs = list(hooks_module.ladder_parameters(params))
    with pytest.raises(
        ConfigError,
        match=r"^model_selection\.budgets\.c1 \(rung \w+\) -> finetuning: training needs about [\d,.]+ GB of memory \(a batch of "
        r"1000000000000 texts of up to 64 tokens\) .* lower model_selection\.budgets\.c1 \(rung \w+\) -> finetuning\.batch_size",
    ):
        validated_session(params).before_pipeline_run(model_selection(rungs))


def test_a_generation_run_refuses_encoder_rungs_and_pipelines_built_for_the_other_task():
    from lmladder.pipelines.session_task import use_task

    params = load_parameters("test")
    params["task"] = "generation"
    params["model_selection"].update(
        budgets={},
        seeds={"budget": None, "count": 1},
        architecture_comparison={"budget": None, "architecture": "encoder", "sizes": None},
        rungs={"a": {"preset": "nano", "tokens": 1000}, "b": {"preset": "nano", "tokens": 1000, "architecture": "encoder"}},
    )
    hook = LadderRunHooks()
    try:
        hook.after_context_created(Context(params))
        with pytest.raises(ConfigError, match=r"task is generation but the ladder's rungs \['b'\] are encoders, which cannot write text"):
            hook.before_pipeline_run({"runner": "SequentialRunner"}, model_selection(["a", "b"]))
        with pytest.raises(ConfigError, match=r"the pipelines were built for another task than this session's task \(generation\)"):
            hook.before_pipeline_run({"runner": "SequentialRunner"}, finetuning_pipeline(task="classification"))
        hook.before_pipeline_run({"runner": "SequentialRunner"}, finetuning_pipeline(task="generation"))
    finally:
        use_task("classification")


@pytest.mark.parametrize("variable", ["WORLD_SIZE", "SLURM_STEP_NUM_TASKS", "OMPI_COMM_WORLD_SIZE"])
def test_a_session_started_once_per_rank_is_refused_saying_how_to_use_several_devices(monkeypatch, variable):
    monkeypatch.setenv(variable, "1")
    check_not_one_of_several_ranks()  # one rank: an ordinary session
    monkeypatch.setenv(variable, "4")
    with pytest.raises(
        ConfigError, match=rf"^this session was started as one of 4 ranks \({variable}=4: torchrun, srun or mpirun\).*devices"
    ):
        check_not_one_of_several_ranks()
