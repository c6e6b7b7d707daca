"""Everything model selection concludes from a ladder table, in one place the report and the plots share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lmladder.errors import ConfigError
from lmladder.selection.frontier import pareto_frontier, recommend
from lmladder.selection.scaling_law import (
    LossToMetric,
    ScalingLaw,
    bootstrap_intervals,
    compute_optimal,
    fit_loss_to_metric,
    fit_scaling_law,
    leave_largest_out,
)

# (quality column, higher is better, cost column): the frontiers the report shows
FRONTIERS = (
    ("macro_f1", True, "latency_ms"),
    ("macro_f1", True, "params"),
    ("macro_f1", True, "train_flops"),
    ("val_bits_per_byte", False, "train_flops"),
)


@dataclass
class LadderAnalysis:
    rungs: pd.DataFrame
    law: ScalingLaw
    intervals: dict | None = None
    leave_largest_out: dict | None = None
    loss_to_metric: LossToMetric | None = None
    points: pd.DataFrame | None = None  # rungs plus the baseline, for the frontiers
    frontiers: dict[str, pd.DataFrame] = field(default_factory=dict)
    recommendation: dict = field(default_factory=dict)
    compute_optimal: dict | None = None
    # what could not be computed, and why: a 3-rung ladder cannot support every check
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "rungs": self.rungs.to_dict(orient="records"),
            "scaling_law": self.law.to_dict(),
            "scaling_law_text": self.law.describe(),
            "intervals": self.intervals,
            "leave_largest_out": self.leave_largest_out,
            "loss_to_metric": None if self.loss_to_metric is None else self.loss_to_metric.to_dict(),
            "frontiers": {name: frame["name"].tolist() for name, frame in self.frontiers.items()},
            "recommendation": self.recommendation,
            "compute_optimal": self.compute_optimal,
            "notes": self.notes,
        }


def analyse_ladder(
    rungs: pd.DataFrame,
    baseline: dict | None = None,
    constraints: dict | None = None,
    compute_budget_flops: float | None = None,
    n_boot: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> LadderAnalysis:
    """Fit the scaling law and check it, map loss to macro-F1, build the frontiers and recommend a rung.

    ``baseline`` (``name``, ``macro_f1``, ``latency_ms``, ``params``) joins the frontiers it has
    columns for. Checks a small ladder cannot support are skipped with a note, never faked.
    """
    N, L = rungs["params"].to_numpy(dtype=float), rungs["val_loss"].to_numpy(dtype=float)
    D = rungs["tokens"].to_numpy(dtype=float)
    analysis = LadderAnalysis(rungs=rungs, law=fit_scaling_law(N, L, D))

    analysis.intervals = _or_note(
        analysis.notes, "bootstrap intervals", lambda: bootstrap_intervals(N, L, D, n_boot=n_boot, level=level, seed=seed)
    )
    analysis.leave_largest_out = _or_note(analysis.notes, "leave-largest-out check", lambda: leave_largest_out(N, L, D))
    analysis.loss_to_metric = _or_note(
        analysis.notes, "loss-to-macro-F1 sigmoid", lambda: fit_loss_to_metric(L, rungs["macro_f1"].to_numpy(dtype=float))
    )

    points = rungs.assign(kind="rung")
    if baseline:
        points = pd.concat([points, pd.DataFrame([{**baseline, "kind": "baseline"}])], ignore_index=True)
    analysis.points = points
    for quality, higher_is_better, cost in FRONTIERS:
        candidates = points.dropna(subset=[quality, cost])
        analysis.frontiers[f"{quality} vs {cost}"] = pareto_frontier(candidates, quality, cost, higher_is_better)

    analysis.recommendation = recommend(rungs, constraints or {}, analysis.law, analysis.loss_to_metric)
    if compute_budget_flops:
        analysis.compute_optimal = _or_note(
            analysis.notes,
            f"compute-optimal N and D for {compute_budget_flops:.3g} FLOPs",
            lambda: compute_optimal(analysis.law, float(compute_budget_flops)),
        )
    return analysis


def _or_note(notes: list[str], what: str, compute):
    try:
        value = compute()
    except ConfigError as error:
        notes.append(f"No {what}: {error}")
        return None
    return value if not isinstance(value, dict) else {key: _plain(item) for key, item in value.items()}


def _plain(value):
    """numpy scalars and tuples as JSON-friendly Python values."""
    if isinstance(value, tuple):
        return [float(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
