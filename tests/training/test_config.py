import copy
from pathlib import Path

import pytest
import yaml

from lmladder.errors import ConfigError
from lmladder.model import ModelConfig
from lmladder.training.config import (
    build_model_config,
    resolve_precision,
    validate_finetuning_params,
    validate_pretraining_params,
)

PARAMETERS_FILE = Path(__file__).resolve().parents[2] / "conf" / "base" / "parameters_pretraining.yml"
FINETUNING_FILE = PARAMETERS_FILE.with_name("parameters_finetuning.yml")


@pytest.fixture
def params() -> dict:
    return copy.deepcopy(yaml.safe_load(PARAMETERS_FILE.read_text())["pretraining"])


def test_base_parameters_are_valid(params):
    validate_pretraining_params(params)


def test_token_budget_alone_is_valid(params):
    params["trainer"]["max_steps"] = None
    params["trainer"]["max_tokens"] = 1_000_000
    validate_pretraining_params(params)


def test_build_model_config_uses_preset_and_vocab(params):
    config = build_model_config(params["model"], vocab_size=300)
    assert isinstance(config, ModelConfig)
    assert (config.n_layer, config.n_head, config.n_embd) == (4, 4, 128)
    assert config.vocab_size == 300
    assert config.max_positions == params["model"]["max_positions"]


def set_key(params: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    node = params
    for key in parents:
        node = node[key]
    node[last] = value


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("model.preset", "huge", "preset 'huge'"),
        ("model.n_head", 5, "n_head"),
        ("model.architecture", "gpt", "architecture"),
        ("model.n_layers", 3, "n_layers"),
        ("model.dropout", 1.0, "dropout"),
        ("data.block_size", 256, r"data\.block_size=256 .*max_positions=128"),
        ("data.block_size", 0, r"data\.block_size"),
        ("data.batch_size", -1, r"data\.batch_size"),
        ("trainer.max_steps", 0, r"trainer\.max_steps"),
        ("trainer.max_steps", None, r"trainer\.max_steps"),
        ("trainer.max_steps", True, r"trainer\.max_steps"),
        ("trainer.max_tokens", 0, r"trainer\.max_tokens"),
        ("trainer.max_tokens", 1.5e6, r"trainer\.max_tokens"),
        ("trainer.max_step", 300, r"trainer\.max_step\b.*did you mean 'max_steps'"),
        ("data.blocksize", 64, r"data\.blocksize.*did you mean 'block_size'"),
        ("lr_schedule._target_", "lmladder.training.optim.no_such_schedule", r"^pretraining\.lr_schedule\._target_=.* is not allowed"),
        ("optimizer._target_", "torch.optim.AdamWW", r"^pretraining\.optimizer\._target_='torch\.optim\.AdamWW' is not allowed"),
        ("optimizer._partial_", False, r"^pretraining\.optimizer could not be built"),
        ("optimiser", {}, r"pretraining\.optimiser"),
        ("optimizer.lr", -0.003, r"^pretraining\.optimizer\.lr must be a number > 0"),
        ("lr_schedule.min_lr_ratio", -0.1, r"^pretraining\.lr_schedule\.min_lr_ratio must be a number in \[0, 1\]"),
        ("trainer.precision", "bf17-mixed", r"^pretraining\.trainer\.precision must be one of"),
        ("checkpoint_dir", None, r"^pretraining\.checkpoint_dir must be a non-empty string"),
        ("zzz", 1, r"pretraining\.zzz"),
    ],
)
def test_bad_parameters_name_the_field(params, key, value, match):
    set_key(params, key, value)
    with pytest.raises(ConfigError, match=match):
        validate_pretraining_params(params)


def test_unknown_key_without_a_close_match_lists_known_keys(params):
    params["trainer"]["zzz"] = 1
    with pytest.raises(ConfigError, match=r"trainer\.zzz; known keys: \[.*'max_steps'"):
        validate_pretraining_params(params)


def test_section_name_appears_in_messages(params):
    params["trainer"]["max_steps"] = 0
    with pytest.raises(ConfigError, match=r"^custom\.trainer\.max_steps"):
        validate_pretraining_params(params, section="custom")


def test_a_missing_key_is_named(params):
    del params["data"]["val_windows"]
    with pytest.raises(ConfigError, match=r"^missing parameter pretraining\.data\.val_windows"):
        validate_pretraining_params(params)


@pytest.fixture
def finetuning_params() -> dict:
    return copy.deepcopy(yaml.safe_load(FINETUNING_FILE.read_text())["finetuning"])


def test_base_finetuning_parameters_are_valid(finetuning_params):
    validate_finetuning_params(finetuning_params)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("optimizer.lr", -1, r"^finetuning\.optimizer\.lr must be a number > 0"),
        ("optimizer._target_", "torch.optim.AdamWW", r"^finetuning\.optimizer\._target_='torch\.optim\.AdamWW' is not allowed"),
        ("lr_schedule._target_", "lmladder.training.optim.nope", r"^finetuning\.lr_schedule\._target_=.* is not allowed"),
        ("optimizer._partial_", False, r"^finetuning\.optimizer could not be built"),
        ("max_epoch", 2, r"^unknown parameter finetuning\.max_epoch; did you mean 'max_epochs'"),
        ("mode", "partial", r"^finetuning\.mode must be one of"),
    ],
)
def test_bad_finetuning_parameters_name_the_field(finetuning_params, key, value, match):
    set_key(finetuning_params, key, value)
    with pytest.raises(ConfigError, match=match):
        validate_finetuning_params(finetuning_params)


def test_model_that_cannot_be_built(params):
    params["model"]["_target_"] = "lmladder.model.no_such_function"
    with pytest.raises(ConfigError, match=r"pretraining\.model"):
        validate_pretraining_params(params)


def test_auto_precision_on_cpu_is_full_fp32():
    assert resolve_precision("auto", "cpu") == "32-true"


@pytest.mark.parametrize("precision", ["32-true", "16-mixed", "bf16-mixed", "64-true"])
@pytest.mark.parametrize("accelerator", ["cpu", "gpu", "auto"])
def test_explicit_precision_passes_through(precision, accelerator):
    assert resolve_precision(precision, accelerator) == precision
