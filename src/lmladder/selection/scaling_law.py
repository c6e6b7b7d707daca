"""How validation loss falls with model size and data: fit, check and use a scaling law.

The form is Chinchilla's (Hoffmann et al. 2022), L(N, D) = E + A/N^alpha + B/D^beta, fitted as they
did: E, A, B are written as exp(e), exp(a), exp(b) so they stay positive, the prediction is made in
log space with logsumexp, and the objective is a Huber loss on the log residuals, minimised with
L-BFGS from every point of a grid of starting values. When every rung saw the same number of
tokens the D term cannot be separated from E, so only L(N) = E + A/N^alpha is fitted.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit, minimize, minimize_scalar

from lmladder.errors import ConfigError

MIN_POINTS_N_ONLY = 3  # three constants need three points
MIN_POINTS_FULL = 4  # the full form has five constants, but a 2-D grid of 4+ runs already pins it in practice
MIN_POINTS_LOSS_TO_METRIC = 4  # four sigmoid constants

# Bounds of (e, a, alpha, b, beta): exponents in (0, 2] (published fits lie near 0.3; the OLMo ladder
# bounds them too) and E at least 1e-3 nats. Unbounded, a fit to a few noisy rungs can run E to 1e-20
# and an exponent off to infinity, spending minutes in iterations that change nothing.
BOUNDS = ((np.log(1e-3), None), (None, None), (1e-3, 2.0), (None, None), (1e-3, 2.0))

SCREEN_STEPS = 10  # L-BFGS steps from every start of the grid
POLISHED = 4  # the best screened starts, run to convergence

# Chinchilla-style grid of starting values: the Huber objective has local minima, so one start is not enough.
DEFAULT_E_STARTS = (-1.0, 0.0, 0.5)
DEFAULT_A_STARTS = (0.0, 5.0, 10.0)
DEFAULT_EXPONENT_STARTS = (0.1, 0.3, 0.6)


@dataclass(frozen=True)
class ScalingLaw:
    """L(N, D) = E + A/N^alpha + B/D^beta; with B == 0 the law depends on N only."""

    E: float
    A: float
    alpha: float
    B: float = 0.0
    beta: float = 0.0

    @property
    def has_tokens_term(self) -> bool:
        return self.B > 0

    def predict(self, N, D=None) -> np.ndarray:
        """Predicted loss for parameter counts N (and token counts D when the law has a tokens term)."""
        N = np.asarray(N, dtype=float)
        loss = self.E + self.A / N**self.alpha
        if not self.has_tokens_term:
            return loss
        if D is None:
            raise ConfigError("This scaling law has a tokens term (B > 0): pass D, the training tokens, to predict.")
        return loss + self.B / np.asarray(D, dtype=float) ** self.beta

    def describe(self) -> str:
        text = f"L = {self.E:.3g} + {self.A:.3g}/N^{self.alpha:.3g}"
        if self.has_tokens_term:
            text += f" + {self.B:.3g}/D^{self.beta:.3g}"
        return text

    def to_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in asdict(self).items()}


# ---------------------------------------------------------------------------------------------- fitting


def fit_scaling_law(N, L, D=None, huber_delta: float = 1e-3, grid: Sequence[Sequence[float]] | None = None) -> ScalingLaw:
    """Fit L(N) = E + A/N^alpha, or the full L(N, D) when the rungs saw different token counts.

    ``grid`` holds starting points in the fitted parameterisation: (e, a, alpha) for the N-only form,
    (e, a, alpha, b, beta) for the full form; by default a 3^3 or 3^5 product grid.
    """
    N, L, D = _checked_points(N, L, D)
    full = _uses_tokens_term(D)
    _require_points(N, full)
    if not huber_delta > 0:
        raise ConfigError(f"huber_delta must be positive, got {huber_delta}.")
    return _fit(N, L, D if full else None, huber_delta, grid)


def _fit(N: np.ndarray, L: np.ndarray, D: np.ndarray | None, huber_delta: float, grid) -> ScalingLaw:
    full = D is not None
    starts = _starting_grid(full) if grid is None else [np.asarray(start, dtype=float) for start in grid]
    width = 5 if full else 3
    for start in starts:
        if start.shape != (width,):
            raise ConfigError(
                f"Each grid start needs {width} values ({'e, a, alpha, b, beta' if full else 'e, a, alpha'}), got {start.tolist()}."
            )
    log_n, log_l = np.log(N), np.log(L)
    log_d = np.log(D) if full else None

    def descend(start: np.ndarray, iterations: int):
        return minimize(
            _huber_objective,
            start,
            args=(log_n, log_d, log_l, huber_delta),
            jac=True,
            method="L-BFGS-B",
            bounds=BOUNDS[:width],
            # The objective is tiny (residuals ~1e-3), so SciPy's default tolerances would stop at once.
            options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": iterations},
        )

    # Screen every start with a few steps, then polish the most promising ones to convergence: the
    # same answer as polishing all of them (the grid is there to escape poor basins, which the
    # screen already tells apart), at a tenth of the cost.
    screened = sorted(
        (result for result in map(lambda start: descend(start, SCREEN_STEPS), starts) if np.isfinite(result.fun)), key=lambda r: r.fun
    )
    best = None
    for candidate in screened[:POLISHED]:
        result = descend(candidate.x, 2000)
        if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        raise ConfigError("The scaling-law fit diverged from every starting point; check the losses are sensible.")
    return _law_from_parameters(best.x)


def _huber_objective(theta: np.ndarray, log_n, log_d, log_l, delta: float) -> tuple[float, np.ndarray]:
    """Sum of Huber losses on log residuals, with its gradient (exact gradients keep L-BFGS precise)."""
    terms = [np.full_like(log_n, theta[0]), theta[1] - theta[2] * log_n]
    if log_d is not None:
        terms.append(theta[3] - theta[4] * log_d)
    terms = np.stack(terms)  # (n_terms, n_points)
    # log-sum-exp by hand: scipy's logsumexp costs more in argument checks than the sum itself here
    largest = terms.max(axis=0)
    log_prediction = largest + np.log(np.exp(terms - largest).sum(axis=0))
    residual = log_prediction - log_l
    small = np.abs(residual) <= delta
    loss = np.where(small, 0.5 * residual**2, delta * (np.abs(residual) - 0.5 * delta)).sum()
    slope = np.where(small, residual, delta * np.sign(residual))
    share = np.exp(terms - log_prediction)  # d log L_hat / d(log term): each term's share of the loss
    gradient = [np.sum(slope * share[0]), np.sum(slope * share[1]), -np.sum(slope * share[1] * log_n)]
    if log_d is not None:
        gradient += [np.sum(slope * share[2]), -np.sum(slope * share[2] * log_d)]
    return float(loss), np.array(gradient)


def _starting_grid(full: bool) -> list[np.ndarray]:
    axes = [DEFAULT_E_STARTS, DEFAULT_A_STARTS, DEFAULT_EXPONENT_STARTS]
    if full:
        axes += [DEFAULT_A_STARTS, DEFAULT_EXPONENT_STARTS]
    return [np.array(start) for start in itertools.product(*axes)]


def _law_from_parameters(theta: np.ndarray) -> ScalingLaw:
    e, a, alpha = theta[:3]
    if len(theta) == 3:
        return ScalingLaw(E=float(np.exp(e)), A=float(np.exp(a)), alpha=float(alpha))
    b, beta = theta[3:]
    return ScalingLaw(E=float(np.exp(e)), A=float(np.exp(a)), alpha=float(alpha), B=float(np.exp(b)), beta=float(beta))


def _parameters_from_law(law: ScalingLaw) -> np.ndarray:
    theta = [np.log(law.E), np.log(law.A), law.alpha]
    if law.has_tokens_term:
        theta += [np.log(law.B), law.beta]
    return np.array(theta)


# ---------------------------------------------------------------------------------------------- validation


def _checked_points(N, L, D=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    arrays = {"N": N, "L": L} if D is None else {"N": N, "L": L, "D": D}
    checked = {}
    for name, values in arrays.items():
        values = np.atleast_1d(np.asarray(values, dtype=float))
        if values.ndim != 1:
            raise ConfigError(f"{name} must be a flat sequence of numbers, got shape {values.shape}.")
        if not np.all(np.isfinite(values)) or not np.all(values > 0):
            bad = values[~(np.isfinite(values) & (values > 0))]
            raise ConfigError(f"{name} must hold positive, finite numbers; got {bad.tolist()}.")
        checked[name] = values
    lengths = {name: len(values) for name, values in checked.items()}
    if len(set(lengths.values())) > 1:
        raise ConfigError(f"N, L (and D) must have the same lengths; got {lengths}.")
    return checked["N"], checked["L"], checked.get("D")


def _uses_tokens_term(D: np.ndarray | None) -> bool:
    return D is not None and not np.all(D == D[0])


def _require_points(N: np.ndarray, full: bool) -> None:
    needed = MIN_POINTS_FULL if full else MIN_POINTS_N_ONLY
    form = "L(N, D) = E + A/N^alpha + B/D^beta" if full else "L(N) = E + A/N^alpha"
    if len(N) < needed:
        raise ConfigError(f"Fitting {form} needs at least {needed} points; got {len(N)}.")
    if len(np.unique(N)) < MIN_POINTS_N_ONLY:
        raise ConfigError(f"Fitting {form} needs at least {MIN_POINTS_N_ONLY} distinct N; got {len(np.unique(N))}.")


# ---------------------------------------------------------------------------------------------- checking a fit


def bootstrap_intervals(N, L, D=None, n_boot: int = 200, level: float = 0.9, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Percentile intervals for each constant, from refits on rows resampled with replacement.

    The form (N-only or full) is the one the whole data set supports, so every refit estimates the
    same constants; a resample that cannot support that form is skipped.
    """
    N, L, D = _checked_points(N, L, D)
    full = _uses_tokens_term(D)
    _require_points(N, full)
    if n_boot < 1:
        raise ConfigError(f"n_boot must be at least 1, got {n_boot}.")
    if not 0 < level < 1:
        raise ConfigError(f"level must lie strictly between 0 and 1, got {level}.")

    point_estimate = _fit(N, L, D if full else None, 1e-3, None)
    # Refits start from the full-sample answer only: a resample's optimum lies near it, and the full
    # grid (243 starts for the full form) would make 200 refits take many minutes.
    grid = [_parameters_from_law(point_estimate)]
    rng = np.random.default_rng(seed)
    refits = []
    for _ in range(n_boot):
        rows = rng.integers(0, len(N), size=len(N))
        if not _resample_supports_form(N[rows], None if D is None else D[rows], full):
            continue
        refits.append(_fit(N[rows], L[rows], D[rows] if full else None, 1e-3, grid).to_dict())
    if not refits:
        raise ConfigError(f"None of {n_boot} resamples had enough distinct points to refit; add rungs or raise n_boot.")

    tail = 100 * (1 - level) / 2
    names = ["E", "A", "alpha"] + (["B", "beta"] if full else [])
    return {name: tuple(float(bound) for bound in np.percentile([refit[name] for refit in refits], [tail, 100 - tail])) for name in names}


