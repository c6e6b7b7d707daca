import copy
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from lmladder import parameters as schema
from lmladder.errors import ConfigError
from lmladder.model import Transformer
from lmladder.parameters import check_parameters, check_section, default_parameters, parse_parameters
from lmladder.selection.ladder import expand_ladder, rung_parameters
from lmladder.training.config import build_model_config, build_optimizer_and_schedule
from lmladder.training.optim import weight_decay_groups
from tests.conftest import load_parameters

CONF = Path(__file__).resolve().parents[1] / "conf"


@pytest.fixture(scope="module")
def loaded() -> dict:
    return load_parameters("test")


@pytest.fixture
def params(loaded) -> dict:
    return copy.deepcopy(loaded)


def set_key(params: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    node = params
    for key in parents:
        node = node[key]
    node[last] = value


def delete_key(params: dict, dotted: str) -> None:
    *parents, last = dotted.split(".")
    node = params
    for key in parents:
        node = node[key]
    del node[last]


# --- the project's own configuration ---------------------------------------------------------


@pytest.mark.parametrize("env", ["local", "test", "hub", "gpt2"])
def test_every_environment_passes(env):
    check_parameters(load_parameters(env))


def test_the_gpt2_environment_trains_the_gpt2_style_recipe_and_base_the_chosen_one():
    """kedro run --env gpt2: learned positions, LayerNorm, GELU, biases, tied embeddings, AdamW with weight
    decay everywhere (MuonAdamW without Muon); conf/base: the recipe docs/recipe.md's trials chose."""
    gpt2 = load_parameters("gpt2")["pretraining"]
    config = build_model_config(gpt2["model"], vocab_size=300)
    assert (config.positional, config.norm, config.mlp, config.qk_norm, config.zero_init_projections) == (
        "learned",
        "layernorm",
        "gelu",
        False,
        False,
    )
    assert config.bias and config.tie_embeddings
    optimizer, _ = build_optimizer_and_schedule(gpt2, "pretraining")
    built = optimizer(weight_decay_groups(Transformer(config)))
    assert not any(group["muon"] for group in built.param_groups)
    assert [group["weight_decay"] for group in built.param_groups] == [0.1, 0.1, 0.0]
    base = load_parameters("local")["pretraining"]
    chosen = build_model_config(base["model"], vocab_size=300)
    assert (chosen.positional, chosen.norm, chosen.mlp, chosen.qk_norm, chosen.zero_init_projections) == (
        "rotary",
        "rmsnorm",
        "relu2",
        True,
        True,
    )
    assert not chosen.bias and not chosen.tie_embeddings
    optimizer, _ = build_optimizer_and_schedule(base, "pretraining")
    assert [group["muon"] for group in optimizer(weight_decay_groups(Transformer(chosen))).param_groups] == [True, False, False]
    same = ("lr_schedule", "data", "trainer", "peak_flops", "compile")  # only the recipe differs (and the workspace)
    assert {key: gpt2[key] for key in same} == {key: base[key] for key in same}


def test_conf_base_equals_the_schema_defaults():
    """conf/base is the copy users read and edit; the dataclass defaults must say the same."""
    merged = {}
    for path in sorted((CONF / "base").glob("parameters*.yml")):
        text = path.read_text().replace("${globals:workspace}", "local")
        section = OmegaConf.to_container(OmegaConf.create(text), resolve=True)
        assert not set(section) & set(merged), f"{path.name} repeats a top-level key"
        merged.update(section)
    assert merged == default_parameters("local")


def test_defaults_pass_their_own_checks():
    check_parameters(default_parameters("local"))


def test_parsed_parameters_are_typed(loaded):
    parsed = parse_parameters(loaded)
    assert isinstance(parsed, schema.Parameters)
    assert parsed.pretraining.trainer.max_steps == 30  # conf/test
    assert parsed.pretraining.optimizer["lr"] == 0.006  # a Hydra section stays a mapping
    assert parsed.model_selection.rungs["default_model"] == schema.RungSpec(preset="nano", tokens=12000, held_out=True)
    assert parsed.model_selection.budgets["c1"] == schema.Budget(flops=1.0e10, sizes=["d1", "d2", "d3"])
    assert set(parsed.model_selection.budgets) == {"c1", "c2"}
    assert parsed.data_processing.labelled.module_domains.max_per_class == 200
    assert parsed.retraining.plan is None


def test_importing_the_schema_pulls_in_no_heavy_library():
    heavy = ["kedro", "torch", "lightning", "pytorch_lightning", "sklearn", "datasets", "great_expectations", "hydra"]
    code = f"import sys, lmladder.parameters; print([m for m in {heavy!r} if m in sys.modules])"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


# --- values copied from modules the schema may not import ------------------------------------


def test_copied_constants_equal_their_sources():
    from lightning_fabric.plugins.precision import precision as lightning_precision

    from lmladder.corpus.tokenizer import MIN_VOCAB_SIZE
    from lmladder.model import model
    from lmladder.model.classifier import POOLINGS
    from lmladder.selection import ladder
    from lmladder.training.finetune import MODES

    assert (schema.ARCHITECTURES, schema.POSITIONALS, schema.NORMS, schema.MLPS) == (
        model.ARCHITECTURES,
        model.POSITIONALS,
        model.NORMS,
        model.MLPS,
    )
    assert schema.MIN_VOCAB_SIZE == MIN_VOCAB_SIZE
    assert schema.RUNG_NAME.pattern == ladder.RUNG_NAME.pattern
    assert schema.RESERVED_RUNG_NAMES == ladder.RESERVED_NAMES
    assert set(ladder.RUNG_KEYS) == {field.name for field in schema.dataclasses.fields(schema.RungSpec)}
    assert typing.get_args(schema.FinetuningMode) == MODES
    assert typing.get_args(schema.Pooling) == POOLINGS
    lightning = {
        *typing.get_args(lightning_precision._PRECISION_INPUT_STR),
        *typing.get_args(lightning_precision._PRECISION_INPUT_STR_ALIAS),
        *typing.get_args(lightning_precision._PRECISION_INPUT_INT),
    }
    assert set(typing.get_args(schema.Precision)) == lightning | {"auto"}


# --- bad values name their dotted path -------------------------------------------------------

RETRAINING_PLAN = {"action": "train", "fingerprint": "abc123", "champion_version": "3", "message": "training a challenger"}


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        # unknown keys, anywhere
        ("finetuning.max_epoch", 3, r"^unknown parameter finetuning\.max_epoch; did you mean 'max_epochs'\?"),
        ("data_processing.cleaning.min_char", 10, r"^unknown parameter data_processing\.cleaning\.min_char; did you mean 'min_chars'"),
        (
            "data_processing.labelled.filters.max_symbols",
            0.5,
            r"data_processing\.labelled\.filters\.max_symbols; did you mean 'max_symbol_ratio'",
        ),
        ("data_processing.dedup.zzz", 1, r"data_processing\.dedup\.zzz; known keys: \['num_perm', 'shingle_size', 'threshold'\]"),
        ("finetunig", {}, r"^unknown parameter finetunig; did you mean 'finetuning'"),
        ("zzz", 1, r"^unknown parameter zzz; known keys: \[.*'seed'"),
        ("evaluation.generation.top_p", 0.9, r"evaluation\.generation\.top_p; did you mean 'top_k'"),
        ("retraining.gate.min_improvment", 0.01, r"retraining\.gate\.min_improvment; did you mean 'min_improvement'"),
        ("model_selection.bootstrap.n_boots", 5, r"model_selection\.bootstrap\.n_boots; did you mean 'n_boot'"),
        # Hydra sections: free-form, but known arguments are checked
        ("pretraining.optimizer.lr", -0.003, r"^pretraining\.optimizer\.lr must be a number > 0, got -0\.003"),
        ("finetuning.optimizer.lr", 0, r"^finetuning\.optimizer\.lr must be a number > 0, got 0$"),
        ("finetuning.optimizer.lr", None, r"^finetuning\.optimizer\.lr must be a number > 0, got None"),
        ("pretraining.optimizer.lr", "fast", r"^pretraining\.optimizer\.lr must be a number > 0, got 'fast'"),
        ("pretraining.optimizer.betas", [0.9], r"^pretraining\.optimizer\.betas must be two numbers"),
        ("pretraining.optimizer.weight_decay", -0.1, r"^pretraining\.optimizer\.weight_decay must be a number >= 0"),
        ("pretraining.lr_schedule.warmup_steps", -1, r"^pretraining\.lr_schedule\.warmup_steps must be a non-negative integer, got -1"),
        ("finetuning.lr_schedule.warmup_steps", 2.5, r"^finetuning\.lr_schedule\.warmup_steps must be a non-negative integer, got 2\.5"),
        ("pretraining.lr_schedule.min_lr_ratio", 1.5, r"^pretraining\.lr_schedule\.min_lr_ratio must be a number in \[0, 1\]"),
        (
            "pretraining.model.architecture",
            "gpt",
            r"^pretraining\.model\.architecture must be one of \['decoder', 'encoder', 'encoder-decoder'\]",
        ),
        ("pretraining.model.dropout", 1.0, r"^pretraining\.model\.dropout must be a number in \[0, 1\)"),
        ("pretraining.model._target_", 3, r"^pretraining\.model\._target_=3 is not allowed: Hydra would import and call it"),
        # types: bool is not an int, a float is not an int, null only where optional
        ("pretraining.data.batch_size", True, r"^pretraining\.data\.batch_size must be a positive integer, got True"),
        ("finetuning.max_epochs", False, r"^finetuning\.max_epochs must be a positive integer, got False"),
        ("pretraining.trainer.max_tokens", 1.5e6, r"^pretraining\.trainer\.max_tokens must be a positive integer or null, got 1500000\.0"),
        ("finetuning.batch_size", None, r"^finetuning\.batch_size must be a positive integer, got None"),
        ("seed", "42", r"^seed must be a non-negative integer, got '42'"),
        ("data_processing.cleaning.mask_pii", "yes", r"^data_processing\.cleaning\.mask_pii must be true or false"),
        ("evaluation.limitations", "none", r"^evaluation\.limitations must be a list"),
        ("evaluation.generation.prompts", ["ok", 3], r"^evaluation\.generation\.prompts\[1\] must be a string"),
        ("data_processing.labelled", [], r"^data_processing\.labelled must be a mapping"),
        ("pretraining.trainer.devices", 1.5, r"^pretraining\.trainer\.devices must be an integer or a string or a list"),
        # ranges
        (
            "data_processing.splits.corpus_val_fraction",
            1.0,
            r"^data_processing\.splits\.corpus_val_fraction must be a number in \(0, 1\), got 1\.0",
        ),
        (
            "data_processing.splits.labelled_test_fraction",
            0,
            r"^data_processing\.splits\.labelled_test_fraction must be a number in \(0, 1\)",
        ),
        ("data_processing.splits.labelled_val_fraction", 0.9, r"labelled_val_fraction \+ .*labelled_test_fraction = 1\.05"),
        ("data_validation.max_removed_share", 1.5, r"^data_validation\.max_removed_share must be a number in \[0, 1\]"),
        ("data_processing.cleaning.max_symbol_ratio", -0.1, r"^data_processing\.cleaning\.max_symbol_ratio must be a number in \[0, 1\]"),
        ("data_processing.cleaning.min_chars", 50000, r"^data_processing\.cleaning\.min_chars=50000 is above .*max_chars=20000"),
        ("data_processing.dedup.threshold", 0, r"^data_processing\.dedup\.threshold must be a number in \(0, 1\]"),
        (
            "data_processing.tokenizer.vocab_size",
            100,
            r"^data_processing\.tokenizer\.vocab_size must be an integer >= 292 \(256 bytes \+ 4 special tokens \+ 32 span sentinels\), got 100",
        ),
        ("data_processing.packing.batch_size", 0, r"^data_processing\.packing\.batch_size must be a positive integer, got 0"),
        ("finetuning.dropout", 1, r"^finetuning\.dropout must be a number in \[0, 1\)"),
        ("finetuning.patience", -1, r"^finetuning\.patience must be a non-negative integer, got -1"),
        (
            "pretraining.trainer.accumulate_grad_batches",
            0,
            r"^pretraining\.trainer\.accumulate_grad_batches must be a positive integer, got 0",
        ),
        ("pretraining.trainer.max_steps", None, r"^pretraining\.trainer\.max_steps must be a positive integer when .*max_tokens is null"),
        ("evaluation.generation.temperature", -1, r"^evaluation\.generation\.temperature must be a number >= 0"),
        ("evaluation.ece_bins", 0, r"^evaluation\.ece_bins must be a positive integer, got 0"),
        ("model_selection.bootstrap.level", 1, r"^model_selection\.bootstrap\.level must be a number in \(0, 1\)"),
        ("model_selection.constraints.min_macro_f1", 60, r"^model_selection\.constraints\.min_macro_f1 must be a number in \[0, 1\]"),
        ("retraining.challenger_alias", "champion", r"^retraining\.champion_alias and retraining\.challenger_alias are both 'champion'"),
        # enums
        ("finetuning.mode", "partial", r"^finetuning\.mode must be one of \['full', 'frozen', 'scratch'\], got 'partial'"),
        ("finetuning.pooling", "max", r"^finetuning\.pooling must be one of \['last', 'first', 'mean'\]"),
        ("retraining.train", "fine-tune", r"^retraining\.train must be one of \['finetune', 'pretrain'\]"),
        ("retraining.gate.primary_metric", "f1", r"^retraining\.gate\.primary_metric must be one of"),
        ("pretraining.trainer.precision", "bf17-mixed", r"^pretraining\.trainer\.precision must be one of \['auto', .*got 'bf17-mixed'"),
        ("finetuning.trainer.precision", 8, r"^finetuning\.trainer\.precision must be one of"),
        (
            "data_processing.labelled.label_from",
            "columns",
            r"^data_processing\.labelled\.label_from must be one of \['module_domains', 'column'\]",
        ),
        ("pretraining.trainer.deterministic", "yes", r"^pretraining\.trainer\.deterministic must be true or false or one of \['warn'\]"),
        # the ladder: rung specs and their overrides
        (
            "model_selection.rungs.default_model.architecture",
            "gpt",
            r"^model_selection\.rungs\.default_model\.architecture must be one of \['decoder', 'encoder', 'encoder-decoder'\]",
        ),
        (
            "model_selection.rungs.default_model.tokens",
            0,
            r"^model_selection\.rungs\.default_model\.tokens must be a positive integer, got 0",
        ),
        (
            "model_selection.rungs.default_model.size",
            "nano",
            r"^unknown parameter model_selection\.rungs\.default_model\.size; known keys: \[",
        ),
        (
            "model_selection.rungs.default_model.pretraining",
            {"optimiser": {"lr": 0.01}},
            r"^unknown parameter model_selection\.rungs\.default_model\.pretraining\.optimiser; did you mean 'optimizer'",
        ),
        (
            "model_selection.rungs.default_model.pretraining",
            {"optimizer": {"lr": -1}},
            r"^model_selection\.rungs\.default_model\.pretraining\.optimizer\.lr must be a number > 0",
        ),
        (
            "model_selection.rungs.default_model.pretraining",
            {"trainer": {"max_step": 5}},
            r"rungs\.default_model\.pretraining\.trainer\.max_step; did you mean 'max_steps'",
        ),
        (
            "model_selection.rungs.default_model.finetuning",
            {"max_epoch": 1},
            r"^unknown parameter model_selection\.rungs\.default_model\.finetuning\.max_epoch; did you mean",
        ),
        (
            "model_selection.rungs.default_model.finetuning",
            {"mode": "partial"},
            r"^model_selection\.rungs\.default_model\.finetuning\.mode must be one of",
        ),
        (
            "model_selection.rungs.default_model",
            {"preset": "nano"},
            r"^missing parameter model_selection\.rungs\.default_model\.tokens: a rung needs a preset and a token budget",
        ),
        ("model_selection.rungs.default_model", "nano", r"^model_selection\.rungs\.default_model must be a mapping"),
        (
            "model_selection.rungs.shared_data",
            {"preset": "nano", "tokens": 10},
            r"model_selection\.rungs\.shared_data: the name is reserved",
        ),
        ("model_selection.rungs.2x", {"preset": "nano", "tokens": 10}, r"model_selection\.rungs\.2x: a name must start with a letter"),
        (
            "model_selection.rung_finetuning",
            {"patiance": 1},
            r"^unknown parameter model_selection\.rung_finetuning\.patiance; did you mean 'patience'",
        ),
        # the retraining plan kedro retrain passes
        ("retraining.plan", {**RETRAINING_PLAN, "action": "go"}, r"^retraining\.plan\.action must be one of \['train', 'skip', 'refuse'\]"),
        (
            "retraining.plan",
            {"action": "train"},
            r"^missing parameter retraining\.plan\.fingerprint: the plan `kedro retrain` passes holds action",
        ),
        ("retraining.plan", "train", r"^retraining\.plan must be a mapping"),
        ("model_selection.budgets.c1.sizes", ["d1", "d2", "d2"], r"^model_selection\.budgets\.c1\.sizes needs at least 3 different sizes"),
        ("model_selection.budgets.c1.flops", 0, r"^model_selection\.budgets\.c1\.flops must be a number > 0"),
        (
            "model_selection.budgets.c1",
            {"sizes": ["d1", "d2", "d3"]},
            r"^missing parameter model_selection\.budgets\.c1\.flops: a budget needs",
        ),
        (
            "model_selection.seeds.budget",
            "c9",
            r"^model_selection\.seeds\.budget='c9' is not a budget of model_selection\.budgets \['c1', 'c2'\]",
        ),
        ("model_selection.seeds.count", 0, r"^model_selection\.seeds\.count must be an integer >= 1"),
        ("model_selection.architecture_comparison.sizes", ["d9"], r"architecture_comparison\.sizes \['d9'\] are not sizes of budget 'c1'"),
        ("model_selection.learning_rate.sweep", [1.0, -2.0], r"^model_selection\.learning_rate\.sweep\[1\] must be a positive multiplier"),
        (
            "model_selection.learning_rate.warmup_fraction",
            1,
            r"^model_selection\.learning_rate\.warmup_fraction must be a number in \[0, 1\)",
        ),
    ],
)
def test_bad_values_name_their_dotted_path(params, key, value, match):
    set_key(params, key, value)
    with pytest.raises(ConfigError, match=match):
        check_parameters(params)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("data_validation.max_removed_share", 0),  # an int where a number is expected
        ("evaluation.generation.temperature", 0),  # greedy decoding
        ("model_selection.constraints.max_params", 5000000),
        ("pretraining.peak_flops", None),  # optional: measured at start
        ("pretraining.trainer.devices", "auto"),
        ("pretraining.trainer.devices", [0, 1]),
        ("pretraining.trainer.precision", "bf16-mixed"),
        ("pretraining.trainer.precision", 32),
        ("pretraining.trainer.deterministic", "warn"),
        ("pretraining.optimizer.momentum", 0.9),  # another optimizer's argument: Hydra's business
        ("pretraining.optimizer", {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 0.1, "momentum": 0.9}),  # allowed target
        ("data_processing.labelled.labels", [0, 1]),  # read as strings
        ("evaluation.generation.prompts", ["Once upon a time"]),
        (
            "model_selection.rungs.default_model",
            {
                "preset": "nano",
                "tokens": 1000,
                "architecture": "encoder",
                "pretraining": {"optimizer": {"lr": 0.01}, "data": {"batch_size": 4}},
                "finetuning": {"mode": "frozen"},
            },
        ),
        ("model_selection.rungs.tiny", None),  # null drops a rung
        ("model_selection.rung_finetuning", {}),
        ("model_selection.budgets.c2", {"flops": 1.0e12, "sizes": ["1x32", "2x48", "d3", "small"]}),
        ("model_selection.seeds.budget", None),  # no repeated seeds
        ("model_selection.architecture_comparison.budget", None),  # no comparison
        ("model_selection.learning_rate.sweep", []),  # no sweep: the project's learning rate, scaled by the rule
        ("retraining.plan", RETRAINING_PLAN),
        ("retraining.plan", {**RETRAINING_PLAN, "action": "refuse", "fingerprint": None, "champion_version": None}),
    ],
)
def test_good_values_pass(params, key, value):
    set_key(params, key, value)
    check_parameters(params)


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("finetuning.patience", r"^missing parameter finetuning\.patience: every parameter has a default in conf/base"),
        ("pretraining.trainer.max_tokens", r"^missing parameter pretraining\.trainer\.max_tokens"),
        ("evaluation", r"^missing parameter evaluation\b"),
        ("retraining.plan", r"^missing parameter retraining\.plan"),
        ("pretraining.optimizer._target_", r"^missing parameter pretraining\.optimizer\._target_"),
    ],
)
def test_missing_keys_are_errors(params, key, match):
    delete_key(params, key)
    with pytest.raises(ConfigError, match=match):
        check_parameters(params)


