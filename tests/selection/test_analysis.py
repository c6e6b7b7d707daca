import json

import numpy as np
import pandas as pd
import pytest

from lmladder.selection.analysis import analyse_ladder
from lmladder.selection.isoflop import FlopsPerToken
from lmladder.selection.report import render_selection_report
from lmladder.selection.scaling_law import ScalingLaw, compute_optimal

TRUE_LAW = ScalingLaw(E=1.8, A=60.0, alpha=0.35, B=300.0, beta=0.3)
SIX_N = FlopsPerToken([(1e3, 6e3), (1e12, 6e12)])
BASELINE = {"name": "tfidf_baseline", "macro_f1": 0.70, "accuracy": 0.71, "latency_ms": 0.5, "params": 50_000}
BUDGETS = {"c1": 1e16, "c2": 1e17, "c3": 1e18}
CALIBRATION = {
    "multiplier": 1.0,
    "lr": 0.003,
    "at_edge": False,
    "reason": "lowest validation loss",
    "rows": [],
    "rule": {"base_lr": 0.003, "base_N": 1e6, "base_preset": "tiny", "exponent": -0.3333, "warmup_fraction": 0.06},
}


def f1_of(loss: float) -> float:
    return 0.2 + 0.7 / (1 + np.exp(3 * (loss - 3.3)))


def row(name, n, d, *, budget=None, seed=42, kind="isoflop", architecture="decoder", held_out=False, shift=0.0, f1_shift=0.0):
    clean = float(TRUE_LAW.predict(n, d))
    loss = clean + shift
    return {
        "name": name,
        "kind": kind,
        "budget": budget,
        "budget_flops": BUDGETS.get(budget),
        "held_out": held_out,
        "seed": seed,
        "lr_multiplier": None,
        "lr": 0.003,
        "preset": f"n{n:.0e}",
        "architecture": architecture,
        "params": n,
        "tokens": d,
        "train_flops": 6 * n * d,
        "val_loss": loss,
        "val_bits_per_byte": loss / 3,
        "macro_f1": f1_of(clean) + f1_shift,
        "accuracy": 0.5,
        "latency_ms": 0.5 + n / 1e7,
    }


def isoflop_ladder() -> pd.DataFrame:
    """Three budgets of five sizes around each true optimum, two seeds at c1 (+-0.005 loss, +-0.01 F1),
    an encoder at c2 and a held-out rung above the ladder."""
    rows = []
    for budget, flops in BUDGETS.items():
        optimum = compute_optimal(TRUE_LAW, flops)["N"]
        for n in optimum * np.geomspace(1 / 4, 4, 5):
            rows.append(row(f"{budget}_{n:.0f}", n, flops / (6 * n), budget=budget, shift=0.005, f1_shift=0.01))
            if budget == "c1":
                rows.append(row(f"{budget}_{n:.0f}_seed1", n, flops / (6 * n), budget=budget, seed=43, shift=-0.005, f1_shift=-0.01))
            if budget == "c2":
                rows.append(row(f"{budget}_{n:.0f}_encoder", n, flops / (6 * n), budget=budget, architecture="encoder", f1_shift=-0.1))
    held = compute_optimal(TRUE_LAW, 3e18)
    rows.append(row("held", held["N"], held["D"], kind="explicit", held_out=True))
    return pd.DataFrame(rows)


