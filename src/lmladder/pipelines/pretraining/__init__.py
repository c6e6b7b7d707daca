"""Causal (or masked) LM pretraining of one size preset on the validated token files."""

from lmladder.pipelines.pretraining.pipeline import create_pipeline

__all__ = ["create_pipeline"]
