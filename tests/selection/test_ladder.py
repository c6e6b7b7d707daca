import pytest

from lmladder.errors import ConfigError
from lmladder.selection.ladder import check_ladder, deep_merge, ladder_table, rung_parameters, summarise_rung

PRETRAINING = {"model": {"preset": "tiny", "max_positions": 128}, "trainer": {"max_steps": 500, "max_tokens": None}}
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
    spec = {
        "preset": "nano",
        "tokens": 4096,
        "architecture": "encoder",
        "pretraining": {"model": {"dropout": 0.1}},
        "finetuning": {"patience": 3},
    }
    resolved = rung_parameters("nano", spec, PRETRAINING, FINETUNING, rung_finetuning={"max_epochs": 2, "patience": 1})
    assert resolved["pretraining"]["model"] == {"preset": "nano", "max_positions": 128, "architecture": "encoder", "dropout": 0.1}
    assert resolved["pretraining"]["trainer"] == {"max_steps": 500, "max_tokens": 4096}
    assert resolved["finetuning"] == {"max_epochs": 2, "patience": 3, "optimizer": {"lr": 0.001}}
    assert PRETRAINING["model"]["preset"] == "tiny"


def test_check_ladder_drops_null_rungs():
    assert list(check_ladder({"a": {"preset": "nano", "tokens": 10}, "b": None})) == ["a"]


@pytest.mark.parametrize(
    ("rungs", "message"),
    [
        ({}, "non-empty mapping"),
        ([{"preset": "nano"}], "non-empty mapping"),
        ({"a": None}, "non-empty mapping"),
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
    row = summarise_rung("nano", TRAINING, {"loss": 5.0, "bits_per_byte": 2.5}, SCORES, COST, history)
    assert row["params"] == 100_096 and row["total_params"] == 370_432
    assert row["tokens"] == 512 * 20
    assert row["train_flops"] == 1_000_000 * 512 * 20
    assert (row["val_loss"], row["val_bits_per_byte"], row["macro_f1"], row["latency_ms"]) == (5.0, 2.5, 0.4, 1.5)
    assert row["val_curve"] == [[5120, 5.5], [10240, 5.0]]


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
