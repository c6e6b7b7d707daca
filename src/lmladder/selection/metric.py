"""The task metric model selection ranks rungs by: macro-F1 for classification, chrF for generation.

Everything task-specific the analysis, the recommendation, the plots and the report need lives here, so
that none of them hard-codes a metric: its column in the ladder table, how to write it, its scale, and
the few words the report uses about the fine-tuned models.
"""

from __future__ import annotations

from dataclasses import dataclass

from lmladder.errors import ConfigError


@dataclass(frozen=True)
class TaskMetric:
    column: str  # the ladder table's column
    label: str  # how the report and the plots name it
    fmt: str  # a value in tables
    higher_is_better: bool = True
    scale: float = 1.0  # a perfect score: 1 for a fraction, 100 for a percentage-like score
    brief_fmt: str | None = None  # a value in running text; the table's format when None
    symbol: str | None = None  # the metric in a formula; the label when None
    # further quality columns the ladder table shows, when the table has them: (column, title, format)
    extra_columns: tuple[tuple[str, str, str], ...] = ()
    # words for the report: the sweep points have no <role>; "the decoder <verb> better"; then the <baseline>
    role: str = "fine-tuned model"
    verb: str = "scores"
    baseline: str = "baseline"

    def format(self, value: float) -> str:
        return self.fmt.format(value)

    def brief(self, value: float) -> str:
        return (self.brief_fmt or self.fmt).format(value)

    @property
    def in_formula(self) -> str:
        return self.symbol or self.label

    def to_dict(self) -> dict:
        return {"column": self.column, "label": self.label, "higher_is_better": self.higher_is_better, "scale": self.scale}


MACRO_F1 = TaskMetric(
    "macro_f1",
    "macro-F1",
    "{:.4f}",
    brief_fmt="{:.3f}",
    symbol="F1",
    extra_columns=(("accuracy", "test accuracy", "{:.4f}"),),
    role="classifier",
    verb="classifies",
    baseline="TF-IDF baseline",
)
CHRF = TaskMetric(
    "chrf",
    "chrF",
    "{:.2f}",
    scale=100.0,  # sacrebleu's scale: 0-100
    extra_columns=(("bleu", "test BLEU", "{:.2f}"), ("rouge_l", "test ROUGE-L", "{:.2f}"), ("exact_match", "test exact match", "{:.2f}")),
    role="generator",
    verb="writes",
    baseline="retrieval baseline",
)
TASK_METRICS = {"classification": MACRO_F1, "generation": CHRF}


def task_metric(task: str) -> TaskMetric:
    """The metric model selection ranks the rungs of a ``task`` by."""
    if task not in TASK_METRICS:
        raise ConfigError(f"No model-selection metric for task {task!r}; known tasks are {sorted(TASK_METRICS)}.")
    return TASK_METRICS[task]
