"""Fine-tuning the pretrained backbone as a classifier, plus a baseline trained another way."""

from lmladder.pipelines.finetuning.pipeline import create_pipeline

__all__ = ["create_pipeline"]
