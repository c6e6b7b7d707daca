import json

import numpy as np
import pandas as pd
import pytest

from lmladder.selection.analysis import analyse_ladder
from lmladder.selection.report import render_selection_report
from lmladder.selection.scaling_law import ScalingLaw

TRUE_LAW = ScalingLaw(E=1.8, A=60.0, alpha=0.35, B=300.0, beta=0.3)
BASELINE = {"name": "tfidf_baseline", "macro_f1": 0.70, "accuracy": 0.71, "latency_ms": 0.5, "params": 50_000}


def synthetic_ladder(sizes, budgets) -> pd.DataFrame:
    """Rungs whose loss follows TRUE_LAW exactly, macro-F1 a sigmoid of it, latency growing with size."""
    rows = []
    for n, d in [(n, d) for d in budgets for n in sizes]:
        loss = float(TRUE_LAW.predict(n, d))
        rows.append(
            {
                "name": f"n{int(n)}_d{int(d)}",
                "params": n,
                "tokens": d,
                "train_flops": 6 * n * d,
                "val_loss": loss,
                "val_bits_per_byte": loss / 3,
                "macro_f1": 0.2 + 0.7 / (1 + np.exp(3 * (loss - 4.3))),
                "accuracy": 0.5,
                "latency_ms": 0.5 + n / 1e6,
            }
        )
    return pd.DataFrame(rows).sort_values(["params", "tokens"]).reset_index(drop=True)


def test_a_full_ladder_gets_every_check_and_a_recommendation():
    rungs = synthetic_ladder([1e5, 1e6, 1e7, 1e8], [1e7, 4e7, 1.6e8])
    analysis = analyse_ladder(rungs, BASELINE, {"min_macro_f1": 0.5, "max_latency_ms": 20}, compute_budget_flops=1e17, n_boot=3)

    assert analysis.notes == []
    for name in ("E", "A", "alpha", "B", "beta"):
        assert getattr(analysis.law, name) == pytest.approx(getattr(TRUE_LAW, name), rel=0.05), name
        low, high = analysis.intervals[name]
        assert low <= getattr(analysis.law, name) * 1.0001 and high >= getattr(analysis.law, name) * 0.9999
    assert analysis.leave_largest_out["relative_error"] < 0.01
    assert analysis.loss_to_metric is not None
    assert analysis.compute_optimal["N"] * analysis.compute_optimal["D"] == pytest.approx(1e17 / 6, rel=1e-6)

    # the cheapest rung (training FLOPs) with macro-F1 >= 0.5
    passing = rungs[rungs["macro_f1"] >= 0.5]
    assert analysis.recommendation["recommended"] == passing.loc[passing["train_flops"].idxmin(), "name"]
    # the baseline is the fastest point: it is on the latency frontier, and nowhere without its cost column
    assert "tfidf_baseline" in analysis.frontiers["macro_f1 vs latency_ms"]["name"].tolist()
    assert "tfidf_baseline" not in analysis.frontiers["macro_f1 vs train_flops"]["name"].tolist()
    assert set(analysis.frontiers["val_bits_per_byte vs train_flops"]["name"]) <= set(rungs["name"])
    json.dumps(analysis.to_dict())  # the summary dataset is JSON


def test_a_three_rung_ladder_says_what_it_cannot_check():
    rungs = synthetic_ladder([1e5, 1e6, 1e7], [1e7])
    analysis = analyse_ladder(rungs, None, {"min_macro_f1": 0.99}, compute_budget_flops=1e17, n_boot=50)
    assert analysis.law.B == 0  # one token budget: L(N) only
    assert analysis.leave_largest_out is None and analysis.loss_to_metric is None and analysis.compute_optimal is None
    assert len(analysis.notes) == 3
    assert any("leave-largest-out" in note for note in analysis.notes)
    assert any("tokens term" in note for note in analysis.notes)
    assert analysis.recommendation["recommended"] is None
    assert analysis.recommendation["binding"] == ["min_macro_f1"]


def test_report_has_every_rung_the_law_and_the_recommendation():
    rungs = synthetic_ladder([1e5, 1e6, 1e7, 1e8], [1e7, 4e7])
    analysis = analyse_ladder(rungs, BASELINE, {"min_macro_f1": 0.3}, compute_budget_flops=1e17, n_boot=3)
    report = render_selection_report(analysis, {"loss vs params": "loss_vs_params.png"})
    for name in rungs["name"]:
        assert f"| {name} |" in report
    assert "| tfidf_baseline |" in report
    assert analysis.law.describe() in report
    assert "Leave-largest-out" in report and "Compute-optimal" in report
    assert f"**{analysis.recommendation['recommended']}**" in report
    assert "![loss vs params](loss_vs_params.png)" in report