def test_parameters_must_be_a_mapping():
    with pytest.raises(ConfigError, match=r"^parameters must be a mapping"):
        check_parameters(["seed"])


# --- one section at a time: a rung's resolved parameters -------------------------------------


def test_check_section_checks_a_rungs_resolved_parameters(params):
    spec = expand_ladder({"rungs": {"nano": {"preset": "nano", "tokens": 1000, "pretraining": {"lr_schedule": {"min_lr_ratio": 2}}}}})[
        "nano"
    ]
    resolved = rung_parameters("nano", spec, params["pretraining"], params["finetuning"], params["model_selection"]["rung_finetuning"])
    check_section("finetuning", resolved["finetuning"], "model_selection.rungs.default_model -> finetuning")
    with pytest.raises(
        ConfigError, match=r"^model_selection\.rungs\.default_model -> pretraining\.lr_schedule\.min_lr_ratio must be a number in \[0, 1\]"
    ):
        check_section("pretraining", resolved["pretraining"], "model_selection.rungs.default_model -> pretraining")


def test_check_section_returns_the_typed_section(params):
    finetuning = check_section("finetuning", params["finetuning"])
    assert isinstance(finetuning, schema.Finetuning) and finetuning.max_epochs == 2


def test_a_partial_section_may_leave_keys_out_but_not_misspell_them():
    assert check_section("finetuning", {"max_epochs": 1}, "override", partial=True) == {"max_epochs": 1}
    with pytest.raises(ConfigError, match=r"^missing parameter finetuning\.mode"):
        check_section("finetuning", {"max_epochs": 1})
    with pytest.raises(ConfigError, match=r"^unknown parameter override\.max_epoch\b"):
        check_section("finetuning", {"max_epoch": 1}, "override", partial=True)


