"""Evaluation figures: confusion matrix, reliability diagram, attention maps."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lmladder.errors import ConfigError  # noqa: E402

MAX_TOKENS_LABELLED = 32  # beyond this, tick labels overlap into an unreadable smear
ATTENTION_PANEL_INCHES = 2.2
MAX_ATTENTION_FIGURE_INCHES = 40  # keeps a 24-layer x 16-head grid renderable in memory


def confusion_matrix_figure(matrix: np.ndarray, labels: list[str]):
    """Counts per (true, predicted) cell, annotated, with the true label on the vertical axis."""
    matrix = np.asarray(matrix)
    if matrix.shape != (len(labels), len(labels)):
        raise ConfigError(f"A confusion matrix over {len(labels)} labels must be square of that size; got {matrix.shape}.")
    side = max(4.0, 0.6 * len(labels) + 2.0)
    figure, axes = plt.subplots(figsize=(side + 1.0, side))
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)

    # White text on the darker half of the colour scale, so every count stays legible.
    dark_from = matrix.max() / 2 if matrix.size else 0
    for row in range(matrix.shape[0]):
        for column in range(matrix.shape[1]):
            count = matrix[row, column]
            axes.text(
                column,
                row,
                f"{count:g}",
                ha="center",
                va="center",
                color="white" if count > dark_from else "black",
                fontsize=8,
            )

    positions = np.arange(len(labels))
    axes.set_xticks(positions, labels, rotation=45, ha="right", rotation_mode="anchor")
    axes.set_yticks(positions, labels)
    axes.set(xlabel="predicted label", ylabel="true label", title="confusion matrix")
    figure.tight_layout()
    return figure


def reliability_diagram_figure(bins: list[dict], ece: float):
    """Accuracy per confidence bin against the diagonal of perfect calibration, counts below.

    ``bins`` are the rows of :func:`lmladder.evaluation.metrics.expected_calibration_error`;
    empty bins draw no accuracy bar rather than a misleading zero.
    """
    if not bins:
        raise ConfigError("A reliability diagram needs at least one bin.")
    figure, (accuracy_axes, count_axes) = plt.subplots(2, 1, figsize=(6, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    filled = [row for row in bins if row["count"]]
    accuracy_axes.bar(
        [_centre(row) for row in filled],
        [row["accuracy"] for row in filled],
        width=[_width(row) for row in filled],
        edgecolor="black",
        color="tab:blue",
        label="accuracy",
    )
    accuracy_axes.plot(
        [_centre(row) for row in filled],
        [row["confidence"] for row in filled],
        "o",
        color="tab:red",
        label="mean confidence",
    )
    accuracy_axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    accuracy_axes.set(ylim=(0, 1), ylabel="accuracy", title=f"reliability diagram (ECE = {ece:.3f})")
    accuracy_axes.legend(loc="upper left")
    accuracy_axes.grid(alpha=0.3)

    count_axes.bar(
        [_centre(row) for row in bins],
        [row["count"] for row in bins],
        width=[_width(row) for row in bins],
        edgecolor="black",
        color="tab:grey",
    )
    count_axes.set(xlim=(0, 1), xlabel="confidence", ylabel="examples")
    figure.tight_layout()
    return figure


def attention_grid_figure(weights: list[np.ndarray], tokens: list[str]):
    """One heatmap per (layer, head): layers down the rows, heads across the columns.

    Each entry of ``weights`` is one layer's ``[heads, T, T]`` attention (query rows, key columns).
    Token labels are drawn on the outer panels only, and only when ``T`` is small enough to read.
    """
    layers = [np.asarray(layer, dtype=float) for layer in weights]
    heads, length = _check_attention_shapes(layers, tokens)
    panel = min(ATTENTION_PANEL_INCHES, MAX_ATTENTION_FIGURE_INCHES / max(len(layers), heads))
    figure, grid = plt.subplots(len(layers), heads, figsize=(panel * heads + 1, panel * len(layers) + 1), squeeze=False)
    show_tokens = length <= MAX_TOKENS_LABELLED
    for layer_index, layer in enumerate(layers):
        for head_index in range(heads):
            axes = grid[layer_index, head_index]
            axes.imshow(layer[head_index], cmap="viridis", vmin=0, vmax=1, aspect="auto")
            axes.set_title(f"layer {layer_index} head {head_index}", fontsize=8)
            _label_attention_axes(
                axes,
                tokens if show_tokens else None,
                left=head_index == 0,
                bottom=layer_index == len(layers) - 1,
            )
    figure.tight_layout()
    return figure


def _label_attention_axes(axes, tokens: list[str] | None, left: bool, bottom: bool) -> None:
    # Inner panels share the outer panels' labels; repeating them would only add clutter.
    positions = np.arange(len(tokens)) if tokens is not None else []
    if bottom and tokens is not None:
        axes.set_xticks(positions, tokens, rotation=90, fontsize=6)
    else:
        axes.set_xticks([])
    if left and tokens is not None:
        axes.set_yticks(positions, tokens, fontsize=6)
    else:
        axes.set_yticks([])


def _check_attention_shapes(layers: list[np.ndarray], tokens: list[str]) -> tuple[int, int]:
    if not layers:
        raise ConfigError("attention_grid_figure needs the weights of at least one layer.")
    shape = layers[0].shape
    if len(shape) != 3 or shape[1] != shape[2] or shape[0] == 0:
        raise ConfigError(f"Each layer's attention must be [heads, T, T]; layer 0 has shape {shape}.")
    for index, layer in enumerate(layers):
        if layer.shape != shape:
            raise ConfigError(f"Every layer must have the same [heads, T, T] shape; layer {index} has {layer.shape}, layer 0 {shape}.")
    if len(tokens) != shape[1]:
        raise ConfigError(f"Got {len(tokens)} tokens for attention over {shape[1]} positions; they must match.")
    return shape[0], shape[1]


def _centre(row: dict) -> float:
    return (row["lower"] + row["upper"]) / 2


def _width(row: dict) -> float:
    return row["upper"] - row["lower"]
