"""model_selection with task: generation, as a user runs it (``kedro run --pipelines model_selection --params
task=generation``): a decoder and an encoder-decoder ladder at the same training FLOPs, judged by chrF."""

from __future__ import annotations

import json

from tests.conftest import copy_project, kedro_run, outputs, runs_of

# One budget of two sizes, each size trained twice (seed noise), and the same sizes as encoder-decoders.
LADDER = ",".join(
    [
        "task=generation",
        "model_selection.budgets.c2=null",
        "model_selection.budgets.c1.sizes=[d1,d2]",
        "model_selection.architecture_comparison.architecture=[encoder-decoder]",
        "model_selection.architecture_comparison.sizes=null",
        "model_selection.learning_rate.sweep=[1.0]",
        "model_selection.rungs={}",
    ]
)
RUNGS = {"c1_d1", "c1_d2", "c1_d1_seed1", "c1_d2_seed1", "c1_d1_encoder_decoder", "c1_d2_encoder_decoder"}


def test_a_generation_ladder_compares_the_architectures_by_chrf_at_equal_compute(tmp_path):
    project = copy_project(tmp_path)
    result = kedro_run(project, "--pipelines", "model_selection", "--params", LADDER)
    assert result.returncode == 0, result.stderr[-3000:]

    summary = json.loads((outputs(project) / "08_reporting" / "model_selection.json").read_text())
    report = (outputs(project) / "08_reporting" / "model_selection.md").read_text()
    rows = {row["name"]: row for row in summary["rungs"]}
    assert set(rows) == RUNGS
    assert summary["metric"]["column"] == "chrf"
    for name, row in rows.items():
        assert 0 <= row["chrf"] <= 100 and 0 <= row["bleu"] <= 100, name
        assert row["macro_f1"] != row["macro_f1"], name  # NaN: no classifier in a generation ladder
    # Both architectures get the budget's FLOPs; an encoder-decoder's bits/byte is not measured (span corruption).
    for size in ("d1", "d2"):
        decoder, encoder_decoder = rows[f"c1_{size}"], rows[f"c1_{size}_encoder_decoder"]
        assert abs(decoder["train_flops"] / encoder_decoder["train_flops"] - 1) < 0.2
        assert encoder_decoder["val_bits_per_byte"] != encoder_decoder["val_bits_per_byte"]
    (comparison,) = summary["architectures"]
    assert set(comparison["best"]) == {"decoder", "encoder-decoder"} and comparison["gap_in_margins"] is not None
    assert "## Which architecture" in report and "chrF" in report and "macro-F1" not in report
    assert "retrieval_baseline" in report

    _, runs = runs_of(project)
    children = {run.data.tags["rung"]: run for run in runs if "mlflow.parentRunId" in run.data.tags}
    assert set(children) == RUNGS
    assert all("rung.chrf" in run.data.metrics and run.info.status == "FINISHED" for run in children.values())
