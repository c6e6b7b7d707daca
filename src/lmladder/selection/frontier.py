"""Which rung to pick: the quality/cost Pareto frontier and a constraint-driven recommendation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lmladder.errors import ConfigError
from lmladder.selection.metric import MACRO_F1, TaskMetric
from lmladder.selection.noise import noise_margin
from lmladder.selection.scaling_law import LossToMetric, ScalingLaw, parameters_needed

# constraint name -> (rung column, whether the rung's value must be at least the limit)
CONSTRAINTS: dict[str, tuple[str, bool]] = {
    "min_macro_f1": ("macro_f1", True),
    "max_latency_ms": ("latency_ms", False),
    "max_params": ("params", False),
    "max_train_flops": ("train_flops", False),
}
# The worst acceptable value of the task metric, whatever it is (at least it, or at most it when lower is better).
MIN_METRIC = "min_metric"


def pareto_frontier(points: pd.DataFrame, quality: str, cost: str, higher_is_better: bool = True) -> pd.DataFrame:
    """The rows no other row dominates, sorted by cost.

    A row is dominated when another is at least as good on quality and at least as cheap, and strictly
    better on one of the two; exact ties therefore all stay on the frontier.
    """
    _require_columns(points, [quality, cost], "points")
    for column in (quality, cost):
        if points[column].isna().any():
            raise ConfigError(f"Column '{column}' has missing values; drop or fill those rows before building a frontier.")
    # Flip the sign so that "higher is better" holds for quality in the comparisons below.
    goodness = points[quality].to_numpy(dtype=float) * (1 if higher_is_better else -1)
    costs = points[cost].to_numpy(dtype=float)

    at_least_as_good = (goodness[:, None] >= goodness[None, :]) & (costs[:, None] <= costs[None, :])
    strictly_better = (goodness[:, None] > goodness[None, :]) | (costs[:, None] < costs[None, :])
    dominates = at_least_as_good & strictly_better  # dominates[j, i]: row j dominates row i
    on_frontier = ~dominates.any(axis=0)

    frontier = points[on_frontier]
    order = np.lexsort((-goodness[on_frontier], costs[on_frontier]))  # by cost, then best quality first
    return frontier.iloc[order]


def recommend(
    rungs: pd.DataFrame,
    constraints: dict,
    law: ScalingLaw | None = None,
    loss_to_metric: LossToMetric | None = None,
    metric_noise: float | None = None,
    metric: TaskMetric = MACRO_F1,
    *,
    f1_noise: float | None = None,
) -> dict:
    """Among the rungs meeting every constraint, the cheapest to train whose task metric is within noise of the best.

    ``rungs``: one row per model (seeds averaged; ``seeds`` counts them, 1 if absent). ``metric``: what
    "best" means (macro-F1 by default). ``constraints`` may hold ``min_metric`` (on ``metric``),
    ``min_macro_f1`` (on macro-F1, so a classification constraint only), ``max_latency_ms``, ``max_params``
    and ``max_train_flops``; a missing or None entry is no constraint. ``metric_noise`` (``f1_noise``, its
    name from before other task metrics): the seed standard deviation of the metric; rungs whose difference
    from the best is within ``noise.noise_margin`` are ``tied``, and the recommendation never picks among
    them by quality, only by training cost. Without it only exact ties are ties.

    When no rung passes, ``binding`` names the constraints that, dropped alone, would let some rung pass
    (or every constraint that excludes a rung, when no single one would), and with ``law`` and
    ``loss_to_metric`` ``needed`` estimates the loss and parameter count that would reach the metric's floor.
    """
    noise = f1_noise if metric_noise is None else metric_noise
    columns = _constraint_columns(metric)
    active = _active_constraints(constraints, metric)
    if rungs.empty:
        raise ConfigError("recommend needs at least one rung; the rungs table is empty.")
    _require_columns(rungs, ["name", "train_flops", metric.column] + [columns[name][0] for name in active], "rungs")

    passes = {name: _passes(rungs, columns[name], limit) for name, limit in active.items()}
    meets_all = np.logical_and.reduce(list(passes.values())) if passes else np.ones(len(rungs), dtype=bool)
    excluded = {name: int((~mask).sum()) for name, mask in passes.items()}
    meeting = rungs[meets_all & np.isfinite(rungs[metric.column].to_numpy(dtype=float))]
    result = {
        "recommended": None,
        "reason": "",
        "meets": meeting["name"].tolist(),
        "tied": [],
        "binding": [],
        "excluded": excluded,
        "needed": None,
    }

    if not meeting.empty:
        seeds = meeting["seeds"].to_numpy(dtype=float) if "seeds" in meeting else np.ones(len(meeting))
        values = meeting[metric.column].to_numpy(dtype=float)
        goodness = values if metric.higher_is_better else -values  # higher is better from here on
        best = int(np.argmax(goodness))
        margins = np.array([noise_margin(noise, seeds[best], count) for count in seeds])
        tied = meeting[goodness >= goodness[best] - margins]
        cheapest = tied.loc[tied["train_flops"].astype(float).idxmin()]
        result["recommended"] = cheapest["name"]
        result["tied"] = tied["name"].tolist()
        cost = f"{float(cheapest['train_flops']):.2g} training FLOPs"
        quality = f"{metric.label} {metric.brief(float(cheapest[metric.column]))}"
        if len(tied) > 1:
            others = ", ".join(name for name in tied["name"] if name != cheapest["name"])
            result["reason"] = (
                f"{cheapest['name']} ({quality}, {cost}) is the cheapest of {len(tied)} rungs whose {metric.label} is within noise of the best "
                f"({meeting['name'].iloc[best]}, {metric.brief(values[best])}); {others} would not be measurably better"
            )
        else:
            result["reason"] = f"{cheapest['name']} has the best {metric.label} ({quality}, {cost}); no other rung is within noise of it"
        if active:
            result["reason"] += f", among the {len(meeting)} rungs meeting every constraint"
        return result

    result["binding"] = _binding_constraints(passes)
    floors = [name for name in active if columns[name][0] == metric.column]  # the constraints on the task metric
    if floors and law is not None and loss_to_metric is not None:
        strictest = max(active[name] for name in floors) if metric.higher_is_better else min(active[name] for name in floors)
        result["needed"] = _size_needed(rungs, strictest, law, loss_to_metric)
    result["reason"] = _no_rung_reason(result["binding"], active, result["needed"], floors, metric)
    return result


def _constraint_columns(metric: TaskMetric) -> dict[str, tuple[str, bool]]:
    return {**CONSTRAINTS, MIN_METRIC: (metric.column, metric.higher_is_better)}


def _active_constraints(constraints: dict | None, metric: TaskMetric) -> dict[str, float]:
    constraints = constraints or {}
    known = _constraint_columns(metric)
    unknown = sorted(set(constraints) - set(known))
    if unknown:
        raise ConfigError(f"Unknown constraint(s) {unknown}; known constraints are {sorted(known)}.")
    active = {name: float(limit) for name, limit in constraints.items() if limit is not None}
    if "min_macro_f1" in active and metric.column != "macro_f1":
        # A macro-F1 floor on rungs that measure no macro-F1 would silently exclude every rung.
        raise ConfigError(
            f"Constraint min_macro_f1 is a classification constraint, but the rungs are ranked by {metric.label}; "
            f"set min_macro_f1 to null and use {MIN_METRIC} for a floor on {metric.label}."
        )
    return active


def _passes(rungs: pd.DataFrame, constraint: tuple[str, bool], limit: float) -> np.ndarray:
    column, at_least = constraint
    values = rungs[column].to_numpy(dtype=float)
    # A missing measurement (NaN) compares False, so such a rung never passes the constraint.
    return values >= limit if at_least else values <= limit


def _binding_constraints(passes: dict[str, np.ndarray]) -> list[str]:
    """Constraints whose removal alone lets some rung pass; else every constraint that excludes a rung."""

    def some_rung_passes_without(name: str) -> bool:
        others = [mask for other, mask in passes.items() if other != name]
        return not others or np.logical_and.reduce(others).any()

    alone = [name for name in passes if some_rung_passes_without(name)]
    return alone or [name for name, mask in passes.items() if not mask.all()]


def _size_needed(rungs: pd.DataFrame, floor: float, law: ScalingLaw, loss_to_metric: LossToMetric) -> dict:
    """Loss and parameters the fitted curves say would reach the metric's floor, at the ladder's largest token budget."""
    try:
        target_loss = loss_to_metric.inverse(floor)
        tokens = float(rungs["tokens"].max()) if "tokens" in rungs else None
        return {"target_loss": target_loss, "params": parameters_needed(law, target_loss, D=tokens)}
    except ConfigError as error:
        return {"error": str(error)}


def _no_rung_reason(binding: list[str], active: dict[str, float], needed: dict | None, floors: list[str], metric: TaskMetric) -> str:
    # min_metric names no metric: say which one it was
    limits = ", ".join(f"{name}={active[name]:g}" + (f" ({metric.label})" if name == MIN_METRIC else "") for name in binding)
    verb = "reaches" if len(binding) == 1 and binding[0] in floors else "meets"
    reason = f"no rung {verb} {limits}"
    if needed and "params" in needed:
        reason += f"; the fitted law predicts ~{_human_count(needed['params'])} parameters are needed"
    elif needed and "error" in needed:
        reason += f"; the fitted law cannot say what size would: {needed['error']}"
    return reason


def _human_count(count: float) -> str:
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if count >= threshold:
            return f"{count / threshold:.3g}{suffix}"
    return f"{count:.3g}"


def _require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [column for column in dict.fromkeys(columns) if column not in frame.columns]
    if missing:
        raise ConfigError(f"The {what} table lacks column(s) {missing}; it has {list(frame.columns)}.")
