"""Figures for choosing a model size: the scaling-law fit, the quality/latency frontier, loss curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lmladder.errors import ConfigError  # noqa: E402
from lmladder.selection.metric import MACRO_F1, TaskMetric  # noqa: E402
from lmladder.selection.scaling_law import ScalingLaw  # noqa: E402


def loss_vs_params_figure(rungs: pd.DataFrame, law: ScalingLaw | None, extrapolate_to: float | None = None):
    """Log-log validation loss against parameters, with the fitted law (dashed beyond the largest rung).

    A law with a tokens term is drawn once per token budget of the ladder, in that budget's colour.
    """
    if law is None:
        return not_computed_figure("validation loss vs parameters", "no Chinchilla-form fit (see the report's notes)")
    _require_columns(rungs, ["params", "val_loss"] + (["tokens"] if law.has_tokens_term else []))
    params = rungs["params"].to_numpy(dtype=float)
    largest = params.max()
    upper = max(extrapolate_to or 0.0, 4 * largest)
    budgets = sorted(rungs["tokens"].astype(float).unique()) if law.has_tokens_term else [None]

    figure, axes = plt.subplots(figsize=(7, 4.5))
    fitted = np.geomspace(params.min() / 2, largest, 100)
    beyond = np.geomspace(largest, upper, 100)
    for index, tokens in enumerate(budgets):
        colour = f"C{index}"
        at_budget = rungs if tokens is None else rungs[rungs["tokens"].astype(float) == tokens]
        budget = "" if tokens is None else f" at D={tokens:.2g} tokens"
        axes.scatter(at_budget["params"], at_budget["val_loss"], color=colour, zorder=3, label="rungs" + budget)
        axes.plot(fitted, law.predict(fitted, tokens), color=colour, label="fit" + budget)
        axes.plot(beyond, law.predict(beyond, tokens), color=colour, linestyle="--", label="extrapolation" if index == 0 else "_nolegend_")
    if "name" in rungs:
        for name, x, y in zip(rungs["name"], params, rungs["val_loss"], strict=True):
            axes.annotate(str(name), (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)

    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set(xlabel="parameters N", ylabel="validation loss (nats/token)", title=law.describe())
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def quality_vs_latency_figure(points: pd.DataFrame, frontier: pd.DataFrame, metric: TaskMetric = MACRO_F1):
    """The task metric against latency for every system, each labelled, with the Pareto frontier as a line."""
    quality = metric.column
    _require_columns(points, ["name", "latency_ms", quality])
    _require_columns(frontier, ["latency_ms", quality])
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(points["latency_ms"], points[quality], zorder=3, label="systems")
    for name, x, y in zip(points["name"], points["latency_ms"], points[quality], strict=True):
        axes.annotate(str(name), (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ordered = frontier.sort_values("latency_ms")
    axes.plot(ordered["latency_ms"], ordered[quality], color="C1", marker="o", label="Pareto frontier")
    axes.set(xlabel="latency p50 (ms)", ylabel=f"test {metric.label}", title="quality vs latency")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return figure


def loss_curves_figure(curves: dict[str, list[tuple[int, float]]], xlabel: str = "tokens seen"):
    """One validation-loss curve per rung, overlaid, so their shapes and end points compare at a glance."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, points in curves.items():
        if points:
            axes.plot(*zip(*points, strict=True), label=name)
    axes.set(xlabel=xlabel, ylabel="loss (nats/token)", title="loss curves by rung")
    axes.grid(alpha=0.3)
    if any(curves.values()):
        axes.legend()
    figure.tight_layout()
    return figure


