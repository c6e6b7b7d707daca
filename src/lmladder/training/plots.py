"""Figures logged with training runs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402


def loss_curve_figure(train: list[tuple[int, float]], val: list[tuple[int, float]], title: str = "pretraining loss"):
    figure, axes = plt.subplots(figsize=(7, 4))
    if train:
        axes.plot(*zip(*train), label="train", linewidth=1)
    if val:
        axes.plot(*zip(*val), marker="o", label="validation")
    axes.set(xlabel="optimizer step", ylabel="loss (nats/token)", title=title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    return figure
