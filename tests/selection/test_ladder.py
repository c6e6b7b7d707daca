import pytest

from lmladder.errors import ConfigError
from lmladder.selection.ladder import (
    calibrate_learning_rate,
    check_ladder,
    deep_merge,
    expand_ladder,
    ladder_table,
    resolve_run_time,
    rung_parameters,
    scaled_learning_rate,
    summarise_rung,
)

PRETRAINING = {
    "model": {"preset": "tiny", "max_positions": 128},
    "optimizer": {"lr": 0.003},
    "lr_schedule": {"warmup_steps": 30},
    "trainer": {"max_steps": 500, "max_tokens": None},
}
SELECTION = {
    "budgets": {"c1": {"flops": 1e12, "sizes": ["d2", "d1", "d3"]}, "c2": {"flops": 3e12, "sizes": ["d1", "d2", "d3"]}, "c3": None},
    "seeds": {"budget": "c1", "count": 2},
    "learning_rate": {"exponent": -0.3333, "sweep": [0.5, 1.0, 2.0], "warmup_fraction": 0.06},
    "architecture_comparison": {"budget": "c2", "architecture": "encoder", "sizes": ["d2"]},
    "rungs": {"default_model": {"preset": "tiny", "tokens": 1024000, "held_out": True}, "gone": None},
}
FINETUNING = {"max_epochs": 5, "patience": 2, "optimizer": {"lr": 0.001}}


def test_deep_merge_merges_nested_dicts_and_leaves_inputs_alone():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged = deep_merge(base, {"a": {"b": 2}, "e": 3})
    assert merged == {"a": {"b": 2, "c": [1, 2]}, "d": 1, "e": 3}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    merged["a"]["c"].append(3)
    assert base["a"]["c"] == [1, 2]  # a copy, not shared
    assert deep_merge(base, None) == base


def test_rung_parameters_apply_project_then_ladder_then_rung():
    spec = expand_ladder(
        {
            "rungs": {
                "nano": {
                    "preset": "nano",
                    "tokens": 4096,
                    "architecture": "encoder",
                    "pretraining": {"model": {"dropout": 0.1}},
                    "finetuning": {"patience": 3},
                }
            }
        }
    )["nano"]
    resolved = rung_parameters("nano", spec, PRETRAINING, FINETUNING, rung_finetuning={"max_epochs": 2, "patience": 1})
    assert resolved["pretraining"]["model"] == {"preset": "nano", "max_positions": 128, "architecture": "encoder", "dropout": 0.1}
    assert resolved["pretraining"]["trainer"] == {"max_steps": 500, "max_tokens": 4096}
    assert resolved["finetuning"] == {"max_epochs": 2, "patience": 3, "optimizer": {"lr": 0.001}}
    assert resolved["rung"]["kind"] == "explicit" and "pretraining" not in resolved["rung"]
    # the learning rate and warmup follow the ladder's rule; the token budget was given
    assert resolved["run_time"] == ["pretraining.optimizer.lr", "pretraining.lr_schedule.warmup_steps"]
    assert PRETRAINING["model"]["preset"] == "tiny"


def test_expand_ladder_names_every_rung_of_budgets_seeds_comparison_sweep_and_explicit_rungs():
    ladder = expand_ladder(SELECTION)
    assert list(ladder) == [
        "c1_d2",
        "c1_d2_seed1",
        "c1_d1",
        "c1_d1_seed1",
        "c1_d3",
        "c1_d3_seed1",
        "c2_d1",
        "c2_d2",
        "c2_d3",
        "c2_d2_encoder",
        "lr_sweep_1",
        "lr_sweep_2",
        "lr_sweep_3",
        "default_model",
    ]
    assert ladder["c1_d1_seed1"] == {
        "kind": "isoflop",
        "size": "d1",
        "architecture": "decoder",
        "budget": "c1",
        "flops": 1e12,
        "tokens": None,
        "seed_offset": 1,
        "lr_multiplier": None,
        "held_out": False,
    }
    assert ladder["c2_d2_encoder"]["architecture"] == "encoder" and ladder["c2_d2_encoder"]["flops"] == 3e12
    # the sweep: the first size of the smallest budget, once per multiplier
    assert [(ladder[f"lr_sweep_{i}"]["size"], ladder[f"lr_sweep_{i}"]["lr_multiplier"]) for i in (1, 2, 3)] == [
        ("d2", 0.5),
        ("d2", 1.0),
        ("d2", 2.0),
    ]
    assert ladder["default_model"]["held_out"] and ladder["default_model"]["tokens"] == 1024000
    parameters = rung_parameters("c1_d1", ladder["c1_d1"], PRETRAINING, FINETUNING)
    assert parameters["run_time"] == ["pretraining.trainer.max_tokens", "pretraining.optimizer.lr", "pretraining.lr_schedule.warmup_steps"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rungs": {"c1_d1": {"preset": "nano", "tokens": 10}}}, "Two rungs of model_selection are both named 'c1_d1'"),
        ({"rungs": {"lr_sweep_9": {"preset": "nano", "tokens": 10}}}, "names starting with 'lr_sweep_' are the learning-rate sweep's"),
        ({"budgets": {}, "rungs": {}, "seeds": {}, "architecture_comparison": {}}, "model_selection has no rungs"),
    ],
)
def test_expand_ladder_names_the_problem(change, message):
    with pytest.raises(ConfigError) as error:
        expand_ladder({**SELECTION, **change})
    assert message in str(error.value)


