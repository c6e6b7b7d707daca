"""The model-selection report: the recommendation and its uncertainty, the ladder, the noise, both fits,
the held-out check, the architecture comparison and the frontiers. Every word about the task metric
comes from ``analysis.metric``."""

from __future__ import annotations

import pandas as pd

from lmladder.selection.analysis import LadderAnalysis
from lmladder.selection.metric import TaskMetric

# (column, title, format) of the ladder table: these, then the task metric's columns (``table_columns``), then the cost
LADDER_COLUMNS = (
    ("name", "rung", "{}"),
    ("preset", "size", "{}"),
    ("architecture", "arch.", "{}"),
    ("budget", "budget", "{}"),
    ("seed", "seed", "{:.0f}"),
    ("params", "N (non-emb.)", "{:,.0f}"),
    ("tokens", "D (tokens)", "{:,.0f}"),
    ("tokens_per_param", "D/N", "{:.2f}"),
    ("train_flops", "train FLOPs", "{:.3g}"),
    ("lr", "lr", "{:.2g}"),
    ("val_loss", "val loss", "{:.4f}"),
    ("val_bits_per_byte", "val bits/byte", "{:.4f}"),
)
COST_COLUMNS = (("latency_ms", "latency p50 (ms)", "{:.2f}"),)


def table_columns(metric: TaskMetric, present) -> tuple[tuple[str, str, str], ...]:
    """The ladder table's columns: the common ones, the task metric and those of its companions in ``present``, the cost."""
    task = ((metric.column, f"test {metric.label}", metric.fmt),) + tuple(column for column in metric.extra_columns if column[0] in present)
    return LADDER_COLUMNS + task + COST_COLUMNS


def render_selection_report(analysis: LadderAnalysis, plots: dict[str, str]) -> str:
    """Markdown; ``plots`` maps a caption to the image path relative to the report."""
    metric = analysis.metric
    lines = ["# Model selection", ""]
    lines += _recommendation(analysis)
    rungs = analysis.rungs.assign(tokens_per_param=analysis.rungs["tokens"] / analysis.rungs["params"])
    baseline = analysis.points[analysis.points["kind"] == "baseline"] if analysis.points is not None else pd.DataFrame()
    lines += ["## Ladder", "", f"Every rung trained (learning-rate sweep points have no {metric.role}), then the {metric.baseline}.", ""]
    ladder = pd.concat([rungs, baseline], ignore_index=True)
    lines += [_table(ladder, table_columns(metric, ladder.columns)), ""]
    lines += _learning_rate(analysis)
    lines += _noise(analysis)
    lines += _isoflop(analysis)
    lines += _chinchilla(analysis)
    lines += _side_by_side(analysis)
    lines += _held_out(analysis)
    lines += _architectures(analysis)
    lines += ["## Quality/cost frontiers", ""]
    for name, frontier in analysis.frontiers.items():
        lines.append(f"- {name}: {', '.join(str(item) for item in frontier['name'])}")
    lines.append("")
    if analysis.notes:
        lines += ["## Not computed", ""] + [f"- {note}" for note in analysis.notes] + [""]
    lines += ["## Plots", ""] + [f"![{caption}]({path})" for caption, path in plots.items()]
    return "\n".join(lines) + "\n"


def _recommendation(analysis: LadderAnalysis) -> list[str]:
    recommendation = analysis.recommendation
    lines = ["## Recommendation", "", f"**{recommendation['recommended'] or 'No rung'}**: {recommendation['reason'].rstrip('.')}."]
    if recommendation.get("excluded"):
        lines.append("Rungs excluded by each constraint: " + ", ".join(f"{k} {v}" for k, v in recommendation["excluded"].items()) + ".")
    metric = analysis.metric
    sigma = analysis.noise.get("pooled", {}).get(metric.column)
    if sigma is not None:
        lines.append(
            f"Seed noise of {metric.label}: {metric.brief(sigma)} (one run's standard deviation); "
            f"rungs within {metric.brief(2 * sigma * 2**0.5)} of each other are not told apart."
        )
    optimum = (analysis.isoflop or {}).get("at_target")
    if optimum:
        interval = (analysis.isoflop.get("intervals") or {}).get("target.N")
        within = f" (interval {interval[0]:.3g} – {interval[1]:.3g})" if interval else ""
        lines.append(
            f"For your compute budget ({optimum['flops']:.3g} FLOPs) the IsoFLOP fits give N = {optimum['N']:.3g}{within} and "
            f"D = {optimum['D']:.3g} tokens ({optimum['tokens_per_param']:.3g} tokens per parameter); see *Both fits* for how far that extrapolates."
        )
    return lines + [""]