def test_an_unknown_section_is_named():
    with pytest.raises(ConfigError, match=re.escape("unknown parameter section 'training'")):
        check_section("training", {})


# --- what Hydra may build: only allowed targets, and only where Hydra looks -------------------

OPEN = {"_target_": "builtins.open", "file": "owned.txt", "mode": "w"}


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        # the security review's payload: already refused by the type of warmup_steps, now by its _target_
        (
            "pretraining.lr_schedule.warmup_steps",
            OPEN,
            r"^pretraining\.lr_schedule\.warmup_steps\._target_='builtins\.open' is not allowed",
        ),
        # free keys of a Hydra mapping are the target's arguments: Hydra builds a mapping there recursively
        ("pretraining.optimizer.anything", OPEN, r"^pretraining\.optimizer\.anything\._target_='builtins\.open' is not allowed"),
        ("pretraining.model.extra", OPEN, r"^pretraining\.model\.extra\._target_='builtins\.open' is not allowed"),
        ("pretraining.optimizer.betas", [OPEN, 0.95], r"^pretraining\.optimizer\.betas\[0\]\._target_='builtins\.open' is not allowed"),
        # the top-level target itself
        (
            "pretraining.model._target_",
            "builtins.open",
            r"^pretraining\.model\._target_='builtins\.open' is not allowed: .*allowed here: \['lmladder\.model\.model_config'\]$",
        ),
        ("pretraining.model._target_", "my_project.models.custom", r"^pretraining\.model\._target_='my_project\.models\.custom' is not"),
        (
            "finetuning.optimizer._target_",
            "os.system",
            r"^finetuning\.optimizer\._target_='os\.system' is not allowed: .*'torch\.optim\.AdamW'",
        ),
        ("pretraining.lr_schedule._target_", "torch.optim.AdamW", r"^pretraining\.lr_schedule\._target_='torch\.optim\.AdamW' is not"),
        (
            "finetuning.lr_schedule._target_",
            "os.system",
            r"^finetuning\.lr_schedule\._target_='os\.system' .*'torch\.optim\.lr_scheduler\.OneCycleLR'",
        ),
        # a rung's overrides are Hydra mappings too
        (
            "model_selection.rungs.default_model.pretraining",
            {"optimizer": {"_target_": "builtins.open"}},
            r"^model_selection\.rungs\.default_model\.pretraining\.optimizer\._target_='builtins\.open' is not allowed",
        ),
        (
            "model_selection.rungs.default_model.finetuning",
            {"lr_schedule": {"warmup_steps": 2, "x": OPEN}},
            r"^model_selection\.rungs\.default_model\.finetuning\.lr_schedule\.x\._target_='builtins\.open' is not allowed",
        ),
        (
            "model_selection.rung_finetuning",
            {"optimizer": {"_target_": "os.system"}},
            r"^model_selection\.rung_finetuning\.optimizer\._target_='os\.system' is not allowed",
        ),
        # anywhere else: no _target_ at all, named as such (not as one more unknown key)
        (
            "data_processing._target_",
            "os.system",
            r"^data_processing\._target_='os\.system' is not allowed: .*may only stand at the top of",
        ),
        (
            "data_processing.labelled.module_domains.domains._target_",
            ["os"],
            r"^data_processing\.labelled\.module_domains\.domains\._target_=",
        ),
        # positional arguments, and interpolations Hydra would resolve again (oc.create builds a _target_ from a string)
        ("pretraining.optimizer._args_", [OPEN], r"^pretraining\.optimizer\._args_ is not allowed: give the arguments .* by name"),
        ("pretraining.model._args_", ["tiny"], r"^pretraining\.model\._args_ is not allowed"),
        (
            "finetuning.optimizer.foo",
            "${oc.create:{_target_: builtins.open, file: owned.txt}}",
            r"^finetuning\.optimizer\.foo='\$\{oc\.create:.* is not allowed: Hydra would resolve the \$\{\.\.\.\} again",
        ),
    ],
)
def test_hydra_may_build_only_allowed_targets(params, key, value, match):
    set_key(params, key, value)
    with pytest.raises(ConfigError, match=match):
        check_parameters(params)