def test_run_time_rules_set_tokens_from_the_budget_and_warmup_from_the_steps():
    spec = expand_ladder(SELECTION)["c2_d1"]
    parameters = rung_parameters("c2_d1", spec, PRETRAINING, FINETUNING)
    resolved = resolve_run_time(parameters, flops_per_token=1e6, tokens_per_step=2048, lr=0.01, warmup_fraction=0.06)
    assert resolved["trainer"]["max_tokens"] == 3_000_000  # 3e12 FLOPs / 1e6 FLOPs per token
    assert resolved["optimizer"]["lr"] == 0.01
    assert resolved["lr_schedule"]["warmup_steps"] == round(0.06 * 1465)  # ceil(3e6 / 2048) steps
    assert parameters["pretraining"]["optimizer"]["lr"] == 0.003  # the input is left alone
    # a rung that sets its own learning rate keeps it
    own = rung_parameters("x", {**spec, "pretraining": {"optimizer": {"lr": 0.02}}}, PRETRAINING, FINETUNING)
    assert resolve_run_time(own, flops_per_token=1e6, tokens_per_step=2048, lr=0.01, warmup_fraction=0.06)["optimizer"]["lr"] == 0.02


def test_the_learning_rate_rule_scales_muons_rate_with_adamws():
    muon = {**PRETRAINING, "optimizer": {"_target_": "lmladder.training.optim.MuonAdamW", "_partial_": True, "lr": 0.003, "muon_lr": 0.02}}
    parameters = rung_parameters("c2_d1", expand_ladder(SELECTION)["c2_d1"], muon, FINETUNING)
    resolved = resolve_run_time(parameters, flops_per_token=1e6, tokens_per_step=2048, lr=0.006, warmup_fraction=0.06)
    assert resolved["optimizer"]["lr"] == 0.006
    assert resolved["optimizer"]["muon_lr"] == pytest.approx(0.04)
    assert parameters["pretraining"]["optimizer"]["muon_lr"] == 0.02  # the input is left alone


def test_the_learning_rate_rule_is_anchored_at_the_project_model():
    assert scaled_learning_rate(1e6, base_lr=0.003, base_N=1e6, exponent=-1 / 3) == pytest.approx(0.003)
    assert scaled_learning_rate(8e6, base_lr=0.003, base_N=1e6, exponent=-1 / 3, multiplier=2) == pytest.approx(0.003)


def test_calibration_picks_the_lowest_loss_and_flags_an_edge():
    def row(m, loss):
        return {"name": f"lr_{m}", "preset": "d1", "lr_multiplier": m, "lr": 0.003 * m, "val_loss": loss, "val_bits_per_byte": loss / 2}

    inside = calibrate_learning_rate([row(2.0, 5.3), row(0.5, 5.4), row(1.0, 5.2)], [0.5, 1.0, 2.0])
    assert inside["multiplier"] == 1.0 and not inside["at_edge"]
    assert [r["lr_multiplier"] for r in inside["rows"]] == [0.5, 1.0, 2.0]
    edge = calibrate_learning_rate([row(0.5, 5.1), row(1.0, 5.2), row(2.0, 5.3)], [0.5, 1.0, 2.0])
    assert edge["multiplier"] == 0.5 and edge["at_edge"] and "widen the sweep" in edge["reason"]
    assert calibrate_learning_rate([], [1.5])["multiplier"] == 1.5


