"""Choosing a model size: scaling-law fits, the quality/cost frontier and a recommendation.

A pure library layer: numpy, scipy, pandas and matplotlib only (no kedro, mlflow or torch).
Figures live in :mod:`lmladder.selection.plots`, imported on demand so that using a fit does not load matplotlib.
"""

from lmladder.selection.frontier import pareto_frontier, recommend
from lmladder.selection.metric import CHRF, MACRO_F1, TaskMetric, task_metric
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

__all__ = [
    "CHRF",
    "MACRO_F1",
    "LossToMetric",
    "ScalingLaw",
    "TaskMetric",
    "bootstrap_intervals",
    "compute_optimal",
    "fit_loss_to_metric",
    "fit_scaling_law",
    "leave_largest_out",
    "pareto_frontier",
    "parameters_needed",
    "recommend",
    "task_metric",
]
