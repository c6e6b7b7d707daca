"""The rung names ``model_selection`` builds: the session's ladder, handed over when the session starts.

Kedro builds pipelines without parameters, but a ladder's rungs are the pipeline's structure (one
namespace per rung). ``LadderRunHooks.after_context_created`` resolves the ladder of the run's own
parameters (``--env`` and ``--params`` apply) and calls ``use_rungs`` before anything builds the
pipeline. A module of its own, so that the hook does not import the pipelines' libraries.
"""

from __future__ import annotations

_rungs: list[str] = []


def use_rungs(rungs: list[str]) -> None:
    global _rungs
    _rungs = list(rungs)


def session_rungs() -> list[str]:
    """The rungs of the current session's ladder; empty without a session."""
    return list(_rungs)
