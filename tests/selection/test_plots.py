import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from lmladder.errors import ConfigError
from lmladder.selection.frontier import pareto_frontier
from lmladder.selection.plots import loss_curves_figure, loss_vs_params_figure, quality_vs_latency_figure
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
