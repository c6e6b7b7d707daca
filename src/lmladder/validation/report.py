"""Collect suite results into one validation report, render it, and fail loudly on it."""

from __future__ import annotations

import json
from typing import Any

from lmladder.errors import DataValidationError

EXAMPLES_IN_MESSAGE = 3


def build_report(suite_results: list[dict]) -> dict:
    """One JSON-safe report over all suites, with the failed expectations pulled to the top."""
    expectations = [expectation for suite in suite_results for expectation in suite["expectations"]]
    failed = [
        {
            "suite": suite["suite"],
            "expectation": expectation["expectation"],
            "column": expectation["column"],
            "description": expectation["description"],
            "examples": expectation["examples"],
        }
        for suite in suite_results
        for expectation in suite["expectations"]
        if not expectation["success"]
    ]
    return {
        "success": all(suite["success"] for suite in suite_results),
        "suites": list(suite_results),
        "failed": failed,
        "statistics": {
            "evaluated": len(expectations),
            "successful": len(expectations) - len(failed),
            "failed": len(failed),
        },
    }


def render_markdown(report: dict) -> str:
    statistics = report["statistics"]
    lines = [
        "# Data validation report",
        "",
        f"**Overall: {_verdict(report['success'])}** — {statistics['successful']} of {statistics['evaluated']} expectations met.",
    ]
    for suite in report["suites"]:
        lines += ["", f"## Suite `{suite['suite']}`: {_verdict(suite['success'])}", ""]
        if suite.get("note"):
            lines += [f"_{suite['note']}_", ""]
        lines += [
            "| Expectation | Column | Result | Observed | Examples |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [_table_row(expectation) for expectation in suite["expectations"]]
    return "\n".join(lines) + "\n"


def raise_for_failures(report: dict) -> None:
    """Raise DataValidationError naming each failed expectation and a few of its offenders."""
    if report["success"]:
        return
    failed = report["failed"]
    lines = [f"Data validation failed: {len(failed)} expectation(s) not met."]
    lines += [_failure_line(failure) for failure in failed]
    lines.append(
        "See the validation report for every expectation and its observed values; fix the data or the parameters under data_validation."
    )
    raise DataValidationError("\n".join(lines), report=report)


def _verdict(success: bool) -> str:
    return "PASSED" if success else "FAILED"


def _table_row(expectation: dict) -> str:
    cells = [
        f"{expectation['description']} (`{expectation['expectation']}`)",
        expectation["column"] or "",
        "pass" if expectation["success"] else "**FAIL**",
        "" if expectation["observed"] is None else _plain(expectation["observed"]),
        ", ".join(_quote(example) for example in expectation["examples"]),
    ]
    return "| " + " | ".join(_table_cell(cell) for cell in cells) + " |"


def _table_cell(text: str) -> str:
    # A pipe or newline inside a cell would break the Markdown table.
    return text.replace("|", "\\|").replace("\n", " ")


def _failure_line(failure: dict) -> str:
    column = f" on column {failure['column']}" if failure["column"] else ""
    examples = failure["examples"][:EXAMPLES_IN_MESSAGE]
    shown = f"; examples: {', '.join(_quote(example) for example in examples)}" if examples else ""
    return f"- {failure['suite']}: {failure['expectation']}{column} ({failure['description']}){shown}"


def _quote(value: Any) -> str:
    # Quoted, so that an offender's leading or trailing spaces stay visible.
    return json.dumps(value, ensure_ascii=False)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
