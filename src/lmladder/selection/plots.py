"""Figures for choosing a model size: the scaling-law fit, the quality/latency frontier, loss curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lmladder.errors import ConfigError  # noqa: E402
from lmladder.selection.scaling_law import ScalingLaw  # noqa: E402


def loss_vs_params_figure(rungs: pd.DataFrame, law: ScalingLaw, extrapolate_to: float | None = None):
    """Log-log validation loss against parameters, with the fitted law (dashed beyond the largest rung).

    A law with a tokens term is drawn once per token budget of the ladder, in that budget's colour.
    """
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


def quality_vs_latency_figure(points: pd.DataFrame, frontier: pd.DataFrame):
    """Macro-F1 against latency for every system, each labelled, with the Pareto frontier as a line."""
    _require_columns(points, ["name", "latency_ms", "macro_f1"])
    _require_columns(frontier, ["latency_ms", "macro_f1"])
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.scatter(points["latency_ms"], points["macro_f1"], zorder=3, label="systems")
    for name, x, y in zip(points["name"], points["latency_ms"], points["macro_f1"], strict=True):
        axes.annotate(str(name), (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ordered = frontier.sort_values("latency_ms")
    axes.plot(ordered["latency_ms"], ordered["macro_f1"], color="C1", marker="o", label="Pareto frontier")
    axes.set(xlabel="latency p50 (ms)", ylabel="test macro-F1", title="quality vs latency")
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


def _require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ConfigError(f"The table to plot lacks column(s) {missing}; it has {list(frame.columns)}.")
