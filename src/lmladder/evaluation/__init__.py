"""Evaluation: metrics, calibration, figures, a TF-IDF baseline, serving cost and the model card.

Plain numpy/scikit-learn/matplotlib code with no Kedro or MLflow in it, so it can be used from
pipelines, notebooks and tests alike.
"""

from lmladder.evaluation.baseline import fit_tfidf_logistic_regression, tfidf_logistic_regression, tfidf_parameter_count
from lmladder.evaluation.cost import directory_size_bytes, measure_latency, peak_memory_during
from lmladder.evaluation.metrics import (
    classification_metrics,
    confusion,
    expected_calibration_error,
    language_model_metrics,
    per_class_table_markdown,
)
from lmladder.evaluation.model_card import render_model_card
from lmladder.evaluation.plots import (
    attention_grid_figure,
    confusion_matrix_figure,
    reliability_diagram_figure,
)
from lmladder.evaluation.scores import score_classifier

__all__ = [
    "attention_grid_figure",
    "classification_metrics",
    "confusion",
    "confusion_matrix_figure",
    "directory_size_bytes",
    "expected_calibration_error",
    "language_model_metrics",
    "measure_latency",
    "peak_memory_during",
    "per_class_table_markdown",
    "reliability_diagram_figure",
    "render_model_card",
    "score_classifier",
    "fit_tfidf_logistic_regression",
    "tfidf_logistic_regression",
    "tfidf_parameter_count",
]
