import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lmladder.errors import ConfigError
from lmladder.model import ModelConfig, model_config, parameter_counts
from lmladder.training.config import (
    available_memory_bytes,
    build_model_config,
    resolve_precision,
    training_memory_bytes,
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


def test_building_the_model_config_refuses_any_other_target(tmp_path):
    """The pretraining node builds the model with ``build_model_config``: it checks the target itself."""
    target_file = tmp_path / "owned.txt"
    with pytest.raises(
        ConfigError, match=r"^pretraining\.model\._target_='builtins\.open' is not allowed: .*\['lmladder\.model\.model_config'\]"
    ):
        build_model_config({"_target_": "builtins.open", "file": str(target_file), "mode": "w"}, vocab_size=300)
    with pytest.raises(ConfigError, match=r"^pretraining\.model\.extra\._target_='builtins\.open' is not allowed"):
        build_model_config({"_target_": "lmladder.model.model_config", "preset": "nano", "extra": {"_target_": "builtins.open"}}, 300)
    assert not target_file.exists()


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


# --- does a training step fit in memory? --------------------------------------------------------

# One training step's peak memory, measured in a fresh process: Linux's peak resident size (VmHWM), reset
# to the current size once torch has run a throwaway step (its own buffers are then not counted) and
# read after two steps of the measured model. (ru_maxrss would not do: it survives the exec from pytest.)
MEASURE_STEP = """
import sys
from pathlib import Path
import torch
from lmladder.model import Transformer, model_config

def status(field):
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024

warmup = Transformer(model_config("nano", vocab_size=300, max_positions=16))
ids = torch.randint(0, 300, (2, 17))
warmup(ids[:, :-1], ids[:, 1:])[1].backward()
del warmup, ids
Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
before = status("VmRSS")
vocab, block, batch = map(int, sys.argv[1:])
model = Transformer(model_config("2x64", vocab_size=vocab, max_positions=block))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
ids = torch.randint(0, vocab, (batch, block + 1))
for _ in range(2):
    model(ids[:, :-1], ids[:, 1:])[1].backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
print(status("VmHWM") - before)
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures with Linux's /proc/self peak resident size")
@pytest.mark.parametrize(("vocab", "block", "batch"), [(2048, 128, 32), (512, 256, 16)])
def test_the_memory_estimate_is_within_a_factor_of_two_of_a_measured_training_step(vocab, block, batch):
    """The first case is mostly logits, the second mostly activations (long windows, small vocabulary)."""
    result = subprocess.run([sys.executable, "-c", MEASURE_STEP, str(vocab), str(block), str(batch)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    measured = int(result.stdout.split()[-1])
    estimate = training_memory_bytes(model_config("2x64", vocab_size=vocab, max_positions=block), batch, block)
    assert measured / 2 <= estimate <= 2 * measured, (estimate, measured)


def test_the_memory_estimate_counts_the_states_and_the_logits():
    config = model_config("nano", vocab_size=1000, max_positions=64)
    # weights, gradients and two AdamW moments in fp32, whatever the batch
    assert training_memory_bytes(config, 1, 1, logits=False) - 16 * parameter_counts(config)["total"] == 4 * (2 * (10 * 64 + 3 * 256 + 4))
    # logits: 4 fp32 copies of batch x length x vocab
    assert training_memory_bytes(config, 8, 64) - training_memory_bytes(config, 8, 64, logits=False) == 16 * 8 * 64 * 1000
    # activations grow with the batch
    assert training_memory_bytes(config, 16, 64, logits=False) > training_memory_bytes(config, 8, 64, logits=False)


def test_the_available_memory_is_the_machines():
    import psutil

    assert 0 < available_memory_bytes() <= psutil.virtual_memory().total


@pytest.mark.parametrize("gigabytes", [4, 24])
def test_the_default_and_test_parameters_fit_a_small_machine(params, finetuning_params, gigabytes):
    from tests.conftest import load_parameters

    validate_pretraining_params(params, vocab_size=4096, available_memory=gigabytes * 10**9)
    validate_finetuning_params(finetuning_params, model_params=params["model"], vocab_size=4096, available_memory=gigabytes * 10**9)
    test = load_parameters("test")
    validate_pretraining_params(test["pretraining"], vocab_size=512, available_memory=gigabytes * 10**9)


def test_a_batch_that_does_not_fit_in_memory_is_refused_naming_the_estimate_and_the_parameter(params):
    params["data"]["batch_size"] = 100_000_000
    config = build_model_config(params["model"], vocab_size=4096)
    needed = training_memory_bytes(config, 100_000_000, 128) / 1e9
    with pytest.raises(
        ConfigError,
        match=rf"^pretraining: training needs about {re.escape(f'{needed:,.1f}')} GB of memory \(a batch of 100000000 x 128 tokens, "
        r"4096 logits each\) but 24\.0 GB is available; lower pretraining\.data\.batch_size",
    ):
        validate_pretraining_params(params, vocab_size=4096, available_memory=24 * 10**9)
    with pytest.raises(ConfigError, match=r"GB is available; lower pretraining\.data\.batch_size"):
        validate_pretraining_params(params)  # this machine's memory


def test_the_tokenizers_vocabulary_counts_in_the_estimate(params):
    validate_pretraining_params(params, vocab_size=4096, available_memory=4 * 10**9)
    with pytest.raises(
        ConfigError, match=r"^pretraining: training needs about .* 16000000 logits each.* lower pretraining\.data\.batch_size"
    ):
        validate_pretraining_params(params, vocab_size=16_000_000, available_memory=4 * 10**9)


def test_a_finetuning_batch_that_does_not_fit_is_refused_naming_finetuning_batch_size(params, finetuning_params):
    finetuning_params["batch_size"] = 100_000_000
    with pytest.raises(
        ConfigError,
        match=r"^rung -> finetuning: training needs about [\d,.]+ GB of memory \(a batch of 100000000 texts of up to 128 tokens\) "
        r"but 4\.0 GB is available; lower rung -> finetuning\.batch_size",
    ):
        validate_finetuning_params(finetuning_params, "rung -> finetuning", model_params=params["model"], available_memory=4 * 10**9)
    validate_finetuning_params(finetuning_params, available_memory=4 * 10**9)  # no model given: nothing to estimate