def test_check_ladder_drops_null_rungs():
    assert list(check_ladder({"a": {"preset": "nano", "tokens": 10}, "b": None})) == ["a"]
    assert check_ladder(None) == {} and check_ladder({"a": None}) == {}


@pytest.mark.parametrize(
    ("rungs", "message"),
    [
        ([{"preset": "nano"}], "model_selection.rungs must be a mapping"),
        ({"1st": {"preset": "nano", "tokens": 10}}, "Rung name '1st'"),
        ({"a-b": {"preset": "nano", "tokens": 10}}, "Rung name 'a-b'"),
        ({"shared_data": {"preset": "nano", "tokens": 10}}, "reserved"),
        ({"a": "nano"}, "model_selection.rungs.a must be a mapping"),
        ({"a": {"preset": "nano", "tokens": 10, "size": 3}}, "unknown key(s) ['size']"),
        ({"a": {"tokens": 10}}, "model_selection.rungs.a.preset is missing"),
        ({"a": {"preset": "nano"}}, "model_selection.rungs.a.tokens is missing"),
        ({"a": {"preset": "nano", "tokens": 0}}, "model_selection.rungs.a.tokens must be a positive integer"),
        ({"a": {"preset": "nano", "tokens": 1.5e6}}, "model_selection.rungs.a.tokens must be a positive integer"),
    ],
)
def test_check_ladder_names_the_problem(rungs, message):
    with pytest.raises(ConfigError) as error:
        check_ladder(rungs)
    assert message in str(error.value)


TRAINING = {
    "model.preset": "nano",
    "model.architecture": "decoder",
    "model.non_embedding_parameters": 100_096,
    "model.parameters": 370_432,
    "model.flops_per_token": 1_000_000,
    "train.tokens_per_step": 512,
    "train.max_steps": 20,
}
SCORES = {"accuracy": 0.5, "macro_f1": 0.4, "ece": 0.1}
COST = {"p50_ms": 1.5, "throughput_per_s": 100.0, "size_on_disk_bytes": 1234}


def test_summarise_rung_computes_tokens_flops_and_curve_in_tokens():
    history = {"train": [[5, 6.0]], "val": [[10, 5.5], [20, 5.0]]}
    spec = expand_ladder(SELECTION)["c1_d2_seed1"]
    pretraining = {"optimizer": {"lr": 0.004}, "lr_schedule": {"warmup_steps": 2}}
    row = summarise_rung("c1_d2_seed1", spec, pretraining, 43, TRAINING, {"loss": 5.0, "bits_per_byte": 2.5}, history, SCORES, COST)
    assert row["params"] == 100_096 and row["total_params"] == 370_432
    assert row["tokens"] == 512 * 20
    assert row["train_flops"] == 1_000_000 * 512 * 20
    assert (row["val_loss"], row["val_bits_per_byte"], row["macro_f1"], row["latency_ms"]) == (5.0, 2.5, 0.4, 1.5)
    assert (row["kind"], row["budget"], row["budget_flops"], row["seed"], row["lr"], row["warmup_steps"]) == (
        "isoflop",
        "c1",
        1e12,
        43,
        0.004,
        2,
    )
    assert row["val_curve"] == [[5120, 5.5], [10240, 5.0]]
    # a sweep rung is not fine-tuned: its classifier columns are empty
    sweep = summarise_rung(
        "lr_sweep_1", expand_ladder(SELECTION)["lr_sweep_1"], pretraining, 42, TRAINING, {"loss": 5.0, "bits_per_byte": 2.5}, history
    )
    assert sweep["lr_multiplier"] == 0.5 and sweep["macro_f1"] != sweep["macro_f1"]  # NaN


def test_ladder_table_sorts_by_size_then_tokens_and_drops_curves():
    rows = [
        {"name": "b", "params": 2, "tokens": 10, "val_curve": []},
        {"name": "a2", "params": 1, "tokens": 20, "val_curve": []},
        {"name": "a1", "params": 1, "tokens": 10, "val_curve": []},
    ]
    table = ladder_table(rows)
    assert table["name"].tolist() == ["a1", "a2", "b"]
    assert "val_curve" not in table
    with pytest.raises(ConfigError, match="no rung summaries"):
        ladder_table([])