def isoflop_figure(analysis):
    """Validation loss against N at each budget, the fitted parabolas and their minima, and held-out rungs."""
    isoflop = analysis.isoflop
    if not isoflop:
        return not_computed_figure("IsoFLOP profiles", "no IsoFLOP budgets were fitted (see the report's notes)")
    models = analysis.models
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for index, (budget, profile) in enumerate(isoflop["profiles"].items()):
        colour = f"C{index}"
        rows = models[(models["budget"] == budget) & (models["architecture"] == "decoder") & ~models["held_out"].astype(bool)]
        axes.scatter(rows["params"], rows["val_loss"], color=colour, zorder=3, label=f"{budget}: C = {profile['flops']:.2g}")
        sizes = np.geomspace(rows["params"].min() / 1.5, rows["params"].max() * 1.5, 100)
        c0, c1, c2 = profile["coefficients"]
        axes.plot(sizes, c0 + c1 * np.log(sizes) + c2 * np.log(sizes) ** 2, color=colour, alpha=0.7)
        if profile["interior"]:
            axes.scatter([profile["N_opt"]], [profile["loss_opt"]], color=colour, marker="*", s=200, zorder=4, edgecolor="black")
    held = models[models["held_out"].astype(bool)]
    if not held.empty:
        axes.scatter(held["params"], held["val_loss"], color="black", marker="x", s=80, zorder=4, label="held out")
    axes.set_xscale("log")
    axes.set(xlabel="non-embedding parameters N", ylabel="validation loss (nats/token)", title="IsoFLOP profiles (star: fitted minimum)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def optimal_scaling_figure(analysis):
    """N_opt and D_opt against compute: each budget's interior minimum, the power laws and the target's interval."""
    isoflop = analysis.isoflop or {}
    interior = [profile for profile in (isoflop.get("profiles") or {}).values() if profile["interior"]]
    if not interior:
        return not_computed_figure("compute-optimal N and D", "no budget has an interior minimum")
    figure, axes = plt.subplots(figsize=(7, 4.5))
    flops = np.array([profile["flops"] for profile in interior])
    for key, label, colour in (("N_opt", "N_opt (parameters)", "C0"), ("D_opt", "D_opt (tokens)", "C1")):
        axes.scatter(flops, [profile[key] for profile in interior], color=colour, zorder=3, label=label)
    scaling, target = isoflop.get("scaling"), isoflop.get("at_target")
    if scaling:
        span = np.geomspace(flops.min() / 2, max(flops.max() * 2, target["flops"] if target else 0), 100)
        axes.plot(span, np.exp(scaling["log_kN"]) * span ** scaling["a"], color="C0", label=f"N ∝ C^{scaling['a']:.2f}")
        axes.plot(span, np.exp(scaling["log_kD"]) * span ** scaling["b"], color="C1", label=f"D ∝ C^{scaling['b']:.2f}")
    intervals = isoflop.get("intervals") or {}
    if target:
        for key, interval, colour in (("N", "target.N", "C0"), ("D", "target.D", "C1")):
            if interval in intervals:
                low, high = intervals[interval]
                axes.errorbar(
                    [target["flops"]], [target[key]], yerr=[[target[key] - low], [high - target[key]]], color=colour, fmt="s", capsize=4
                )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set(xlabel="training FLOPs C", ylabel="count", title="compute-optimal size and data (squares: your budget, with interval)")
    axes.grid(alpha=0.3, which="both")
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def held_out_figure(analysis):
    """Predicted against measured bits/byte and task metric of each held-out rung."""
    checks = [check for check in analysis.held_out if "predicted_bits_per_byte" in check]
    if not checks:
        return not_computed_figure("held-out rung", "no held-out rung could be predicted")
    metric = _metric_of(analysis)
    figure, (bits, quality) = plt.subplots(1, 2, figsize=(8, 4))
    names = [check["name"] for check in checks]
    positions = np.arange(len(checks))
    for axes, key, label in ((bits, "bits_per_byte", "validation bits/byte"), (quality, metric.column, f"test {metric.label}")):
        measured = [check[f"measured_{key}"] for check in checks]
        predicted = [check.get(f"predicted_{key}", np.nan) for check in checks]
        axes.bar(positions - 0.2, predicted, width=0.4, label="predicted")
        axes.bar(positions + 0.2, measured, width=0.4, label="measured")
        axes.set_xticks(positions, names)
        axes.set(ylabel=label)
        axes.grid(alpha=0.3, axis="y")
    bits.legend()
    figure.suptitle("held-out rung: predicted by fits that never saw it, and measured")
    figure.tight_layout()
    return figure


def architecture_figure(analysis):
    """The task metric by size for each architecture at the comparison budget, with the seed noise as error bars."""
    if not analysis.architectures:
        return not_computed_figure("architecture comparison", "no budget was trained with more than one architecture")
    metric = _metric_of(analysis)
    comparison = analysis.architectures[0]
    rows = analysis.models[analysis.models["budget"] == comparison["budget"]].dropna(subset=[metric.column])
    sigma = analysis.noise.get("pooled", {}).get(metric.column)
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for index, (architecture, group) in enumerate(rows.groupby("architecture")):
        group = group.sort_values("params")
        errors = None if sigma is None else sigma / np.sqrt(group["seeds"].to_numpy(dtype=float))
        axes.errorbar(group["params"], group[metric.column], yerr=errors, marker="o", capsize=4, color=f"C{index}", label=architecture)
    axes.set_xscale("log")
    axes.set(
        xlabel="non-embedding parameters N",
        ylabel=f"test {metric.label}",
        title=f"architectures at {comparison['budget']} (C = {comparison['flops']:.2g} FLOPs)",
    )
    axes.grid(alpha=0.3, which="both")
    axes.legend()
    figure.tight_layout()
    return figure


def not_computed_figure(title: str, why: str):
    """A figure that says what could not be drawn and why, so every report link still opens."""
    figure, axes = plt.subplots(figsize=(7, 2))
    axes.axis("off")
    axes.text(0.5, 0.5, f"{title}: not computed\n{why}", ha="center", va="center")
    return figure


def _metric_of(analysis) -> TaskMetric:
    # A stand-in for a LadderAnalysis (e.g. a namespace in tests) may lack the metric: classification's
    return getattr(analysis, "metric", MACRO_F1)


def _require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ConfigError(f"The table to plot lacks column(s) {missing}; it has {list(frame.columns)}.")