def _resample_supports_form(N: np.ndarray, D: np.ndarray | None, full: bool) -> bool:
    if len(np.unique(N)) < MIN_POINTS_N_ONLY:
        return False
    if not full:
        return True
    distinct_runs = len(set(zip(N.tolist(), D.tolist(), strict=True)))
    return distinct_runs >= MIN_POINTS_FULL and _uses_tokens_term(D)


def leave_largest_out(N, L, D=None) -> dict[str, float]:
    """Fit without the largest model and predict its loss: the extrapolation a ladder is used for.

    Every row at the largest N is held out (the fit never sees that size); the prediction is scored
    on the largest-D run among them.
    """
    N, L, D = _checked_points(N, L, D)
    held_out = N == N.max()
    kept_D = None if D is None else D[~held_out]
    _require_points(N[~held_out], _uses_tokens_term(kept_D))
    law = fit_scaling_law(N[~held_out], L[~held_out], kept_D)
    target = np.flatnonzero(held_out)[np.argmax(D[held_out])] if D is not None else np.flatnonzero(held_out)[0]
    predicted = float(law.predict(N[target], None if D is None else D[target]))
    actual = float(L[target])
    return {
        "N": float(N[target]),
        "D": None if D is None else float(D[target]),
        "predicted": predicted,
        "actual": actual,
        "relative_error": abs(predicted - actual) / actual,
    }


