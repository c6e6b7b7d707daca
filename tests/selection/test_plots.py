from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from lmladder.errors import ConfigError
from lmladder.selection.frontier import pareto_frontier
from lmladder.selection.plots import (
    architecture_figure,
    held_out_figure,
    isoflop_figure,
    loss_curves_figure,
    loss_vs_params_figure,
    optimal_scaling_figure,
    quality_vs_latency_figure,
)
from lmladder.selection.scaling_law import ScalingLaw

LAW = ScalingLaw(E=1.7, A=400.0, alpha=0.34)
RUNGS = pd.DataFrame(
    {
        "name": ["nano", "micro", "mini"],
        "params": [1e6, 4e6, 1.6e7],
        "tokens": [2e9, 2e9, 2e9],
        "val_loss": LAW.predict([1e6, 4e6, 1.6e7]),
        "macro_f1": [0.6, 0.7, 0.78],
        "latency_ms": [2.0, 4.0, 9.0],
    }
)


@pytest.fixture
def closing():
    figures = []
    yield figures.append
    for figure in figures:
        plt.close(figure)


def test_loss_vs_params_is_log_log_with_solid_fit_and_dashed_extrapolation(closing, tmp_path):
    figure = loss_vs_params_figure(RUNGS, LAW, extrapolate_to=1e9)
    closing(figure)
    axes = figure.axes[0]
    assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
    lines = {line.get_label(): line for line in axes.get_lines()}
    fit, extrapolation = lines["fit"], lines["extrapolation"]
    assert fit.get_linestyle() == "-" and extrapolation.get_linestyle() == "--"
    assert fit.get_xdata()[0] == pytest.approx(5e5) and fit.get_xdata()[-1] == pytest.approx(1.6e7)
    assert extrapolation.get_xdata()[-1] == pytest.approx(1e9)
    np.testing.assert_allclose(extrapolation.get_ydata(), LAW.predict(extrapolation.get_xdata()))
    assert "1.7" in axes.get_title() and "0.34" in axes.get_title()

    path = tmp_path / "loss_vs_params.png"
    figure.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_extrapolation_reaches_at_least_four_times_the_largest_rung(closing):
    figure = loss_vs_params_figure(RUNGS, LAW)
    closing(figure)
    extrapolation = {line.get_label(): line for line in figure.axes[0].get_lines()}["extrapolation"]
    assert extrapolation.get_xdata()[-1] == pytest.approx(6.4e7)


def test_a_law_with_a_tokens_term_is_drawn_once_per_token_budget(closing):
    law = ScalingLaw(E=1.69, A=406.4, alpha=0.34, B=410.7, beta=0.28)
    two_budgets = pd.concat([RUNGS, RUNGS.assign(name=["nano_4x", "micro_4x", "mini_4x"], tokens=8e9)], ignore_index=True)
    figure = loss_vs_params_figure(two_budgets, law)
    closing(figure)
    fits = {line.get_label(): line for line in figure.axes[0].get_lines() if line.get_label().startswith("fit at D=")}
    assert sorted(fits) == ["fit at D=2e+09 tokens", "fit at D=8e+09 tokens"]
    for tokens in (2e9, 8e9):
        fit = fits[f"fit at D={tokens:.2g} tokens"]
        np.testing.assert_allclose(fit.get_ydata(), law.predict(fit.get_xdata(), tokens))


def test_loss_vs_params_names_a_missing_column():
    with pytest.raises(ConfigError, match="val_loss"):
        loss_vs_params_figure(RUNGS.drop(columns="val_loss"), LAW)


def test_quality_vs_latency_labels_points_and_draws_the_frontier(closing, tmp_path):
    points = pd.concat([RUNGS, pd.DataFrame({"name": ["slow"], "macro_f1": [0.65], "latency_ms": [12.0]})])
    frontier = pareto_frontier(points, "macro_f1", "latency_ms")
    figure = quality_vs_latency_figure(points, frontier)
    closing(figure)
    axes = figure.axes[0]
    assert {text.get_text() for text in axes.texts} == {"nano", "micro", "mini", "slow"}
    line = {line.get_label(): line for line in axes.get_lines()}["Pareto frontier"]
    assert list(line.get_xdata()) == [2.0, 4.0, 9.0]
    figure.savefig(tmp_path / "quality.png")
    assert (tmp_path / "quality.png").stat().st_size > 0