def _learning_rate(analysis: LadderAnalysis) -> list[str]:
    calibration = analysis.calibration
    if not calibration:
        return []
    rule = calibration["rule"]
    lines = [
        "## Learning rate",
        "",
        f"Rule: lr(N) = m × {rule['base_lr']:g} × (N / {rule['base_N']:,.0f})^{rule['exponent']:g}, anchored at the project's model "
        f"({rule['base_preset']}) and its learning rate, with the OLMo ladder's exponent; warmup is {100 * rule['warmup_fraction']:g}% of each rung's steps. "
        f"The batch is the project's for every rung.",
        "",
        f"Chosen m = {calibration['multiplier']:g}: {calibration['reason']}.",
    ]
    if calibration["rows"]:
        lines += ["", "| sweep rung | m | lr | val loss | val bits/byte |", "|---|---|---|---|---|"]
        lines += [
            f"| {row['name']} | {row['lr_multiplier']:g} | {row['lr']:.3g} | {row['val_loss']:.4f} | {row['val_bits_per_byte']:.4f} |"
            for row in calibration["rows"]
        ]
    return lines + [""]


def _noise(analysis: LadderAnalysis) -> list[str]:
    noise, metric = analysis.noise, analysis.metric
    lines = ["## Run-to-run noise", ""]
    if not noise.get("groups"):
        return lines + ["No model was trained with more than one seed, so differences between rungs cannot be told from luck.", ""]
    lines += [
        f"| rungs (same model, other seeds) | val bits/byte: mean ± std (range) | {metric.label}: mean ± std (range) |",
        "|---|---|---|",
    ]
    for group in noise["groups"]:
        cells = []
        for column, form in (("val_bits_per_byte", "{:.4f}".format), (metric.column, metric.format)):
            stats = group.get(column)
            cells.append("–" if not stats else f"{form(stats['mean'])} ± {form(stats['std'])} ({form(stats['range'])})")
        lines.append(f"| {', '.join(group['names'])} | {cells[0]} | {cells[1]} |")
    pooled = noise["pooled"]
    lines += [
        "",
        "Pooled seed standard deviation: "
        + ", ".join(f"{metric} {value:.4f}" for metric, value in pooled.items() if value is not None)
        + f". Two single-seed rungs are within noise when they differ by less than {noise['z']:g} × √2 × that.",
        "",
    ]
    return lines


def _isoflop(analysis: LadderAnalysis) -> list[str]:
    isoflop = analysis.isoflop
    if not isoflop:
        return []
    lines = [
        "## IsoFLOP profiles (Approach 2)",
        "",
        "Per budget, a parabola in log N through the rungs' validation losses (seeds averaged).",
        "",
        "| budget | C (FLOPs) | minimum | N_opt | D_opt | D_opt/N_opt | loss at N_opt |",
        "|---|---|---|---|---|---|---|",
    ]
    for budget, profile in isoflop["profiles"].items():
        if profile["interior"]:
            lines.append(
                f"| {budget} | {profile['flops']:.3g} | interior | {profile['N_opt']:,.0f} | {profile['D_opt']:,.0f} | "
                f"{profile['tokens_per_param']:.1f} | {profile['loss_opt']:.4f} |"
            )
        else:
            lines.append(f"| {budget} | {profile['flops']:.3g} | **flagged**: {profile['reason']} | – | – | – | – |")
    intervals = isoflop.get("intervals") or {}
    scaling = isoflop.get("scaling")
    lines.append("")
    if scaling:
        lines.append(
            f"N_opt ∝ C^{scaling['a']:.3f}{_interval(intervals, 'a')}, D_opt ∝ C^{scaling['b']:.3f}{_interval(intervals, 'b')} "
            f"(through {scaling['budgets']} budgets with an interior minimum)."
        )
    largest = isoflop["largest_budget"]
    if largest["interior"]:
        lines.append(
            f"At the largest budget ({largest['flops']:.3g} FLOPs): {largest['tokens_per_param']:.1f} tokens per parameter"
            f"{_interval(intervals, 'largest.tokens_per_param')}, N_opt = {largest['N_opt']:,.0f}{_interval(intervals, 'largest.N_opt')}."
        )
    if isoflop.get("bootstrap"):
        boot = isoflop["bootstrap"]
        lines.append(
            f"Intervals: {100 * boot['level']:.0f}% parametric bootstrap, {boot['replicates']} replicates adding the measured seed noise "
            f"(loss std {boot['loss_noise']:.4f}) to every rung; {boot['with_power_laws']} gave two interior minima, "
            f"{boot['largest_interior']} an interior minimum at the largest budget."
        )
    return lines + [""]


