"""Everything model selection concludes from a ladder table, in one place the report and the plots share.

The task metric (``metric.TaskMetric``: macro-F1 for classification, chrF for generation) is a parameter;
nothing below depends on which it is. Which rungs feed what:
- the fits (IsoFLOP profiles, the Chinchilla form, the loss-to-metric sigmoid) use decoder rungs that
  are not held out and not learning-rate sweep points, with each model's seeds averaged;
- seed noise comes from the rungs trained with several seeds;
- held-out rungs are predicted by the fits and compared with what they measured;
- the architecture comparison uses a budget's rungs of every architecture, by the task metric: the
  encoder's masked-LM loss and the encoder-decoder's span-corruption loss are not comparable with the
  decoder's next-token loss (the encoder-decoder reports no bits/byte at all);
- the recommendation considers every fine-tuned model, held-out ones included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lmladder.errors import ConfigError
from lmladder.selection.frontier import pareto_frontier, recommend
from lmladder.selection.isoflop import isoflop_analysis
from lmladder.selection.ladder import LR_SWEEP
from lmladder.selection.metric import MACRO_F1, TaskMetric
from lmladder.selection.noise import metrics_for, model_groups, noise_margin, seed_noise
from lmladder.selection.scaling_law import (
    LossToMetric,
    ScalingLaw,
    bootstrap_intervals,
    compute_optimal,
    fit_loss_to_metric,
    fit_scaling_law,
    leave_largest_out,
)


def frontier_axes(metric: TaskMetric) -> tuple[tuple[str, bool, str], ...]:
    """(quality column, higher is better, cost column) of each frontier the report shows; a frontier is
    named "<quality> vs <cost>" in ``LadderAnalysis.frontiers``."""
    return (
        (metric.column, metric.higher_is_better, "latency_ms"),
        (metric.column, metric.higher_is_better, "params"),
        (metric.column, metric.higher_is_better, "train_flops"),
        ("val_bits_per_byte", False, "train_flops"),
    )


@dataclass
class LadderAnalysis:
    rungs: pd.DataFrame  # every rung, sweep points included
    models: pd.DataFrame  # fine-tuned models, seeds averaged
    metric: TaskMetric = MACRO_F1  # what the rungs are ranked by
    law: ScalingLaw | None = None
    noise: dict = field(default_factory=dict)
    isoflop: dict | None = None
    intervals: dict | None = None
    leave_largest_out: dict | None = None
    loss_to_metric: LossToMetric | None = None
    law_optimum: dict | None = None  # the Chinchilla form's compute-optimal split at the user's budget
    law_optimum_largest: dict | None = None  # ... and at the ladder's largest budget
    held_out: list[dict] = field(default_factory=list)
    architectures: list[dict] = field(default_factory=list)
    calibration: dict | None = None
    points: pd.DataFrame | None = None  # models plus the baseline, for the frontiers
    frontiers: dict[str, pd.DataFrame] = field(default_factory=dict)
    recommendation: dict = field(default_factory=dict)
    compute_budget_flops: float | None = None
    # what could not be computed, and why: a small ladder cannot support every check
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return _plain(
            {
                "metric": self.metric.to_dict(),
                "rungs": self.rungs.to_dict(orient="records"),
                "models": self.models.drop(columns=["names"]).to_dict(orient="records"),
                "noise": self.noise,
                "isoflop": self.isoflop,
                "scaling_law": None if self.law is None else self.law.to_dict(),
                "scaling_law_text": None if self.law is None else self.law.describe(),
                "intervals": self.intervals,
                "leave_largest_out": self.leave_largest_out,
                "loss_to_metric": None if self.loss_to_metric is None else self.loss_to_metric.to_dict(),
                "law_optimum": self.law_optimum,
                "law_optimum_largest": self.law_optimum_largest,
                "held_out": self.held_out,
                "architectures": self.architectures,
                "learning_rate": self.calibration,
                "frontiers": {name: frame["name"].tolist() for name, frame in self.frontiers.items()},
                "recommendation": self.recommendation,
                "compute_budget_flops": self.compute_budget_flops,
                "notes": self.notes,
            }
        )


def analyse_ladder(
    rungs: pd.DataFrame,
    baseline: dict | None = None,
    constraints: dict | None = None,
    compute_budget_flops: float | None = None,
    flops_per_token=None,
    calibration: dict | None = None,
    n_boot: int = 200,
    level: float = 0.9,
    seed: int = 0,
    metric: TaskMetric = MACRO_F1,
) -> LadderAnalysis:
    """Measure the noise, fit both ways, check the fits on the held-out rungs, compare architectures,
    build the frontiers and recommend a rung.

    ``metric``: the task metric the rungs are ranked by (``metric.task_metric(task)``); ``rungs`` must
    have its column. ``flops_per_token``: FLOPs per token as a function of N (``isoflop.FlopsPerToken``);
    without it the IsoFLOP profiles are skipped and compute-optimal splits use 6N. ``baseline`` (``name``,
    the metric's column, ``latency_ms``, ``params``, and any other table column) joins the frontiers it
    has columns for. Checks a small ladder cannot support are skipped with a note, never faked.
    """
    if metric.column not in rungs:
        raise ConfigError(
            f"The ladder table has no {metric.label} column '{metric.column}' to rank rungs by; it has {list(rungs.columns)}."
        )
    trained = rungs[rungs["kind"] != LR_SWEEP] if "kind" in rungs else rungs
    models = model_groups(trained)
    analysis = LadderAnalysis(rungs=rungs, models=models, metric=metric, calibration=calibration, compute_budget_flops=compute_budget_flops)
    analysis.noise = seed_noise(trained, metrics_for(metric.column))
    pooled = analysis.noise["pooled"]
    if pooled.get("val_loss") is None:
        analysis.notes.append("No seed noise: no model was trained with two or more seeds (model_selection.seeds)")

    fit = models[(models["architecture"] == "decoder") & ~models["held_out"].astype(bool)]
    N, L, D = (fit[column].to_numpy(dtype=float) for column in ("params", "val_loss", "tokens"))

    isoflop_points = fit[fit["budget"].notna()]
    if flops_per_token is not None and not isoflop_points.empty:
        analysis.isoflop = _or_note(
            analysis.notes,
            "IsoFLOP profiles",
            lambda: isoflop_analysis(
                isoflop_points,
                flops_per_token,
                loss_noise=pooled.get("val_loss"),
                target_flops=compute_budget_flops,
                n_boot=n_boot,
                level=level,
                seed=seed,
            ),
        )
        if analysis.isoflop:
            analysis.notes += analysis.isoflop["notes"]

    analysis.law = _or_note(analysis.notes, "Chinchilla-form fit", lambda: fit_scaling_law(N, L, D))
    if analysis.law is not None:
        analysis.intervals = _or_note(
            analysis.notes, "bootstrap intervals", lambda: bootstrap_intervals(N, L, D, n_boot=n_boot, level=level, seed=seed)
        )
        analysis.leave_largest_out = _or_note(analysis.notes, "leave-largest-out check", lambda: leave_largest_out(N, L, D))
        if compute_budget_flops:
            analysis.law_optimum = _or_note(
                analysis.notes,
                f"compute-optimal N and D for {compute_budget_flops:.3g} FLOPs",
                lambda: compute_optimal(analysis.law, float(compute_budget_flops), flops_per_token),
            )
        if analysis.isoflop:
            largest = analysis.isoflop["largest_budget"]["flops"]
            analysis.law_optimum_largest = _or_note(
                analysis.notes,
                "compute-optimal split at the largest budget",
                lambda: compute_optimal(analysis.law, largest, flops_per_token),
            )
    analysis.loss_to_metric = _or_note(
        analysis.notes,
        f"loss-to-{metric.label} sigmoid",
        lambda: fit_loss_to_metric(L, fit[metric.column].to_numpy(dtype=float), scale=metric.scale),
    )
    analysis.held_out = [_check_prediction(row, analysis, fit) for _, row in models[models["held_out"].astype(bool)].iterrows()]
    analysis.architectures = _compare_architectures(models, pooled.get(metric.column), metric)

    points = models.assign(kind="rung")
    if baseline:
        points = pd.concat([points, pd.DataFrame([{**baseline, "kind": "baseline"}])], ignore_index=True)
    analysis.points = points
    for quality, higher_is_better, cost in frontier_axes(metric):
        candidates = points.dropna(subset=[quality, cost])
        analysis.frontiers[f"{quality} vs {cost}"] = pareto_frontier(candidates, quality, cost, higher_is_better)

    analysis.recommendation = recommend(
        models, constraints or {}, analysis.law, analysis.loss_to_metric, metric_noise=pooled.get(metric.column), metric=metric
    )
    return analysis


def _check_prediction(row: pd.Series, analysis: LadderAnalysis, fit: pd.DataFrame) -> dict:
    """A held-out rung: what the fits predicted for it against what it measured.

    The task metric's keys carry its column: ``predicted_<column>``, ``measured_<column>``, ``<column>_error``.
    """
    column = analysis.metric.column
    check = {"name": row["name"], "params": float(row["params"]), "tokens": float(row["tokens"]), "train_flops": float(row["train_flops"])}
    check.update(
        measured_val_loss=float(row["val_loss"]),
        measured_bits_per_byte=float(row["val_bits_per_byte"]),
        **{f"measured_{column}": float(row[column])},
    )
    if analysis.law is None or row["architecture"] != "decoder":
        check["error"] = "no fitted law for this rung's architecture"
        return check
    loss = float(analysis.law.predict(row["params"], row["tokens"] if analysis.law.has_tokens_term else None))
    # bits/byte is loss x (a constant: log2(e) / bytes per validation token); take it from the fitted rungs
    to_bits = float(np.median(fit["val_bits_per_byte"] / fit["val_loss"]))
    check.update(predicted_val_loss=loss, predicted_bits_per_byte=loss * to_bits)
    check["bits_per_byte_error"] = abs(check["predicted_bits_per_byte"] - check["measured_bits_per_byte"])
    check["bits_per_byte_relative_error"] = check["bits_per_byte_error"] / check["measured_bits_per_byte"]
    if analysis.loss_to_metric is not None:
        check[f"predicted_{column}"] = float(analysis.loss_to_metric.predict(loss))
        check[f"{column}_error"] = abs(check[f"predicted_{column}"] - check[f"measured_{column}"])
    return check


def _compare_architectures(models: pd.DataFrame, metric_noise: float | None, metric: TaskMetric = MACRO_F1) -> list[dict]:
    """Per budget trained with more than one architecture: each architecture's best rung by the task metric,
    ranked (``best`` in that order), the gap between the first two, and how many seed-noise margins it spans.

    An architecture whose rungs did not measure the metric (an encoder cannot write text) is left out.
    """
    column = metric.column
    comparisons = []
    at_budgets = models[models["budget"].notna() & models[column].notna()]
    for budget, rows in at_budgets.groupby("budget", sort=False):
        if rows["architecture"].nunique() < 2:
            continue
        pick = "idxmax" if metric.higher_is_better else "idxmin"
        best = {arch: group.loc[getattr(group[column], pick)()] for arch, group in rows.groupby("architecture")}
        ranked = sorted(best.items(), key=lambda item: float(item[1][column]), reverse=metric.higher_is_better)
        (winner, top), (runner_up, second) = ranked[0], ranked[1]
        gap = abs(float(top[column] - second[column]))
        margin = noise_margin(metric_noise, int(top["seeds"]), int(second["seeds"]))
        comparisons.append(
            {
                "budget": budget,
                "flops": float(rows["budget_flops"].iloc[0]),
                "best": {arch: {"name": row["name"], "preset": row["preset"], column: float(row[column])} for arch, row in ranked},
                "by_size": rows.pivot_table(index="preset", columns="architecture", values=column).reset_index().to_dict(orient="records"),
                "winner": winner,
                "runner_up": runner_up,
                "gap": gap,
                "noise_margin": margin if metric_noise is not None else None,
                "beyond_noise": None if metric_noise is None else gap > margin,
                # the gap in units of the margin: above 1 seed noise rarely explains it
                "gap_in_margins": gap / margin if metric_noise is not None and margin > 0 else None,
            }
        )
    return comparisons


def _or_note(notes: list[str], what: str, compute):
    try:
        return compute()
    except ConfigError as error:
        notes.append(f"No {what}: {error}")
        return None


def _plain(value):
    """numpy scalars, tuples and NaN as JSON-friendly Python values."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
