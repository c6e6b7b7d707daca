"""Figures logged with training runs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402


def curves_figure(series: dict[str, list[tuple[float, float]]], xlabel: str, ylabel: str, title: str, markers: bool = False):
    """One line per named series of (x, y) points."""
    figure, axes = plt.subplots(figsize=(7, 4))
    for name, points in series.items():
        if points:
            axes.plot(*zip(*points, strict=True), label=name, marker="o" if markers else None, linewidth=1 if not markers else 1.5)
    axes.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axes.grid(alpha=0.3)
    if any(series.values()):
        axes.legend()
    figure.tight_layout()
    return figure


def loss_curve_figure(train: list[tuple[int, float]], val: list[tuple[int, float]], title: str = "pretraining loss"):
    figure = curves_figure({"train": train}, "optimizer step", "loss (nats/token)", title)
    if val:
        figure.axes[0].plot(*zip(*val, strict=True), marker="o", label="validation")
        figure.axes[0].legend()
    return figure