def test_check_section_leaves_the_targets_to_the_whole_tree_check_and_the_instantiate_helper(params):
    """One place checks a section's targets at session start (``check_parameters``), one where Hydra builds
    (tests/training/test_config.py); ``check_section`` on a rung's merged section does not repeat it."""
    finetuning = copy.deepcopy(params["finetuning"])
    finetuning["lr_schedule"]["_target_"] = "os.system"
    check_section("finetuning", finetuning, "model_selection.rungs.r -> finetuning")


def test_every_hydra_mapping_of_the_defaults_is_known_and_holds_an_allowed_target():
    """``HYDRA_MAPPINGS`` (where a _target_ may stand) must name exactly the schema's Hydra sections."""

    def targets(value, path=""):
        if isinstance(value, dict):
            found = {path: value["_target_"]} if "_target_" in value else {}
            for key, item in value.items():
                found |= targets(item, f"{path}.{key}" if path else key)
            return found
        return {}

    found = targets(default_parameters())
    assert set(found) == set(schema.HYDRA_MAPPINGS)
    for path, target in found.items():
        assert target in schema.HYDRA_MAPPINGS[path], path
    assert schema.hydra_targets("model_selection.rungs.small.pretraining.model") == schema.MODEL_TARGETS
    assert schema.hydra_targets("model_selection.rung_finetuning.lr_schedule") == schema.SCHEDULE_TARGETS
    assert schema.hydra_targets("model_selection.rung_finetuning") is None
    assert schema.hydra_targets("evaluation.generation") is None