# ---------------------------------------------------------------------------------------------- loss -> downstream metric


@dataclass(frozen=True)
class LossToMetric:
    """metric = lo + (hi - lo) / (1 + exp(k (L - L0))): the downstream score rises as the loss falls."""

    lo: float
    hi: float
    k: float
    L0: float

    def predict(self, L) -> np.ndarray:
        return _sigmoid(np.asarray(L, dtype=float), self.lo, self.hi, self.k, self.L0)

    def inverse(self, metric: float) -> float:
        """The loss at which the fitted curve reaches ``metric``."""
        if not self.lo < metric < self.hi or self.k == 0:
            raise ConfigError(
                f"The fitted loss-to-metric curve only spans ({self.lo:.3g}, {self.hi:.3g}); metric {metric} cannot be reached at any loss."
            )
        return float(self.L0 + np.log((self.hi - self.lo) / (metric - self.lo) - 1) / self.k)

    def to_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in asdict(self).items()}


def _sigmoid(L, lo, hi, k, L0):
    # Clipping the exponent keeps exp from overflowing when curve_fit tries steep slopes.
    return lo + (hi - lo) / (1 + np.exp(np.clip(k * (L - L0), -500, 500)))


def fit_loss_to_metric(L, metric, scale: float = 1.0) -> LossToMetric:
    """Fit how a downstream metric in [0, ``scale``] (e.g. macro-F1 in [0, 1], chrF in [0, 100]) depends on
    validation loss; needs 4+ rungs. The curve's ``lo`` and ``hi`` are on the metric's own scale."""
    L = np.asarray(L, dtype=float)
    metric = np.asarray(metric, dtype=float)
    if not (np.isfinite(scale) and scale > 0):
        raise ConfigError(f"scale must be a positive, finite number (a perfect score), got {scale}.")
    if L.shape != metric.shape or L.ndim != 1:
        raise ConfigError(f"L and metric must be flat sequences of the same length; got {L.shape} and {metric.shape}.")
    if len(L) < MIN_POINTS_LOSS_TO_METRIC:
        raise ConfigError(f"Fitting the loss-to-metric sigmoid needs at least {MIN_POINTS_LOSS_TO_METRIC} rungs; got {len(L)}.")
    if not np.all(np.isfinite(L)) or not np.all(np.isfinite(metric)):
        raise ConfigError("L and metric must hold finite numbers.")
    if np.any(metric < 0) or np.any(metric > scale):
        raise ConfigError(f"metric values must lie in [0, {scale:g}]; got {metric[(metric < 0) | (metric > scale)].tolist()}.")
    # Fitted as a fraction of a perfect score, so the bounds and starting values below hold for any scale.
    metric = metric / scale
    if np.ptp(L) == 0:
        raise ConfigError("All rungs have the same loss, so no relation between loss and metric can be fitted.")

    bounds = ([0.0, 0.0, 0.0, L.min() - 10 * np.ptp(L)], [1.0, 1.0, np.inf, L.max() + 10 * np.ptp(L)])
    margin = 0.01
    lo0, hi0 = max(metric.min() - margin, 0.0), min(metric.max() + margin, 1.0)
    best, best_error = None, np.inf
    # A few slopes as starting points: with few rungs the fit can settle on a wrong, flat sigmoid.
    for steepness in (2.0, 8.0, 32.0):
        p0 = [lo0, hi0, steepness / np.ptp(L), float(np.median(L))]
        try:
            with warnings.catch_warnings():
                # With exactly four rungs the fit is exact and the (unused) covariance is undefined.
                warnings.simplefilter("ignore", OptimizeWarning)
                params, _ = curve_fit(_sigmoid, L, metric, p0=p0, bounds=bounds, maxfev=20000)
        except RuntimeError:  # this start did not converge; another may
            continue
        error = float(np.sum((_sigmoid(L, *params) - metric) ** 2))
        if error < best_error:
            best, best_error = params, error
    if best is None:
        raise ConfigError("The loss-to-metric sigmoid did not converge from any starting point.")
    lo, hi, k, L0 = (float(value) for value in best)
    return LossToMetric(lo * scale, hi * scale, k, L0)  # the sigmoid is linear in lo and hi


