"""A ladder of model sizes trained side by side, a fitted scaling law and a recommendation."""

from lmladder.pipelines.model_selection.pipeline import create_pipeline

__all__ = ["create_pipeline"]