def test_every_allowed_target_exists_and_takes_the_projects_call():
    """Each name resolves to what the project calls it as: optimizers with parameter groups, schedules
    with the optimizer and ``total_steps=`` (``lmladder.training.optim.optimizer_and_schedule``)."""
    import inspect

    import torch
    from hydra.utils import get_method

    from lmladder.model import ModelConfig

    assert isinstance(get_method(schema.MODEL_TARGETS[0])("nano", vocab_size=300), ModelConfig)
    weight = torch.nn.Parameter(torch.zeros(2, 2))
    for name in schema.OPTIMIZER_TARGETS:
        optimizer = get_method(name)([{"params": [weight]}, {"params": [], "weight_decay": 0.0}], lr=0.1)
        assert isinstance(optimizer, torch.optim.Optimizer), name
    for name in schema.SCHEDULE_TARGETS:
        assert "total_steps" in inspect.signature(get_method(name)).parameters, name


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            {"pretraining": {"model": {"architecture": "encoder"}}},
            r"pretraining\.model\.architecture is encoder: an encoder cannot write text",
        ),
        ({"finetuning": {"baseline_mode": "frozen"}}, r"finetuning\.baseline_mode is frozen"),
    ],
)
def test_generation_refuses_what_cannot_write_text_before_anything_runs(overrides, named):
    from lmladder.parameters import check_task

    params = {"task": "generation", **overrides}
    with pytest.raises(ConfigError, match=named):
        check_task(params)
    check_task({**params, "task": "classification"})  # the same settings are fine for classification
