"""Retraining that pretrains a new backbone on the current corpus first (``retraining.train: pretrain``)."""

from lmladder.pipelines.retraining_pretrain.pipeline import create_pipeline

__all__ = ["create_pipeline"]
