import copy
import logging
import re
from pathlib import Path

import pytest
import yaml

from lmladder.errors import ConfigError
from lmladder.model import ModelConfig, Transformer, model_config
from lmladder.training import config as config_module
from lmladder.training.config import (
    available_memory_bytes,
    build_model_config,
    build_optimizer_and_schedule,
    choose_precision,
    device_peak_flops,
    instantiate_allowed,
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
    """The pretraining and model_selection nodes build the model with ``build_model_config``: it checks the target itself."""
    target_file = tmp_path / "owned.txt"
    with pytest.raises(
        ConfigError, match=r"^pretraining\.model\._target_='builtins\.open' is not allowed: .*\['lmladder\.model\.model_config'\]"
    ):
        build_model_config({"_target_": "builtins.open", "file": str(target_file), "mode": "w"}, vocab_size=300)
    with pytest.raises(ConfigError, match=r"^pretraining\.model\.extra\._target_='builtins\.open' is not allowed"):
        build_model_config({"_target_": "lmladder.model.model_config", "preset": "nano", "extra": {"_target_": "builtins.open"}}, 300)
    assert not target_file.exists()


@pytest.mark.parametrize("section", ["pretraining", "finetuning"])
@pytest.mark.parametrize("name", ["optimizer", "lr_schedule"])
def test_building_the_optimizer_and_schedule_refuses_any_other_target(tmp_path, params, finetuning_params, section, name):
    """What the training nodes call on their parameters, which for a ladder rung come from a saved file
    that the session-start check never saw."""
    marker = tmp_path / "owned.txt"
    section_params = copy.deepcopy(params if section == "pretraining" else finetuning_params)
    section_params[name] = {"_target_": "builtins.open", "file": str(marker), "mode": "w"}
    with pytest.raises(
        ConfigError,
        match=rf"^{section}\.{name}\._target_='builtins\.open' is not allowed: Hydra would import and call it; allowed here: \[",
    ):
        build_optimizer_and_schedule(section_params, section)
    assert not marker.exists()


@pytest.mark.parametrize("target", ["torch.optim.RAdam", "torch.optim.NAdam", "torch.optim.Adamax"])
def test_an_optimizer_switched_to_one_without_a_key_the_base_sets_is_refused_naming_the_key(params, target):
    """conf/base sets MuonAdamW's ``muon_lr``, ``muon_momentum`` and ``fused``; an environment that changes only
    the ``_target_`` keeps them (parameters merge key by key), and these optimizers take none of them:
    refused when built, naming the key, not when training starts."""
    params["optimizer"]["_target_"] = target
    with pytest.raises(
        ConfigError,
        match=rf"^pretraining\.optimizer: {re.escape(target)} got an unexpected keyword argument '(muon_lr|muon_momentum|fused)'; remove that key",
    ):
        build_optimizer_and_schedule(params, "pretraining")
    for key in ("muon_lr", "muon_momentum", "fused"):
        del params["optimizer"][key]
    build_optimizer_and_schedule(params, "pretraining")


def test_a_target_is_refused_by_the_instantiate_helper_under_the_path_it_is_given(tmp_path):
    marker = tmp_path / "owned.txt"
    with pytest.raises(ConfigError, match=r"^model_selection\.rungs\.r -> pretraining\.optimizer\._target_='builtins\.open' is not"):
        instantiate_allowed(
            {"_target_": "builtins.open", "file": str(marker)}, "pretraining.optimizer", "model_selection.rungs.r -> pretraining.optimizer"
        )
    with pytest.raises(ConfigError, match=r"^finetuning\.optimizer\.foo\._args_ is not allowed"):
        instantiate_allowed({"_target_": "torch.optim.AdamW", "foo": {"_args_": [str(marker)]}}, "finetuning.optimizer")
    assert not marker.exists()


def test_a_rungs_resolved_section_is_held_to_the_allowed_targets(tmp_path, params, finetuning_params):
    """A rung's merged sections are checked by ``validate_*`` before anything trains, naming the rung."""
    marker = tmp_path / "owned.txt"
    params["optimizer"]["anything"] = {"_target_": "builtins.open", "file": str(marker), "mode": "w"}
    with pytest.raises(ConfigError, match=r"^model_selection\.rungs\.r -> pretraining\.optimizer\.anything\._target_='builtins\.open'"):
        validate_pretraining_params(params, "model_selection.rungs.r -> pretraining")
    finetuning_params["lr_schedule"]["_target_"] = "os.system"
    with pytest.raises(ConfigError, match=r"^finetuning\.lr_schedule\._target_='os\.system' is not allowed"):
        validate_finetuning_params(finetuning_params)
    assert not marker.exists()


def test_model_that_cannot_be_built(params):
    params["model"]["_target_"] = "lmladder.model.no_such_function"
    with pytest.raises(ConfigError, match=r"pretraining\.model"):
        validate_pretraining_params(params)


@pytest.mark.parametrize(
    ("bf16_flops", "bf16_step_s", "expected"),
    [
        (8e11, 0.05, "bf16-mixed"),  # fast bf16 matmuls, and the model's step is faster in bf16
        (8e11, 0.098, "32-true"),  # fast matmuls, but the step gains less than the 5% margin (a small model)
        (8e11, 0.2, "32-true"),  # fast matmuls, slower step
        (2e11, 0.05, "32-true"),  # no fast bf16 matmuls: the step is not even measured
    ],
)
def test_auto_precision_on_cpu_takes_bf16_only_where_the_models_step_measures_faster(monkeypatch, bf16_flops, bf16_step_s, expected):
    steps = []
    monkeypatch.setattr(config_module, "matmul_probe", lambda device: {"fp32_flops": 2e11, "bf16_flops": bf16_flops, "machine": "cpu-x"})
    monkeypatch.setattr(
        config_module,
        "step_probe",
        lambda model, batch, block: steps.append((batch, block)) or {"fp32_step_s": 0.1, "bf16_step_s": bf16_step_s},
    )
    model = Transformer(ModelConfig(vocab_size=64, max_positions=8, n_layer=1, n_head=2, n_embd=16))
    precision, evidence = choose_precision("auto", "cpu", model, 4, 8)
    assert precision == expected
    assert evidence["train.matmul_bf16_gflops"] == bf16_flops / 1e9 and evidence["train.matmul_fp32_gflops"] == 200.0
    assert steps == ([(4, 8)] if bf16_flops > 4e11 else [])
    if steps:
        assert evidence["train.step_fp32_ms"] == 100.0 and evidence["train.step_bf16_ms"] == bf16_step_s * 1e3
    assert device_peak_flops(expected, "cpu") == (bf16_flops if expected == "bf16-mixed" else 2e11)
    assert resolve_precision("auto", "cpu") == "32-true"  # fine-tuning: no step to measure, fp32 on a CPU
    assert choose_precision("bf16-mixed", "cpu") == ("bf16-mixed", {})  # set explicitly: nothing measured


@pytest.mark.parametrize("precision", ["32-true", "16-mixed", "bf16-mixed", "64-true"])
@pytest.mark.parametrize("accelerator", ["cpu", "gpu", "auto"])
def test_explicit_precision_passes_through(precision, accelerator):
    assert resolve_precision(precision, accelerator) == precision


# --- does a training step fit in memory? --------------------------------------------------------


# The formula's terms, one at a time (benchmarks/bench_memory_estimate.py compares the whole with a measured step).
def test_the_parameter_states_are_16_bytes_per_parameter_of_the_real_model():
    """Weights, gradients and AdamW's two moments in fp32, whatever the batch: what is left at zero tokens."""
    config = model_config("nano", vocab_size=1000, max_positions=64)
    exact = sum(parameter.numel() for parameter in Transformer(config).parameters())
    assert training_memory_bytes(config, 0, 64) == 16 * exact


def test_the_activation_and_logit_terms_double_with_the_batch():
    config = model_config("nano", vocab_size=1000, max_positions=64)
    states = training_memory_bytes(config, 0, 64)
    for logits in (True, False):
        one, two = (training_memory_bytes(config, batch, 64, logits=logits) - states for batch in (8, 16))
        assert one > 0 and two == 2 * one


def test_the_logits_are_4_fp32_copies_of_batch_times_length_times_vocab():
    for vocab in (1000, 2000):
        config = model_config("nano", vocab_size=vocab, max_positions=64)
        assert training_memory_bytes(config, 8, 64) - training_memory_bytes(config, 8, 64, logits=False) == 4 * 4 * 8 * 64 * vocab


def test_the_activations_are_kept_for_every_layer():
    config = model_config("nano", vocab_size=1000, max_positions=64)  # n_embd 64, MLP 256, 2 heads, 2 layers
    per_token_layer = 10 * 64 + 3 * 256 + 2 * 2 * 64
    assert training_memory_bytes(config, 8, 64, logits=False) - training_memory_bytes(config, 0, 64) == 4 * 8 * 64 * 2 * per_token_layer


def test_a_frozen_backbone_counts_its_weights_once_and_one_layers_activations():
    """In ``frozen`` fine-tuning no gradient, moment or kept activation exists for the backbone."""
    config = model_config("nano", vocab_size=1000, max_positions=64)
    exact = sum(parameter.numel() for parameter in Transformer(config).parameters())
    per_token_layer = 10 * 64 + 3 * 256 + 2 * 2 * 64
    assert training_memory_bytes(config, 0, 64, logits=False, frozen=True) == 4 * exact
    assert training_memory_bytes(config, 8, 64, logits=False, frozen=True) == 4 * exact + 4 * 8 * 64 * per_token_layer


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
    params["trainer"]["accelerator"] = "cpu"
    config = build_model_config(params["model"], vocab_size=4096)
    needed = training_memory_bytes(config, 100_000_000, 128) / 1e9
    with pytest.raises(
        ConfigError,
        match=rf"^pretraining: training needs about {re.escape(f'{needed:,.1f}')} GB of memory \(a batch of 100000000 x 128 tokens, "
        r"4096 logits each\) but 24\.0 GB is available; lower pretraining\.data\.batch_size \(or the model size\)\. "
        r"This is host memory: trainer\.accelerator=cpu does not train on a GPU$",
    ):
        validate_pretraining_params(params, vocab_size=4096, available_memory=24 * 10**9)
    with pytest.raises(ConfigError, match=r"GB is available; lower pretraining\.data\.batch_size"):
        validate_pretraining_params(params)  # this machine's memory


def test_the_tokenizers_vocabulary_counts_in_the_estimate(params):
    params["trainer"]["accelerator"] = "cpu"
    validate_pretraining_params(params, vocab_size=4096, available_memory=4 * 10**9)
    with pytest.raises(
        ConfigError, match=r"^pretraining: training needs about .* 16000000 logits each.* lower pretraining\.data\.batch_size"
    ):
        validate_pretraining_params(params, vocab_size=16_000_000, available_memory=4 * 10**9)


def test_a_finetuning_batch_that_does_not_fit_is_refused_naming_finetuning_batch_size(params, finetuning_params):
    finetuning_params["batch_size"] = 100_000_000
    finetuning_params["trainer"]["accelerator"] = "cpu"
    with pytest.raises(
        ConfigError,
        match=r"^rung -> finetuning: training needs about [\d,.]+ GB of memory \(a batch of 100000000 texts of up to 128 tokens\) "
        r"but 4\.0 GB is available; lower rung -> finetuning\.batch_size \(or the model size\)\. This is host memory",
    ):
        validate_finetuning_params(finetuning_params, "rung -> finetuning", model_params=params["model"], available_memory=4 * 10**9)
    validate_finetuning_params(finetuning_params, available_memory=4 * 10**9)  # no model given: nothing to estimate


def test_a_frozen_backbone_needs_less_memory_than_training_it(params, finetuning_params):
    """Only when every mode that trains is ``frozen``: the finetuning pipeline also trains ``baseline_mode``."""
    finetuning_params.update(batch_size=4000, mode="frozen", baseline_mode="scratch")
    finetuning_params["trainer"]["accelerator"] = "cpu"
    config = build_model_config(params["model"], vocab_size=4096)
    full = training_memory_bytes(config, 4000, 128, logits=False)
    frozen = training_memory_bytes(config, 4000, 128, logits=False, frozen=True)
    between = (full + frozen) // 2
    with pytest.raises(ConfigError, match=r"texts of up to 128 tokens\) but"):
        validate_finetuning_params(finetuning_params, model_params=params["model"], vocab_size=4096, available_memory=between)
    validate_finetuning_params(finetuning_params, model_params=params["model"], vocab_size=4096, available_memory=between, modes=["frozen"])
    finetuning_params["baseline_mode"] = "frozen"
    validate_finetuning_params(finetuning_params, model_params=params["model"], vocab_size=4096, available_memory=between)
    with pytest.raises(ConfigError, match=r"texts of up to 128 tokens, frozen backbone\) but"):
        validate_finetuning_params(finetuning_params, model_params=params["model"], vocab_size=4096, available_memory=frozen - 1)


def _no_cuda_initialisation():
    raise AssertionError("torch.cuda.is_available() initialises CUDA in the launching process")


@pytest.mark.parametrize("accelerator", ["gpu", "cuda", "auto"])
def test_on_a_gpu_host_memory_is_not_compared_and_the_skip_is_logged(params, finetuning_params, monkeypatch, caplog, accelerator):
    monkeypatch.setattr("torch.cuda.device_count", lambda: 1)  # "auto" finds a GPU (there is none here)
    monkeypatch.setattr("torch.cuda.is_available", _no_cuda_initialisation)
    params["data"]["batch_size"] = 100_000_000
    params["trainer"]["accelerator"] = accelerator
    finetuning_params["batch_size"] = 100_000_000
    finetuning_params["trainer"]["accelerator"] = accelerator
    with caplog.at_level(logging.INFO, logger="lmladder.training.config"):
        validate_pretraining_params(params, vocab_size=4096, available_memory=1)
        validate_finetuning_params(finetuning_params, model_params=params["model"], vocab_size=4096, available_memory=1)
    assert (
        f"pretraining: training runs on a GPU (trainer.accelerator={accelerator}); its memory is not checked before training" in caplog.text
    )
    assert f"finetuning: training runs on a GPU (trainer.accelerator={accelerator}); its memory is not checked" in caplog.text


def test_auto_without_a_gpu_compares_host_memory_without_initialising_cuda(params, monkeypatch):
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    monkeypatch.setattr("torch.cuda.is_available", _no_cuda_initialisation)
    params["data"]["batch_size"] = 100_000_000
    assert params["trainer"]["accelerator"] == "auto"
    with pytest.raises(ConfigError, match=r"^pretraining: training needs .* This is host memory: trainer\.accelerator=auto does not"):
        validate_pretraining_params(params, vocab_size=4096, available_memory=4 * 10**9)


def test_every_cpu_rank_counts_in_the_memory_estimate(params, finetuning_params):
    """Two CPU ranks each hold the model, its optimizer state and a batch in the same host memory."""
    params["trainer"].update(accelerator="cpu", devices=1)
    needed = training_memory_bytes(build_model_config(params["model"], vocab_size=4096), params["data"]["batch_size"], 128)
    validate_pretraining_params(params, vocab_size=4096, available_memory=int(1.5 * needed))
    params["trainer"].update(devices=2, strategy="ddp")
    with pytest.raises(ConfigError, match=r"^pretraining: training needs about .* tokens, 4096 logits each, on each of 2 ranks\) but"):
        validate_pretraining_params(params, vocab_size=4096, available_memory=int(1.5 * needed))
    finetuning_params["trainer"].update(accelerator="cpu", devices=2)  # fine-tuning's strategy is always DDP
    with pytest.raises(
        ConfigError, match=r"^finetuning: training needs about .*, on each of 2 ranks\) but .* lower finetuning\.batch_size"
    ):
        validate_finetuning_params(finetuning_params, model_params=params["model"], vocab_size=4096, available_memory=10**6)