def test_an_isoflop_ladder_gets_both_fits_noise_the_held_out_check_and_the_architecture_verdict():
    rungs = isoflop_ladder()
    analysis = analyse_ladder(
        rungs, BASELINE, {"min_macro_f1": 0.5}, compute_budget_flops=1e19, flops_per_token=SIX_N, calibration=CALIBRATION, n_boot=20
    )
    # seeds: the c1 rungs differ by exactly 0.01 in loss and 0.02 in F1
    assert analysis.noise["pooled"]["val_loss"] == pytest.approx(0.01 / np.sqrt(2))
    assert analysis.noise["pooled"]["macro_f1"] == pytest.approx(0.02 / np.sqrt(2))
    assert len(analysis.models) == len(rungs) - 5  # five seed pairs averaged

    isoflop = analysis.isoflop
    assert all(profile["interior"] for profile in isoflop["profiles"].values())
    exponent = TRUE_LAW.beta / (TRUE_LAW.alpha + TRUE_LAW.beta)
    assert isoflop["scaling"]["a"] == pytest.approx(exponent, abs=0.03)
    low, high = isoflop["intervals"]["largest.tokens_per_param"]
    assert low <= isoflop["largest_budget"]["tokens_per_param"] <= high
    assert analysis.law_optimum["N"] == pytest.approx(compute_optimal(TRUE_LAW, 1e19)["N"], rel=0.2)

    # the held-out rung sits above the ladder; the fits that never saw it predict it
    (check,) = analysis.held_out
    assert check["name"] == "held" and check["bits_per_byte_relative_error"] < 0.01
    assert check["macro_f1_error"] < 0.02

    # the encoder is 0.1 worse everywhere: more than the noise explains
    (comparison,) = analysis.architectures
    assert comparison["budget"] == "c2" and comparison["winner"] == "decoder"
    assert comparison["gap"] == pytest.approx(0.1, abs=0.01) and comparison["beyond_noise"]

    # fits use neither the encoder nor the held-out rung
    assert analysis.law.alpha == pytest.approx(TRUE_LAW.alpha, rel=0.1)
    json.dumps(analysis.to_dict())  # the summary dataset is JSON


def test_the_recommendation_never_picks_between_rungs_within_noise():
    rungs = isoflop_ladder()
    analysis = analyse_ladder(rungs, BASELINE, {"min_macro_f1": 0.5}, flops_per_token=SIX_N, n_boot=5)
    recommendation = analysis.recommendation
    models = analysis.models.set_index("name")
    best = models["macro_f1"].max()
    margin = 2 * analysis.noise["pooled"]["macro_f1"] * np.sqrt(2)
    tied = models[models["macro_f1"] >= best - margin]
    assert set(recommendation["tied"]) == set(tied.index)
    assert recommendation["recommended"] == tied["train_flops"].idxmin()
    assert len(tied) > 1 and "within noise of the best" in recommendation["reason"]


def test_a_three_rung_ladder_says_what_it_cannot_check():
    rungs = pd.DataFrame([row(f"r{n:.0e}", n, 1e7, kind="explicit") for n in (1e5, 1e6, 1e7)])
    analysis = analyse_ladder(rungs, None, {"min_macro_f1": 0.99}, compute_budget_flops=1e17, n_boot=50)
    assert analysis.law.B == 0  # one token budget: L(N) only
    assert analysis.leave_largest_out is None and analysis.loss_to_metric is None and analysis.law_optimum is None
    assert analysis.isoflop is None and analysis.held_out == [] and analysis.architectures == []
    assert any("No seed noise" in note for note in analysis.notes)
    assert any("leave-largest-out" in note for note in analysis.notes)
    assert any("tokens term" in note for note in analysis.notes)
    assert analysis.recommendation["recommended"] is None
    assert analysis.recommendation["binding"] == ["min_macro_f1"]


def test_report_has_every_section_a_user_needs():
    rungs = isoflop_ladder()
    analysis = analyse_ladder(
        rungs, BASELINE, {"min_macro_f1": 0.3}, compute_budget_flops=1e19, flops_per_token=SIX_N, calibration=CALIBRATION, n_boot=5
    )
    report = render_selection_report(analysis, {"IsoFLOP profiles": "isoflop_curves.png"})
    for name in rungs["name"]:
        assert f"| {name} |" in report
    assert "| tfidf_baseline |" in report
    for section in (
        "## Recommendation",
        "## Learning rate",
        "## Run-to-run noise",
        "## IsoFLOP profiles (Approach 2)",
        "## Chinchilla form (Approach 3)",
        "## Both fits, side by side",
        "## Held-out check",
        "## Which architecture",
    ):
        assert section in report, section
    assert analysis.law.describe() in report
    assert f"**{analysis.recommendation['recommended']}**" in report
    assert "tokens per parameter" in report and "| held |" in report
    assert "![IsoFLOP profiles](isoflop_curves.png)" in report