def test_loss_curves_overlay_one_line_per_rung(closing, tmp_path):
    figure = loss_curves_figure({"nano": [(0, 5.0), (100, 4.0)], "micro": [(0, 5.0), (100, 3.5)], "empty": []})
    closing(figure)
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    assert set(lines) == {"nano", "micro"}
    assert list(lines["micro"].get_ydata()) == [5.0, 3.5]
    figure.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0


# ------------------------------------------------------------------------- the IsoFLOP ladder's figures

MODELS = pd.DataFrame(
    {
        "name": ["c1_a", "c1_b", "c1_c", "c1_b_encoder", "held"],
        "budget": ["c1", "c1", "c1", "c1", None],
        "budget_flops": [1e12, 1e12, 1e12, 1e12, None],
        "architecture": ["decoder", "decoder", "decoder", "encoder", "decoder"],
        "held_out": [False, False, False, False, True],
        "params": [1e4, 3e4, 9e4, 3e4, 8e5],
        "val_loss": [5.5, 5.3, 5.6, 5.9, 5.2],
        "macro_f1": [0.6, 0.65, 0.62, 0.5, 0.8],
        "seeds": [2, 2, 2, 1, 1],
    }
)
PROFILE = {"flops": 1e12, "coefficients": [20.0, -2.9, 0.14], "interior": True, "N_opt": 3e4, "D_opt": 1e6, "loss_opt": 5.3}


def isoflop_analysis_fake(**changes):
    analysis = {
        "models": MODELS,
        "isoflop": {
            "profiles": {"c1": PROFILE, "c2": {**PROFILE, "flops": 3e12, "N_opt": 5e4}},
            "scaling": {"a": 0.5, "log_kN": np.log(3e4 / 1e6), "b": 0.5, "log_kD": np.log(1e6 / 1e6)},
            "at_target": {"flops": 1e16, "N": 3e6, "D": 1e8, "tokens_per_param": 33.0},
            "intervals": {"target.N": [1e6, 9e6], "target.D": [5e7, 2e8]},
        },
        "held_out": [
            {
                "name": "held",
                "predicted_bits_per_byte": 2.0,
                "measured_bits_per_byte": 2.1,
                "predicted_macro_f1": 0.78,
                "measured_macro_f1": 0.8,
            }
        ],
        "architectures": [{"budget": "c1", "flops": 1e12}],
        "noise": {"pooled": {"macro_f1": 0.02}},
    }
    return SimpleNamespace(**{**analysis, **changes})


@pytest.mark.parametrize("draw", [isoflop_figure, optimal_scaling_figure, held_out_figure, architecture_figure])
def test_ladder_figures_draw_their_data(draw, closing):
    figure = draw(isoflop_analysis_fake())
    closing(figure)
    axes = figure.axes[0]
    assert axes.collections or axes.lines or axes.patches  # something was drawn
    assert "not computed" not in " ".join(text.get_text() for text in axes.texts)


@pytest.mark.parametrize(
    ("draw", "changes", "why"),
    [
        (isoflop_figure, {"isoflop": None}, "no IsoFLOP budgets were fitted"),
        (optimal_scaling_figure, {"isoflop": {"profiles": {"c1": {**PROFILE, "interior": False}}}}, "no budget has an interior minimum"),
        (held_out_figure, {"held_out": [{"name": "held", "error": "no fitted law"}]}, "no held-out rung could be predicted"),
        (architecture_figure, {"architectures": []}, "no budget was trained with more than one architecture"),
    ],
)
def test_a_figure_without_data_says_why(draw, changes, why, closing):
    figure = draw(isoflop_analysis_fake(**changes))
    closing(figure)
    assert why in figure.axes[0].texts[0].get_text()