def _chinchilla(analysis: LadderAnalysis) -> list[str]:
    if analysis.law is None:
        return []
    lines = [
        "## Chinchilla form (Approach 3)",
        "",
        f"Fitted: `{analysis.law.describe()}` (N: non-embedding parameters, D: training tokens, L: val nats/token), on the same rungs.",
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
        fit, metric = analysis.loss_to_metric, analysis.metric
        lines += [
            f"Loss to {metric.label}: `{metric.in_formula} = {fit.lo:.3g} + ({fit.hi:.3g} - {fit.lo:.3g}) / (1 + exp({fit.k:.3g} (L - {fit.L0:.3g})))`.",
            "",
        ]
    return lines


def _side_by_side(analysis: LadderAnalysis) -> list[str]:
    isoflop = analysis.isoflop or {}
    rows = []
    largest = isoflop.get("largest_budget")
    if largest and largest["interior"] and analysis.law_optimum_largest:
        rows.append(("largest ladder budget", largest["flops"], largest, analysis.law_optimum_largest))
    if isoflop.get("at_target") and analysis.law_optimum:
        target = isoflop["at_target"]
        rows.append(
            ("your budget (compute_budget_flops)", target["flops"], {"N_opt": target["N"], "D_opt": target["D"]}, analysis.law_optimum)
        )
    if not rows:
        return []
    lines = [
        "## Both fits, side by side",
        "",
        "| at | C | IsoFLOP N | IsoFLOP D | IsoFLOP D/N | Chinchilla N | Chinchilla D | Chinchilla D/N | N ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, flops, iso, law in rows:
        lines.append(
            f"| {label} | {flops:.3g} | {iso['N_opt']:.3g} | {iso['D_opt']:.3g} | {iso['D_opt'] / iso['N_opt']:.3g} | "
            f"{law['N']:.3g} | {law['D']:.3g} | {law['tokens_per_param']:.3g} | {max(iso['N_opt'], law['N']) / min(iso['N_opt'], law['N']):.2f}× |"
        )
    if isoflop.get("at_target"):
        top = max(profile["flops"] for profile in isoflop["profiles"].values())
        lines += [
            "",
            f"Your budget is {isoflop['at_target']['flops'] / top:.3g}× the ladder's largest: both numbers there are extrapolations.",
        ]
    return lines + [""]


def _held_out(analysis: LadderAnalysis) -> list[str]:
    if not analysis.held_out:
        return []
    metric = analysis.metric
    column = metric.column
    lines = [
        "## Held-out check",
        "",
        f"Rungs kept out of every fit, predicted from the others: bits/byte from the Chinchilla form, "
        f"{metric.label} through the loss-to-{metric.in_formula} sigmoid.",
        "",
        f"| rung | N | D | predicted bits/byte | measured | error | predicted {metric.label} | measured | error (points) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for check in analysis.held_out:
        if "predicted_bits_per_byte" not in check:
            lines.append(f"| {check['name']} | {check['params']:,.0f} | {check['tokens']:,.0f} | {check.get('error', '')} | | | | | |")
            continue
        measured = metric.format(check[f"measured_{column}"])
        quality = (
            # points: hundredths of a perfect score, whatever the metric's scale
            f"{metric.format(check[f'predicted_{column}'])} | {measured} | {100 / metric.scale * check[f'{column}_error']:.1f}"
            if f"predicted_{column}" in check
            else f"– | {measured} | –"
        )
        lines.append(
            f"| {check['name']} | {check['params']:,.0f} | {check['tokens']:,.0f} | {check['predicted_bits_per_byte']:.4f} | "
            f"{check['measured_bits_per_byte']:.4f} | {100 * check['bits_per_byte_relative_error']:.1f}% | {quality} |"
        )
    return lines + [""]


def _architectures(analysis: LadderAnalysis) -> list[str]:
    if not analysis.architectures:
        return []
    metric = analysis.metric
    lines = ["## Which architecture", ""]
    for comparison in analysis.architectures:
        # best holds the architectures ranked, best first
        best = ", ".join(f"{arch} {metric.format(row[metric.column])} ({row['name']})" for arch, row in comparison["best"].items())
        margin = comparison["noise_margin"]
        times = "" if comparison.get("gap_in_margins") is None else f" ({comparison['gap_in_margins']:.1f}× that margin)"
        if comparison["beyond_noise"] is None:
            verdict = "no seed noise was measured, so whether the gap is real is unknown"
        elif comparison["beyond_noise"]:
            verdict = f"larger than the {metric.format(margin)} seed noise explains{times}: a real difference on this data"
        else:
            verdict = f"within the {metric.format(margin)} seed noise explains{times}: no measurable difference on this data"
        lines.append(
            f"At {comparison['budget']} ({comparison['flops']:.3g} FLOPs, matched training compute), best test {metric.label}: {best}. "
            f"The {comparison['winner']} {metric.verb} better by {metric.format(comparison['gap'])}, {verdict}."
        )
    return lines + [""]


def _interval(intervals: dict, key: str) -> str:
    if key not in intervals:
        return ""
    low, high = intervals[key]
    return f" [{low:.3g}, {high:.3g}]"


def _table(points: pd.DataFrame, columns: tuple[tuple[str, str, str], ...]) -> str:
    header = "| " + " | ".join(title for _, title, _ in columns) + " |"
    rule = "|" + "---|" * len(columns)
    rows = [header, rule]
    for _, row in points.iterrows():
        cells = []
        for column, _, form in columns:
            value = row.get(column)
            cells.append("–" if value is None or (isinstance(value, float) and pd.isna(value)) else form.format(value))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