# ---------------------------------------------------------------------------------------------- using a law


def compute_optimal(law: ScalingLaw, flops: float, flops_per_token: Callable | None = None) -> dict[str, float]:
    """The N and D that minimise L(N, D) for a compute budget C = FLOPs per token(N) x D.

    ``flops_per_token``: a function of N (e.g. ``isoflop.FlopsPerToken``, the project's own accounting,
    which counts the output layer); by default Chinchilla's 6N.
    """
    if not law.has_tokens_term:
        raise ConfigError(
            "compute_optimal needs a law with a tokens term (B > 0), but the tokens term was not fitted: "
            "all rungs used the same token budget. Train rungs on different token counts."
        )
    if not (np.isfinite(flops) and flops > 0):
        raise ConfigError(f"flops must be a positive, finite number, got {flops}.")
    per_token = flops_per_token or (lambda n: 6.0 * n)

    def tokens(log_n: float) -> float:
        return flops / float(per_token(np.exp(log_n)))

    def loss_at(log_n: float) -> float:
        return float(law.predict(np.exp(log_n), tokens(log_n)))

    # Search log N from one parameter to where (at 6 FLOPs per parameter) one token would use the budget.
    upper = np.log(flops / 6.0)
    result = minimize_scalar(loss_at, bounds=(0.0, upper), method="bounded", options={"xatol": 1e-10})
    n, d = float(np.exp(result.x)), tokens(result.x)
    return {"N": n, "D": d, "loss": float(result.fun), "tokens_per_param": d / n}


def parameters_needed(law: ScalingLaw, target_loss: float, D: float | None = None) -> float:
    """Parameters N at which the law reaches ``target_loss`` (with D tokens, or unlimited data when D is None)."""
    irreducible = law.E
    where = "E"
    if D is not None and law.has_tokens_term:
        if not (np.isfinite(D) and D > 0):
            raise ConfigError(f"D must be a positive, finite token count, got {D}.")
        irreducible += law.B / D**law.beta
        where = f"E + B/D^beta at D={D:.3g}"
    if not target_loss > irreducible:
        raise ConfigError(
            f"Target loss {target_loss:.4g} is at or below the irreducible loss {irreducible:.4g} ({where}); no model size reaches it."
        )
    return float((law.A / (target_loss - irreducible)) ** (1 / law.alpha))
