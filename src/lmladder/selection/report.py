"""The model-selection report: the ladder table, the fitted law and its checks, the frontiers, the pick."""

from __future__ import annotations

import pandas as pd

from lmladder.selection.analysis import LadderAnalysis

TABLE_COLUMNS = (
    ("name", "rung", "{}"),
    ("preset", "preset", "{}"),
    ("params", "N (non-emb.)", "{:,.0f}"),
    ("tokens", "D (tokens)", "{:,.0f}"),
    ("train_flops", "train FLOPs", "{:.3g}"),
    ("val_loss", "val loss", "{:.4f}"),
    ("val_bits_per_byte", "val bits/byte", "{:.4f}"),
    ("macro_f1", "test macro-F1", "{:.4f}"),
    ("accuracy", "test accuracy", "{:.4f}"),
    ("latency_ms", "latency p50 (ms)", "{:.2f}"),
)


def render_selection_report(analysis: LadderAnalysis, plots: dict[str, str]) -> str:
    """Markdown; ``plots`` maps a caption to the image path relative to the report."""
    lines = ["# Model selection", "", "## Ladder", "", _table(analysis.points), ""]
    lines += [
        "## Scaling law",
        "",
        f"Fitted: `{analysis.law.describe()}` (N: non-embedding parameters, D: training tokens, L: val nats/token).",
        "",
    ]
    if analysis.intervals:
        lines += ["Bootstrap intervals:", ""]
        lines += [f"- {name}: [{low:.4g}, {high:.4g}]" for name, (low, high) in analysis.intervals.items()]
        lines.append("")
    if analysis.leave_largest_out:
        check = analysis.leave_largest_out
        lines += [
            f"Leave-largest-out: fitted without N={check['N']:,.0f}, the law predicts {check['predicted']:.4f} "
            f"against an actual {check['actual']:.4f} ({100 * check['relative_error']:.2f}% error).",
            "",
        ]
    if analysis.loss_to_metric is not None:
        fit = analysis.loss_to_metric
        lines += [
            f"Loss to macro-F1: `F1 = {fit.lo:.3g} + ({fit.hi:.3g} - {fit.lo:.3g}) / (1 + exp({fit.k:.3g} (L - {fit.L0:.3g})))`.",
            "",
        ]
    lines += ["## Quality/cost frontiers", ""]
    for name, frontier in analysis.frontiers.items():
        lines.append(f"- {name}: {', '.join(str(item) for item in frontier['name'])}")
    lines += ["", "## Recommendation", ""]
    recommendation = analysis.recommendation
    lines.append(f"**{recommendation['recommended'] or 'No rung'}**: {recommendation['reason'].rstrip('.')}.")
    if recommendation.get("excluded"):
        lines.append("Rungs excluded by each constraint: " + ", ".join(f"{k} {v}" for k, v in recommendation["excluded"].items()) + ".")
    if analysis.compute_optimal:
        optimum = analysis.compute_optimal
        lines += [
            "",
            f"Compute-optimal for the budget: N = {optimum['N']:.3g} parameters, D = {optimum['D']:.3g} tokens "
            f"(predicted loss {optimum['loss']:.4f}).",
        ]
    if analysis.notes:
        lines += ["", "## Not computed", ""] + [f"- {note}" for note in analysis.notes]
    lines += ["", "## Plots", ""] + [f"![{caption}]({path})" for caption, path in plots.items()]
    return "\n".join(lines) + "\n"


def _table(points: pd.DataFrame) -> str:
    header = "| " + " | ".join(title for _, title, _ in TABLE_COLUMNS) + " |"
    rule = "|" + "---|" * len(TABLE_COLUMNS)
    rows = [header, rule]
    for _, row in points.iterrows():
        cells = []
        for column, _, form in TABLE_COLUMNS:
            value = row.get(column)
            cells.append("–" if value is None or (isinstance(value, float) and pd.isna(value)) else form.format(value))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
