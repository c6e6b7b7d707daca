import numpy as np
import pandas as pd
import pytest

from lmladder.errors import ConfigError
from lmladder.selection.isoflop import FlopsPerToken, fit_profile, isoflop_analysis, optimal_scaling, optimum_at
from lmladder.selection.scaling_law import ScalingLaw, compute_optimal

LAW = ScalingLaw(E=1.8, A=400.0, alpha=0.34, B=400.0, beta=0.28)  # Chinchilla-like
SIX_N = FlopsPerToken([(1e3, 6e3), (1e12, 6e12)])  # 6N, as a table


def isoflop_points(budgets: dict[str, float], sizes_per_budget: int = 5, spread: float = 4.0) -> pd.DataFrame:
    """Rungs following LAW exactly, sizes spread around each budget's true optimum."""
    rows = []
    for name, flops in budgets.items():
        optimum = compute_optimal(LAW, flops)["N"]
        for n in optimum * np.geomspace(1 / spread, spread, sizes_per_budget):
            rows.append(
                {"budget": name, "budget_flops": flops, "params": n, "val_loss": float(LAW.predict(n, flops / (6 * n))), "seeds": 1}
            )
    return pd.DataFrame(rows)


def test_flops_per_token_interpolates_and_extrapolates_in_log_space():
    table = FlopsPerToken([(1e5, 2e6), (1e6, 8e6), (1e7, 7e7)])
    assert table(1e6) == pytest.approx(8e6)
    assert table(np.sqrt(1e5 * 1e6)) == pytest.approx(np.sqrt(2e6 * 8e6))
    assert table(1e8) == pytest.approx(7e7 * (7e7 / 8e6))  # the last segment's slope, one decade on
    assert SIX_N(123456.0) == pytest.approx(6 * 123456.0)
    with pytest.raises(ConfigError, match="at least two"):
        FlopsPerToken([(1e5, 2e6)])


def test_a_profile_finds_the_true_compute_optimum_of_a_law():
    flops = 1e18
    points = isoflop_points({"c": flops}, sizes_per_budget=7, spread=3.0)
    profile = fit_profile(points["params"], points["val_loss"], flops, SIX_N)
    truth = compute_optimal(LAW, flops)
    assert profile["interior"]
    assert profile["N_opt"] == pytest.approx(truth["N"], rel=0.05)  # a parabola in log N is an approximation
    assert profile["D_opt"] == pytest.approx(flops / (6 * profile["N_opt"]))
    assert profile["tokens_per_param"] == pytest.approx(profile["D_opt"] / profile["N_opt"])
    assert profile["loss_opt"] == pytest.approx(truth["loss"], rel=1e-3)


def test_a_minimum_outside_the_sizes_tried_is_flagged_not_extrapolated():
    flops = 1e18
    optimum = compute_optimal(LAW, flops)["N"]
    sizes = optimum * np.array([4.0, 8.0, 16.0])  # all larger than the optimum: loss rises along them
    losses = [float(LAW.predict(n, flops / (6 * n))) for n in sizes]
    profile = fit_profile(sizes, losses, flops, SIX_N)
    assert not profile["interior"] and profile["N_opt"] is None
    assert "below the smallest size tried" in profile["reason"]
    downward = fit_profile([1e5, 1e6, 1e7], [3.0, 3.5, 3.0], flops, SIX_N)
    assert not downward["interior"] and "not U-shaped" in downward["reason"]
    with pytest.raises(ConfigError, match="at least 3 different sizes"):
        fit_profile([1e5, 1e5, 1e6], [3.0, 3.0, 2.9], flops, SIX_N)


def test_power_laws_recover_the_chinchilla_exponents():
    budgets = {f"c{i}": flops for i, flops in enumerate([1e18, 1e19, 1e20, 1e21])}
    points = isoflop_points(budgets, sizes_per_budget=7, spread=3.0)
    result = isoflop_analysis(points, SIX_N, loss_noise=None, target_flops=1e22)
    exponent = LAW.beta / (LAW.alpha + LAW.beta)  # N_opt ∝ C^(beta / (alpha + beta))
    assert result["scaling"]["a"] == pytest.approx(exponent, abs=0.02)
    assert result["scaling"]["b"] == pytest.approx(1 - exponent, abs=0.02)
    assert result["at_target"]["N"] == pytest.approx(compute_optimal(LAW, 1e22)["N"], rel=0.1)
    assert result["intervals"] is None and any("no seed noise" in note for note in result["notes"])


def test_intervals_from_seed_noise_cover_the_point_estimate_and_widen_with_noise():
    budgets = {"c1": 1e18, "c2": 1e19, "c3": 1e20}
    points = isoflop_points(budgets, sizes_per_budget=5, spread=4.0)
    quiet = isoflop_analysis(points, SIX_N, loss_noise=0.002, target_flops=1e21, n_boot=50, seed=1)
    loud = isoflop_analysis(points, SIX_N, loss_noise=0.02, target_flops=1e21, n_boot=50, seed=1)
    for key in ("a", "b", "largest.tokens_per_param", "target.N"):
        low, high = quiet["intervals"][key]
        assert low < high
        loud_low, loud_high = loud["intervals"][key]
        assert loud_high - loud_low > high - low, key
    low, high = quiet["intervals"]["a"]
    assert low <= quiet["scaling"]["a"] <= high
    assert quiet["bootstrap"]["replicates"] == 50 and quiet["bootstrap"]["with_power_laws"] > 40


def test_one_interior_budget_gives_no_power_law_and_says_why():
    profiles = {"c1": {"interior": True, "flops": 1e18, "N_opt": 1e8, "D_opt": 2e9}, "c2": {"interior": False, "flops": 1e19}}
    assert optimal_scaling(profiles) is None
    points = isoflop_points({"c1": 1e18}, sizes_per_budget=5)
    result = isoflop_analysis(points, SIX_N, loss_noise=0.01, target_flops=1e20, n_boot=5)
    assert result["scaling"] is None and result["at_target"] is None
    assert any("two are needed" in note for note in result["notes"])


def test_optimum_at_follows_the_power_laws():
    scaling = {"a": 0.5, "log_kN": np.log(2.0), "b": 0.5, "log_kD": np.log(8.0)}
    optimum = optimum_at(scaling, 1e20)
    assert optimum["N"] == pytest.approx(2e10) and optimum["D"] == pytest.approx(8e10) and optimum["tokens_per_param"] == pytest.approx(4)
