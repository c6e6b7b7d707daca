"""Great Expectations suites over the processed data; the gate every training node depends on."""

from lmladder.pipelines.data_validation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
