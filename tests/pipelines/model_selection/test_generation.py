"""model_selection with task: generation, as a user runs it (``kedro run --pipelines model_selection --params
task=generation``): a decoder and an encoder-decoder ladder at the same training FLOPs, judged by chrF."""

from __future__ import annotations

import json

import yaml

from tests.conftest import copy_project, kedro_run, outputs, runs_of

ENV = "generation_ladder"


def generation_ladder_env(project) -> None:
    """conf/test with task: generation and one budget of three sizes, each trained twice (seed noise), the
    two smaller ones also as encoder-decoders; no learning-rate sweep, no explicit rung. (``--params`` cannot
    carry lists: Kedro splits its value at commas.)"""
    params = yaml.safe_load((project / "conf" / "test" / "parameters.yml").read_text())
    params["task"] = "generation"
    params["data_processing"]["pairs"] = {"max_examples": 200}  # each rung writes the 30 test summaries
    params["evaluation"] = {"latency_repeats": 3, "lm_max_windows": 4}
    params["model_selection"].update(
        budgets={"c1": {"flops": 1.0e10, "sizes": ["d1", "d2", "d3"]}, "c2": None},  # null: base's c2 is not merged in
        architecture_comparison={"budget": "c1", "architecture": ["encoder-decoder"], "sizes": ["d1", "d2"]},
        learning_rate={"sweep": [1.0]},
        rungs={"default_model": None},
    )
    (project / "conf" / ENV).mkdir()
    (project / "conf" / ENV / "parameters.yml").write_text(yaml.safe_dump(params))


RUNGS = {f"c1_{size}{suffix}" for size in ("d1", "d2", "d3") for suffix in ("", "_seed1")} | {
    "c1_d1_encoder_decoder",
    "c1_d2_encoder_decoder",
}


def test_a_generation_ladder_compares_the_architectures_by_chrf_at_equal_compute(tmp_path):
    project = copy_project(tmp_path)
    generation_ladder_env(project)
    result = kedro_run(project, "--pipelines", "model_selection", env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]

    summary = json.loads((outputs(project, ENV) / "08_reporting" / "model_selection.json").read_text())
    report = (outputs(project, ENV) / "08_reporting" / "model_selection.md").read_text()
    rows = {row["name"]: row for row in summary["rungs"]}
    assert set(rows) == RUNGS
    assert summary["metric"]["column"] == "chrf"
    for name, row in rows.items():
        assert 0 <= row["chrf"] <= 100 and 0 <= row["bleu"] <= 100, name
        assert row["macro_f1"] is None, name  # not measured (NaN, null in JSON): no classifier in a generation ladder
    # Both architectures get the budget's FLOPs; an encoder-decoder's bits/byte is not measured (span corruption).
    for size in ("d1", "d2"):
        decoder, encoder_decoder = rows[f"c1_{size}"], rows[f"c1_{size}_encoder_decoder"]
        assert abs(decoder["train_flops"] / encoder_decoder["train_flops"] - 1) < 0.2
        assert encoder_decoder["val_bits_per_byte"] is None and decoder["val_bits_per_byte"] > 0
    (comparison,) = summary["architectures"]
    assert set(comparison["best"]) == {"decoder", "encoder-decoder"} and comparison["gap_in_margins"] is not None
    assert "## Which architecture" in report and "chrF" in report and "macro-F1" not in report
    assert "retrieval_baseline" in report

    _, runs = runs_of(project)
    children = {run.data.tags["rung"]: run for run in runs if "mlflow.parentRunId" in run.data.tags}
    assert set(children) == RUNGS
    assert all("rung.chrf" in run.data.metrics and run.info.status == "FINISHED" for run in children.values())
