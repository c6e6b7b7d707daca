"""Classification, calibration and language-model metrics, as plain JSON-safe numbers."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from lmladder.errors import ConfigError


def classification_metrics(y_true: list[str], y_pred: list[str], labels: list[str]) -> dict:
    """Accuracy, macro and weighted F1, and one precision/recall/F1/support row per label.

    Rows follow ``labels`` so reports line up across runs; a label never predicted scores 0
    precision rather than a warning and NaN.
    """
    _check_predictions(y_true, y_pred, labels)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    per_class = [
        {
            "label": label,
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
        }
        for index, label in enumerate(labels)
    ]
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)),
        "per_class": per_class,
    }


def confusion(y_true: list[str], y_pred: list[str], labels: list[str]) -> np.ndarray:
    """Counts with true labels as rows and predicted labels as columns, both in ``labels`` order."""
    _check_predictions(y_true, y_pred, labels)
    return confusion_matrix(y_true, y_pred, labels=labels)


def expected_calibration_error(probabilities: np.ndarray, y_true_index: np.ndarray, n_bins: int = 15) -> tuple[float, list[dict]]:
    """Top-label ECE over equal-width bins, and the per-bin rows a reliability diagram needs.

    Bin ``i`` covers ``(i/n_bins, (i+1)/n_bins]``; a confidence of exactly 0 joins bin 0.
    ECE is the mean gap between accuracy and confidence, weighted by the share of examples per bin.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    y_true_index = np.asarray(y_true_index)
    _check_calibration_inputs(probabilities, y_true_index, n_bins)

    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == y_true_index).astype(float)
    bin_index = _bin_of_each_confidence(confidence, n_bins)

    rows, ece = [], 0.0
    for index in range(n_bins):
        in_bin = bin_index == index
        count = int(in_bin.sum())
        accuracy = float(correct[in_bin].mean()) if count else None
        mean_confidence = float(confidence[in_bin].mean()) if count else None
        if count:
            ece += abs(accuracy - mean_confidence) * count / len(confidence)
        rows.append(
            {
                "lower": index / n_bins,
                "upper": (index + 1) / n_bins,
                "count": count,
                "accuracy": accuracy,
                "confidence": mean_confidence,
            }
        )
    return float(ece), rows


def per_class_table_markdown(per_class: list[dict]) -> str:
    """The ``per_class`` rows of :func:`classification_metrics` as a Markdown table."""
    lines = [
        "| label | precision | recall | F1 | support |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in per_class:
        lines.append(
            f"| {_markdown_cell(row['label'])} | {row['precision']:.3f} | {row['recall']:.3f} | {row['f1']:.3f} | {int(row['support'])} |"
        )
    return "\n".join(lines)


def language_model_metrics(mean_loss_nats: float, bytes_per_token: float) -> dict:
    """Perplexity and bits per token/byte from a mean cross-entropy in nats per token.

    Bits per byte divides out the tokenizer, so models with different vocabularies compare fairly.
    """
    if not math.isfinite(mean_loss_nats) or mean_loss_nats < 0:
        raise ConfigError(f"mean_loss_nats must be a finite, non-negative cross-entropy; got {mean_loss_nats}.")
    if not math.isfinite(bytes_per_token) or bytes_per_token <= 0:
        raise ConfigError(f"bytes_per_token must be a positive number; got {bytes_per_token}.")
    bits_per_token = mean_loss_nats / math.log(2)
    return {
        "perplexity": math.exp(mean_loss_nats),
        "bits_per_token": bits_per_token,
        "bits_per_byte": bits_per_token / bytes_per_token,
    }


def _bin_of_each_confidence(confidence: np.ndarray, n_bins: int) -> np.ndarray:
    # Edges as i/n (one correctly rounded division each) so a confidence written as 1/3 or 0.7
    # equals its edge exactly and lands in the lower bin, as the half-open (lower, upper] rule says.
    edges = np.arange(n_bins + 1) / n_bins
    return np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)


def _check_predictions(y_true: list, y_pred: list, labels: list) -> None:
    if len(y_true) != len(y_pred):
        raise ConfigError(f"y_true has {len(y_true)} entries but y_pred has {len(y_pred)}; they must pair up.")
    if not y_true:
        raise ConfigError("No predictions to score: y_true and y_pred are empty.")
    if not labels:
        raise ConfigError("labels is empty; pass the full label set in the order reports should use.")
    if len(set(labels)) != len(labels):
        raise ConfigError(f"labels holds duplicates: {list(labels)}.")


def _check_calibration_inputs(probabilities: np.ndarray, y_true_index: np.ndarray, n_bins: int) -> None:
    if probabilities.ndim != 2 or probabilities.shape[0] == 0 or probabilities.shape[1] == 0:
        raise ConfigError(f"probabilities must be a non-empty [examples, classes] array; got shape {probabilities.shape}.")
    if y_true_index.shape != (probabilities.shape[0],):
        raise ConfigError(
            f"y_true_index must hold one class index per row of probabilities ({probabilities.shape[0]}); got shape {y_true_index.shape}."
        )
    if not np.issubdtype(y_true_index.dtype, np.integer):
        raise ConfigError(f"y_true_index must hold integer class indices; got dtype {y_true_index.dtype}.")
    if y_true_index.min() < 0 or y_true_index.max() >= probabilities.shape[1]:
        raise ConfigError(f"y_true_index holds indices outside 0..{probabilities.shape[1] - 1}.")
    if np.isnan(probabilities).any() or probabilities.min() < 0 or probabilities.max() > 1:
        raise ConfigError("probabilities must lie in [0, 1]; apply softmax to logits first.")
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ConfigError(f"n_bins must be a positive integer; got {n_bins!r}.")


def _markdown_cell(value: object) -> str:
    # A pipe inside a label would split the cell and shift every column after it.
    return str(value).replace("|", "\\|")
