"""Data validation with Great Expectations: suites, a JSON report, and a Markdown rendering."""

from lmladder.validation.report import build_report, raise_for_failures, render_markdown
from lmladder.validation.suites import (
    validate_corpus,
    validate_decontamination,
    validate_labelled,
    validate_outputs,
    validate_removals,
    validate_tokens,
)

__all__ = [
    "build_report",
    "raise_for_failures",
    "render_markdown",
    "validate_corpus",
    "validate_decontamination",
    "validate_labelled",
    "validate_outputs",
    "validate_removals",
    "validate_tokens",
]
