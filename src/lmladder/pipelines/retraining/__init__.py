"""Scheduled retraining: skip when nothing changed, else train a challenger and promote it only if better."""

from lmladder.pipelines.retraining.pipeline import create_pipeline

__all__ = ["create_pipeline"]
