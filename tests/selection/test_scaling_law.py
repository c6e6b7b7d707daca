import numpy as np
import pytest

from lmladder.errors import ConfigError
from lmladder.selection.scaling_law import (
    LossToMetric,
    ScalingLaw,
    bootstrap_intervals,
    compute_optimal,
    fit_loss_to_metric,
    fit_scaling_law,
    leave_largest_out,
    parameters_needed,
)

N_ONLY = ScalingLaw(E=1.7, A=400.0, alpha=0.34)
CHINCHILLA = ScalingLaw(E=1.69, A=406.4, alpha=0.34, B=410.7, beta=0.28)
SIZES = np.geomspace(1e5, 3e7, 6)


def noisy_losses(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return N_ONLY.predict(SIZES) * (1 + 0.005 * rng.standard_normal(len(SIZES)))


@pytest.fixture(scope="module")
def grid_runs():
    """A 4 x 3 ladder of model sizes by token budgets, with exact Chinchilla losses."""
    sizes, tokens = np.meshgrid(np.geomspace(1e7, 1e9, 4), np.geomspace(1e9, 1e11, 3))
    sizes, tokens = sizes.ravel(), tokens.ravel()
    return sizes, tokens, CHINCHILLA.predict(sizes, tokens)


@pytest.fixture(scope="module")
def full_fit(grid_runs):
    sizes, tokens, losses = grid_runs
    return fit_scaling_law(sizes, losses, tokens)


def relative(a, b):
    return abs(a - b) / abs(b)


# ------------------------------------------------------------------------------------- ScalingLaw


def test_predict_is_vectorised_and_drops_the_tokens_term_when_b_is_zero():
    predicted = N_ONLY.predict([1e6, 1e8])
    assert predicted.shape == (2,)
    assert predicted[0] == pytest.approx(1.7 + 400 / 1e6**0.34)
    assert N_ONLY.predict(1e6, D=1e9) == pytest.approx(predicted[0])  # D is ignored without a tokens term
    assert CHINCHILLA.predict(1e6, 1e9) == pytest.approx(1.69 + 406.4 / 1e6**0.34 + 410.7 / 1e9**0.28)


def test_a_law_with_a_tokens_term_needs_d_to_predict():
    with pytest.raises(ConfigError, match="pass D"):
        CHINCHILLA.predict(1e6)


def test_to_dict_names_every_constant():
    assert CHINCHILLA.to_dict() == {"E": 1.69, "A": 406.4, "alpha": 0.34, "B": 410.7, "beta": 0.28}


# ------------------------------------------------------------------------------------- fitting


def test_n_only_fit_recovers_exact_constants():
    law = fit_scaling_law(SIZES, N_ONLY.predict(SIZES))
    assert law.B == 0
    assert relative(law.E, 1.7) < 0.05
    assert relative(law.A, 400) < 0.05
    assert relative(law.alpha, 0.34) < 0.05


def test_equal_token_budgets_fall_back_to_the_n_only_form():
    law = fit_scaling_law(SIZES, N_ONLY.predict(SIZES), D=np.full(len(SIZES), 2e9))
    assert law.B == 0 and law.beta == 0
    assert relative(law.alpha, 0.34) < 0.05


def test_n_only_fit_with_half_percent_noise_recovers_e_and_alpha():
    law = fit_scaling_law(SIZES, noisy_losses(seed=0))
    assert relative(law.E, 1.7) < 0.05
    assert relative(law.alpha, 0.34) < 0.05


def test_full_fit_recovers_chinchilla_constants(full_fit):
    for name, value in CHINCHILLA.to_dict().items():
        assert relative(getattr(full_fit, name), value) < 0.05, name


def test_full_fit_predicts_held_out_runs_within_one_percent(full_fit):
    held_out_sizes = np.array([3e7, 3e8, 3e9])
    held_out_tokens = np.array([3e9, 5e10, 3e11])
    predicted = full_fit.predict(held_out_sizes, held_out_tokens)
    actual = CHINCHILLA.predict(held_out_sizes, held_out_tokens)
    assert np.all(np.abs(predicted - actual) / actual < 0.01)


def test_a_custom_grid_is_used():
    # One start at the answer suffices; a start of the wrong width is a user error.
    start = [np.log(1.7), np.log(400), 0.34]
    law = fit_scaling_law(SIZES, N_ONLY.predict(SIZES), grid=[start])
    assert relative(law.A, 400) < 1e-6
    with pytest.raises(ConfigError, match="needs 3 values"):
        fit_scaling_law(SIZES, N_ONLY.predict(SIZES), grid=[[0.0, 1.0]])


@pytest.mark.parametrize(
    ("N", "L", "D", "problem"),
    [
        ([1e5, 1e6], [3.0, 2.5], None, "needs at least 3 points; got 2"),
        ([1e5, 1e6, 1e7], [3.0, 2.5, 2.2], [1e9, 2e9, 3e9], "needs at least 4 points; got 3"),
        ([-1e5, 1e6, 1e7], [3.0, 2.5, 2.2], None, "N must hold positive, finite numbers"),
        ([1e5, 1e6, 1e7], [3.0, np.nan, 2.2], None, "L must hold positive, finite numbers"),
        ([1e5, 1e6, 1e7], [3.0, 2.5], None, "same lengths"),
        ([1e5, 1e5, 1e6, 1e6], [3.0, 2.9, 2.5, 2.4], [1e9, 2e9, 1e9, 2e9], "3 distinct N; got 2"),
    ],
)
def test_bad_points_raise_config_error_naming_the_problem(N, L, D, problem):
    with pytest.raises(ConfigError, match=problem):
        fit_scaling_law(N, L, D)


# ------------------------------------------------------------------------------------- checking a fit


def test_bootstrap_intervals_contain_the_true_constants_on_noisy_data():
    intervals = bootstrap_intervals(SIZES, noisy_losses(seed=0), n_boot=30, level=0.9, seed=0)
    assert set(intervals) == {"E", "A", "alpha"}
    for name, (low, high) in intervals.items():
        assert low < high, name
        assert low <= N_ONLY.to_dict()[name] <= high, name


def test_bootstrap_is_deterministic_for_a_seed_and_varies_with_it():
    losses = noisy_losses(seed=1)
    first = bootstrap_intervals(SIZES, losses, n_boot=15, seed=7)
    assert bootstrap_intervals(SIZES, losses, n_boot=15, seed=7) == first
    assert bootstrap_intervals(SIZES, losses, n_boot=15, seed=8) != first


def test_bootstrap_rejects_a_level_outside_zero_and_one():
    with pytest.raises(ConfigError, match="level"):
        bootstrap_intervals(SIZES, N_ONLY.predict(SIZES), n_boot=5, level=1.5)


def test_leave_largest_out_on_exact_data_extrapolates_within_one_percent():
    check = leave_largest_out(SIZES, N_ONLY.predict(SIZES))
    assert check["N"] == SIZES.max()
    assert check["actual"] == pytest.approx(N_ONLY.predict(SIZES.max()))
    assert check["relative_error"] < 0.01
    assert check["relative_error"] == pytest.approx(abs(check["predicted"] - check["actual"]) / check["actual"])


def test_leave_largest_out_needs_enough_points_left():
    with pytest.raises(ConfigError, match="at least 3 points; got 2"):
        leave_largest_out(SIZES[:3], N_ONLY.predict(SIZES[:3]))


# ------------------------------------------------------------------------------------- loss -> metric

SIGMOID = LossToMetric(lo=0.2, hi=0.9, k=3.0, L0=3.5)
LOSSES = np.linspace(2.0, 5.0, 8)


def test_sigmoid_fit_recovers_known_constants():
    fitted = fit_loss_to_metric(LOSSES, SIGMOID.predict(LOSSES))
    for name, value in SIGMOID.to_dict().items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.01), name


