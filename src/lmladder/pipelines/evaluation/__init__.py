"""Quality, calibration, cost and interpretability of the fine-tuned classifier; model card; registry."""

from lmladder.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
