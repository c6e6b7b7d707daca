"""A classifier scored on labelled texts: the numbers evaluation reports and retraining compares."""

from __future__ import annotations

import numpy as np

from lmladder.evaluation.metrics import classification_metrics, confusion, expected_calibration_error
from lmladder.model.classifier import predict_probabilities
from lmladder.model.directory import ModelBundle


def score_classifier(bundle: ModelBundle, texts: list[str], truth: list[str], n_bins: int) -> dict:
    """Accuracy, macro/weighted F1, per-class rows, confusion matrix, ECE and its calibration bins.

    A true label the model was never trained on (a champion facing a newer label set) is a wrong
    prediction: it gets its own row in the tables, and counts as incorrect in the calibration error.
    """
    labels = list(bundle.model.classifier_config.labels)
    probabilities = predict_probabilities(bundle.model, bundle.tokenizer, texts).numpy()
    predictions = [labels[i] for i in probabilities.argmax(axis=1)]
    rows = labels + sorted(set(truth) - set(labels))
    scores = classification_metrics(truth, predictions, rows)
    # Unknown labels point at an extra all-zero column: never the arg-max, so never counted correct.
    index = {label: i for i, label in enumerate(rows)}
    padded = np.pad(probabilities, ((0, 0), (0, len(rows) - len(labels))))
    ece, bins = expected_calibration_error(padded, np.array([index[label] for label in truth]), n_bins)
    scores.update(ece=ece, calibration_bins=bins, confusion=confusion(truth, predictions, rows).tolist(), labels=rows)
    return scores
