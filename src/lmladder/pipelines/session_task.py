"""The task (``classification`` or ``generation``) the session's pipelines are built for.

Fine-tuning, evaluation and model selection have other nodes and outputs for each task (a classifier's
confusion matrix, a generator's BLEU and samples), and Kedro builds pipelines without parameters:
``LadderRunHooks.after_context_created`` reads the run's own ``task`` parameter (``--env`` and ``--params``
apply) and calls ``use_task`` before anything builds a pipeline, as it does for the ladder's rungs. Without a
session (a pipeline built in a test or a notebook) the task is ``classification`` unless one is passed.
"""

from __future__ import annotations

from lmladder.errors import ConfigError

TASKS = ("classification", "generation")
_task = "classification"


def use_task(task: str) -> None:
    global _task
    if task not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)}, got {task!r}")
    _task = task


def session_task(task: str | None = None) -> str:
    """``task`` when given, else the current session's task."""
    if task is not None and task not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)}, got {task!r}")
    return task or _task