def test_sigmoid_fit_works_with_exactly_four_rungs():
    four = LOSSES[[0, 2, 5, 7]]
    fitted = fit_loss_to_metric(four, SIGMOID.predict(four))
    assert fitted.L0 == pytest.approx(3.5, rel=0.01)


def test_inverse_undoes_predict():
    fitted = fit_loss_to_metric(LOSSES, SIGMOID.predict(LOSSES))
    for loss in (2.5, 3.5, 4.2):
        assert fitted.inverse(float(fitted.predict(loss))) == pytest.approx(loss, abs=1e-6)


def test_inverse_rejects_a_metric_the_curve_never_reaches():
    with pytest.raises(ConfigError, match=r"only spans \(0\.2, 0\.9\)"):
        SIGMOID.inverse(0.95)


def test_sigmoid_fit_needs_four_rungs():
    with pytest.raises(ConfigError, match="at least 4 rungs; got 3"):
        fit_loss_to_metric([2.0, 3.0, 4.0], [0.8, 0.6, 0.3])


def test_sigmoid_fit_rejects_metrics_outside_zero_one():
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        fit_loss_to_metric([2.0, 3.0, 4.0, 5.0], [80.0, 60.0, 30.0, 20.0])


# ------------------------------------------------------------------------------------- using a law


def test_compute_optimal_spends_the_budget_and_beats_off_optimal_splits():
    budget = 1e21
    optimum = compute_optimal(CHINCHILLA, budget)
    assert 6 * optimum["N"] * optimum["D"] == pytest.approx(budget, rel=1e-9)
    assert optimum["loss"] == pytest.approx(float(CHINCHILLA.predict(optimum["N"], optimum["D"])))
    for factor in (4.0, 0.25):
        n = optimum["N"] * factor
        assert optimum["loss"] < CHINCHILLA.predict(n, budget / (6 * n))


def test_compute_optimal_matches_the_closed_form():
    # Chinchilla's closed form: N_opt = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta)).
    a, b = CHINCHILLA.alpha, CHINCHILLA.beta
    g = (a * CHINCHILLA.A / (b * CHINCHILLA.B)) ** (1 / (a + b))
    assert compute_optimal(CHINCHILLA, 1e21)["N"] == pytest.approx(g * (1e21 / 6) ** (b / (a + b)), rel=1e-4)


def test_compute_optimal_refuses_a_law_without_a_tokens_term():
    with pytest.raises(ConfigError, match="tokens term was not fitted"):
        compute_optimal(N_ONLY, 1e21)


def test_parameters_needed_inverts_predict():
    assert parameters_needed(N_ONLY, float(N_ONLY.predict(2.5e6))) == pytest.approx(2.5e6, rel=1e-9)
    loss = float(CHINCHILLA.predict(7e8, 2e10))
    assert parameters_needed(CHINCHILLA, loss, D=2e10) == pytest.approx(7e8, rel=1e-9)


def test_parameters_needed_refuses_a_target_at_or_below_the_irreducible_loss():
    with pytest.raises(ConfigError, match="irreducible"):
        parameters_needed(N_ONLY, 1.6)
    with pytest.raises(ConfigError, match="irreducible"):
        parameters_needed(N_ONLY, 1.7)
    # Above E but below E + B/D^beta: finite data puts the target out of reach.
    with pytest.raises(ConfigError, match=r"E \+ B/D\^beta"):
        parameters_needed(CHINCHILLA, 1.75, D=1e9)
