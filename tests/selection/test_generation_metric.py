"""Model selection of a generation ladder: rungs ranked by chrF (0-100) instead of macro-F1."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from lmladder.errors import ConfigError
from lmladder.selection.analysis import analyse_ladder
from lmladder.selection.frontier import recommend
from lmladder.selection.isoflop import FlopsPerToken
from lmladder.selection.metric import CHRF, MACRO_F1, task_metric
from lmladder.selection.plots import (
    architecture_figure,
    held_out_figure,
    isoflop_figure,
    loss_vs_params_figure,
    optimal_scaling_figure,
    quality_vs_latency_figure,
)
from lmladder.selection.report import render_selection_report
from lmladder.selection.scaling_law import LossToMetric, ScalingLaw, compute_optimal, fit_loss_to_metric

TRUE_LAW = ScalingLaw(E=1.8, A=60.0, alpha=0.35, B=300.0, beta=0.3)
SIX_N = FlopsPerToken([(1e3, 6e3), (1e12, 6e12)])
BUDGETS = {"c1": 1e16, "c2": 1e17}
RETRIEVAL = {"name": "retrieval_baseline", "chrf": 30.0, "bleu": 12.0, "rouge_l": 25.0, "latency_ms": 0.3, "params": 0}
ENCODER_DECODER_LEAD = 3.0  # chrF points the encoder-decoder is ahead at c2
CHRF_SEED_SHIFT = 0.5  # +-: the two c1 seeds differ by 1 chrF point


def chrf_of(loss: float) -> float:
    return 20.0 + 45.0 / (1 + np.exp(3 * (loss - 3.3)))


def generation_row(name, n, d, *, budget=None, seed=42, kind="isoflop", architecture="decoder", held_out=False, shift=0.0, chrf_shift=0.0):
    clean = float(TRUE_LAW.predict(n, d))
    chrf = chrf_of(clean) + chrf_shift
    return {
        "name": name,
        "kind": kind,
        "budget": budget,
        "budget_flops": BUDGETS.get(budget),
        "held_out": held_out,
        "seed": seed,
        "lr": 0.003,
        "preset": f"n{n:.0e}",
        "architecture": architecture,
        "params": n,
        "tokens": d,
        "train_flops": 6 * n * d,
        "val_loss": clean + shift,
        # span corruption is no code length: an encoder-decoder has no bits/byte
        "val_bits_per_byte": np.nan if architecture == "encoder-decoder" else (clean + shift) / 3,
        "accuracy": np.nan,
        "macro_f1": np.nan,
        "ece": np.nan,
        "chrf": chrf,
        "bleu": 0.6 * chrf,
        "rouge_l": 0.8 * chrf,
        "latency_ms": 0.5 + n / 1e7,
    }


def generation_ladder() -> pd.DataFrame:
    """Two budgets of five decoder sizes, two seeds at c1, encoder-decoders ahead by 3 chrF at c2 and a held-out decoder."""
    rows = []
    for budget, flops in BUDGETS.items():
        optimum = compute_optimal(TRUE_LAW, flops)["N"]
        for n in optimum * np.geomspace(1 / 4, 4, 5):
            d = flops / (6 * n)
            rows.append(generation_row(f"{budget}_{n:.0f}", n, d, budget=budget, shift=0.005, chrf_shift=CHRF_SEED_SHIFT))
            if budget == "c1":
                rows.append(
                    generation_row(f"{budget}_{n:.0f}_seed1", n, d, budget=budget, seed=43, shift=-0.005, chrf_shift=-CHRF_SEED_SHIFT)
                )
            if budget == "c2":
                rows.append(
                    generation_row(
                        f"{budget}_{n:.0f}_encdec",
                        n,
                        d,
                        budget=budget,
                        architecture="encoder-decoder",
                        chrf_shift=CHRF_SEED_SHIFT + ENCODER_DECODER_LEAD,
                    )
                )
    held = compute_optimal(TRUE_LAW, 3e17)
    rows.append(generation_row("held", held["N"], held["D"], kind="explicit", held_out=True, chrf_shift=CHRF_SEED_SHIFT))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def analysis():
    return analyse_ladder(generation_ladder(), RETRIEVAL, {"min_metric": 40.0}, flops_per_token=SIX_N, n_boot=2, metric=CHRF)


def test_the_task_names_its_metric_and_an_unknown_task_is_refused():
    assert task_metric("classification") is MACRO_F1 and task_metric("generation") is CHRF
    with pytest.raises(ConfigError, match="'regression'"):
        task_metric("regression")


def test_a_generation_ladder_is_analysed_by_chrf(analysis):
    assert analysis.noise["pooled"]["chrf"] == pytest.approx(2 * CHRF_SEED_SHIFT / np.sqrt(2))
    assert analysis.noise["pooled"]["val_bits_per_byte"] is not None  # the encoder-decoder's NaN is left out, not propagated
    assert analysis.law.alpha == pytest.approx(TRUE_LAW.alpha, rel=0.1)  # fitted on the decoders only

    # the loss-to-chrF sigmoid is on chrF's own 0-100 scale, and predicts the held-out rung
    assert analysis.loss_to_metric.hi == pytest.approx(65.0, abs=2.0)
    (check,) = analysis.held_out
    assert check["chrf_error"] < 1.0 and "predicted_macro_f1" not in check

    (comparison,) = analysis.architectures
    assert comparison["budget"] == "c2" and comparison["winner"] == "encoder-decoder" and comparison["runner_up"] == "decoder"
    assert comparison["gap"] == pytest.approx(ENCODER_DECODER_LEAD, abs=0.01)
    margin = 2 * analysis.noise["pooled"]["chrf"] * np.sqrt(2)
    assert comparison["beyond_noise"] and comparison["gap_in_margins"] == pytest.approx(ENCODER_DECODER_LEAD / margin, rel=0.01)
    assert list(comparison["best"]) == ["encoder-decoder", "decoder"]  # ranked

    assert set(analysis.frontiers) == {"chrf vs latency_ms", "chrf vs params", "chrf vs train_flops", "val_bits_per_byte vs train_flops"}
    assert "retrieval_baseline" in analysis.frontiers["chrf vs latency_ms"]["name"].tolist()  # the fastest system

    summary = analysis.to_dict()
    assert summary["metric"]["column"] == "chrf" and summary["metric"]["label"] == "chrF"
    json.dumps(summary)


def test_the_recommendation_picks_by_chrf_within_noise(analysis):
    models = analysis.models.set_index("name")
    best = models["chrf"].max()
    margin = 2 * analysis.noise["pooled"]["chrf"] * np.sqrt(2)
    tied = models[models["chrf"] >= best - margin]
    recommendation = analysis.recommendation
    assert set(recommendation["tied"]) == set(tied.index)
    assert recommendation["recommended"] == tied["train_flops"].idxmin()
    assert "chrF" in recommendation["reason"] and "macro-F1" not in recommendation["reason"]


def test_the_report_speaks_of_chrf_and_says_which_architecture_wins_by_how_much(analysis):
    report = render_selection_report(analysis, {"architecture comparison": "architecture_comparison.png"})
    assert "macro-F1" not in report and "classif" not in report and "TF-IDF" not in report
    assert "| test chrF | test BLEU | test ROUGE-L |" in report
    assert "| retrieval_baseline |" in report
    assert "Seed noise of chrF:" in report and "Loss to chrF: `chrF = " in report
    assert "predicted chrF" in report and "| held |" in report
    comparison = analysis.architectures[0]
    assert (
        f"The encoder-decoder writes better by {comparison['gap']:.2f}, larger than the {comparison['noise_margin']:.2f} "
        f"seed noise explains ({comparison['gap_in_margins']:.1f}× that margin)"
    ) in report
    encoder_decoder_row = next(line for line in report.splitlines() if line.startswith("| c2_") and "_encdec |" in line)
    assert " – |" in encoder_decoder_row  # no bits/byte, no macro-F1


def test_every_figure_draws_a_generation_ladder(analysis):
    decoders = analysis.models[analysis.models["architecture"] == "decoder"]
    figures = {
        "isoflop": isoflop_figure(analysis),
        "optimal": optimal_scaling_figure(analysis),
        "held_out": held_out_figure(analysis),
        "architecture": architecture_figure(analysis),
        "loss": loss_vs_params_figure(decoders, analysis.law),
        "quality": quality_vs_latency_figure(analysis.points, analysis.frontiers["chrf vs latency_ms"], CHRF),
    }
    try:
        for figure in figures.values():
            assert "not computed" not in " ".join(text.get_text() for text in figure.axes[0].texts)
        assert figures["quality"].axes[0].get_ylabel() == "test chrF"
        assert figures["architecture"].axes[0].get_ylabel() == "test chrF"
        assert figures["held_out"].axes[1].get_ylabel() == "test chrF"
    finally:
        for figure in figures.values():
            plt.close(figure)


# ------------------------------------------------------------------------------------- recommend by chrF

RUNGS = pd.DataFrame(
    {
        "name": ["small", "nano", "mini"],
        "params": [6.4e7, 1e6, 1.6e7],
        "tokens": [2e9, 2e9, 2e9],
        "train_flops": [7.68e17, 1.2e16, 1.92e17],
        "chrf": [58.0, 41.0, 55.0],
        "macro_f1": [np.nan, np.nan, np.nan],
        "latency_ms": [20.0, 2.0, 9.0],
    }
)


def test_min_metric_is_a_floor_on_the_task_metric():
    result = recommend(RUNGS, {"min_metric": 50}, metric=CHRF)
    assert result["recommended"] == "small" and result["excluded"] == {"min_metric": 1}
    assert result["reason"].startswith("small has the best chrF (chrF 58.00, 7.7e+17 training FLOPs)")
    assert recommend(RUNGS, {"min_metric": 50}, metric_noise=2.0, metric=CHRF)["recommended"] == "mini"  # 3 points: within noise


def test_an_unreached_chrf_floor_names_the_metric_and_the_size_needed():
    to_chrf = LossToMetric(lo=20.0, hi=70.0, k=3.0, L0=3.3)
    result = recommend(RUNGS, {"min_metric": 65}, law=ScalingLaw(E=2.0, A=60.0, alpha=0.3), loss_to_metric=to_chrf, metric=CHRF)
    assert result["recommended"] is None and result["binding"] == ["min_metric"]
    assert result["needed"]["target_loss"] == pytest.approx(to_chrf.inverse(65))
    assert result["reason"].startswith("no rung reaches min_metric=65 (chrF); the fitted law predicts ~")


def test_a_macro_f1_floor_on_a_chrf_ladder_is_refused():
    with pytest.raises(ConfigError, match="min_macro_f1.*min_metric"):
        recommend(RUNGS, {"min_macro_f1": 0.6}, metric=CHRF)


def test_the_sigmoid_fits_a_metric_on_a_0_to_100_scale():
    losses = np.linspace(2.0, 5.0, 8)
    truth = LossToMetric(lo=20.0, hi=65.0, k=3.0, L0=3.3)
    fitted = fit_loss_to_metric(losses, truth.predict(losses), scale=100.0)
    for name, value in truth.to_dict().items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.01), name
    with pytest.raises(ConfigError, match=r"\[0, 100\]"):
        fit_loss_to_metric(losses, truth.predict(losses) + 50, scale=100.0)
