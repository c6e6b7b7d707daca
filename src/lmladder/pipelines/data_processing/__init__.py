"""Raw text and labelled data → cleaned, deduplicated, split, decontaminated, tokenised."""

from lmladder.pipelines.data_processing.pipeline import create_pipeline

__all__ = ["create_pipeline"]
