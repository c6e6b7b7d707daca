"""IsoFLOP profiles (Chinchilla's Approach 2): at each compute budget, where along the size axis loss is lowest.

Every rung of a budget costs the same training FLOPs C; a smaller model sees more tokens. Per budget
a parabola in log N through the rungs' validation losses gives the loss-minimising size N_opt(C), and
D_opt = C / (FLOPs per token at N_opt). Across budgets, N_opt ∝ C^a and D_opt ∝ C^b (least squares in
log-log). A budget whose parabola has no minimum inside the sizes tried is flagged and left out of the
power laws, never extrapolated.

Intervals come from a parametric bootstrap on the measured seed noise: each replicate adds to every
rung's loss a normal draw with the pooled seed standard deviation (over the square root of the rung's
seed count) and refits everything. Library code: numpy and pandas only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from lmladder.errors import ConfigError

MIN_SIZES = 3  # a parabola has three coefficients


class FlopsPerToken:
    """Training FLOPs per token as a function of N, interpolated in log-log between known model shapes.

    ``table``: (N, FLOPs per token) pairs, e.g. of the depth dial d1 .. d64 for the project's vocabulary
    and block size; beyond its ends the last segment's slope extrapolates.
    """

    def __init__(self, table: list[tuple[float, float]]):
        points = sorted({(float(n), float(f)) for n, f in table})
        if len(points) < 2:
            raise ConfigError("FLOPs per token needs at least two (N, FLOPs per token) pairs to interpolate")
        self.log_n = np.log([n for n, _ in points])
        self.log_f = np.log([f for _, f in points])

    def __call__(self, N) -> np.ndarray:
        x = np.log(np.asarray(N, dtype=float))
        inside = np.interp(x, self.log_n, self.log_f)
        low_slope = (self.log_f[1] - self.log_f[0]) / (self.log_n[1] - self.log_n[0])
        high_slope = (self.log_f[-1] - self.log_f[-2]) / (self.log_n[-1] - self.log_n[-2])
        below = self.log_f[0] + low_slope * (x - self.log_n[0])
        above = self.log_f[-1] + high_slope * (x - self.log_n[-1])
        return np.exp(np.where(x < self.log_n[0], below, np.where(x > self.log_n[-1], above, inside)))


def fit_profile(N, L, flops: float, flops_per_token: Callable) -> dict:
    """The parabola L = c0 + c1 x + c2 x^2 in x = ln N through one budget's rungs, and its minimum.

    ``interior`` is true when the parabola opens upwards and its vertex lies strictly between the
    smallest and largest size tried; only then are ``N_opt``, ``D_opt`` and ``loss_opt`` set.
    """
    N, L = np.asarray(N, dtype=float), np.asarray(L, dtype=float)
    if len(np.unique(N)) < MIN_SIZES:
        raise ConfigError(f"An IsoFLOP profile needs at least {MIN_SIZES} different sizes; got {len(np.unique(N))}")
    x = np.log(N)
    c2, c1, c0 = np.polyfit(x, L, 2)
    profile = {"flops": float(flops), "coefficients": [float(c0), float(c1), float(c2)], "interior": False}
    profile.update(N_opt=None, D_opt=None, loss_opt=None, tokens_per_param=None)
    if c2 <= 0:
        profile["reason"] = "loss is not U-shaped in log N at this budget (the parabola opens downwards)"
        return profile
    vertex = -c1 / (2 * c2)
    if not x.min() < vertex < x.max():
        side = "below the smallest" if vertex <= x.min() else "above the largest"
        profile["reason"] = f"the lowest loss lies {side} size tried (N = {np.exp(vertex):.3g}): add sizes on that side"
        return profile
    n_opt = float(np.exp(vertex))
    d_opt = float(flops / flops_per_token(n_opt))
    profile.update(
        interior=True,
        N_opt=n_opt,
        D_opt=d_opt,
        loss_opt=float(c0 + c1 * vertex + c2 * vertex**2),
        tokens_per_param=d_opt / n_opt,
        reason="",
    )
    return profile


def fit_profiles(points: pd.DataFrame, flops_per_token: Callable) -> dict[str, dict]:
    """One profile per budget of ``points`` (columns ``budget``, ``budget_flops``, ``params``, ``val_loss``)."""
    profiles = {}
    for budget, rows in points.groupby("budget", sort=False):
        profiles[budget] = fit_profile(rows["params"], rows["val_loss"], float(rows["budget_flops"].iloc[0]), flops_per_token)
    return dict(sorted(profiles.items(), key=lambda item: item[1]["flops"]))


def optimal_scaling(profiles: dict[str, dict]) -> dict | None:
    """N_opt = kN C^a and D_opt = kD C^b through the budgets with an interior minimum (needs two)."""
    interior = [profile for profile in profiles.values() if profile["interior"]]
    if len(interior) < 2:
        return None
    log_c = np.log([profile["flops"] for profile in interior])
    a, log_kn = np.polyfit(log_c, np.log([profile["N_opt"] for profile in interior]), 1)
    b, log_kd = np.polyfit(log_c, np.log([profile["D_opt"] for profile in interior]), 1)
    return {"a": float(a), "log_kN": float(log_kn), "b": float(b), "log_kD": float(log_kd), "budgets": len(interior)}


def optimum_at(scaling: dict, flops: float) -> dict:
    """N_opt, D_opt and tokens per parameter that the power laws give at ``flops``."""
    n = float(np.exp(scaling["log_kN"]) * flops ** scaling["a"])
    d = float(np.exp(scaling["log_kD"]) * flops ** scaling["b"])
    return {"flops": float(flops), "N": n, "D": d, "tokens_per_param": d / n}


def isoflop_analysis(
    points: pd.DataFrame,
    flops_per_token: Callable,
    *,
    loss_noise: float | None,
    target_flops: float | None = None,
    n_boot: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> dict:
    """Profiles, power laws, the optimum at the largest budget and at ``target_flops``, with intervals.

    ``points``: one row per (budget, size) with the mean ``val_loss`` over its seeds and ``seeds``, the
    count. ``loss_noise``: the pooled seed standard deviation of the loss; without it there are no
    intervals (the result says why).
    """
    profiles = fit_profiles(points, flops_per_token)
    scaling = optimal_scaling(profiles)
    largest = max(profiles.values(), key=lambda profile: profile["flops"])
    result = {"profiles": profiles, "scaling": scaling, "largest_budget": largest, "at_target": None, "intervals": None, "notes": []}
    if scaling is not None and target_flops:
        result["at_target"] = optimum_at(scaling, target_flops)
    if scaling is None:
        result["notes"].append(
            f"no N_opt(C) and D_opt(C) power laws: {sum(p['interior'] for p in profiles.values())} budget(s) have an interior minimum, two are needed"
        )
    if not loss_noise:
        result["notes"].append("no IsoFLOP intervals: no seed noise was measured (train some rungs with two or more seeds)")
        return result

    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    scale = loss_noise / np.sqrt(points["seeds"].to_numpy(dtype=float))
    usable = 0
    for _ in range(n_boot):
        noisy = points.assign(val_loss=points["val_loss"].to_numpy(dtype=float) + rng.normal(0.0, scale))
        replicate = fit_profiles(noisy, flops_per_token)
        top = max(replicate.values(), key=lambda profile: profile["flops"])
        if top["interior"]:
            draws.setdefault("largest.N_opt", []).append(top["N_opt"])
            draws.setdefault("largest.D_opt", []).append(top["D_opt"])
            draws.setdefault("largest.tokens_per_param", []).append(top["tokens_per_param"])
        fitted = optimal_scaling(replicate)
        if fitted is None:
            continue
        usable += 1
        draws.setdefault("a", []).append(fitted["a"])
        draws.setdefault("b", []).append(fitted["b"])
        if target_flops:
            optimum = optimum_at(fitted, target_flops)
            for key in ("N", "D", "tokens_per_param"):
                draws.setdefault(f"target.{key}", []).append(optimum[key])
    tail = 100 * (1 - level) / 2
    result["intervals"] = {key: [float(v) for v in np.percentile(values, [tail, 100 - tail])] for key, values in draws.items()}
    result["bootstrap"] = {
        "replicates": n_boot,
        "with_power_laws": usable,
        "largest_interior": len(draws.get("largest.N_opt", [])),
        "level": level,
        "loss_noise": float(loss_noise),
    }
    return result
