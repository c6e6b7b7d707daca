"""The model-selection report: the recommendation and its uncertainty, the ladder, the noise, both fits,
the held-out check, the architecture comparison and the frontiers."""

from __future__ import annotations

import pandas as pd

from lmladder.selection.analysis import LadderAnalysis

TABLE_COLUMNS = (
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
    ("macro_f1", "test macro-F1", "{:.4f}"),
    ("accuracy", "test accuracy", "{:.4f}"),
    ("latency_ms", "latency p50 (ms)", "{:.2f}"),
)


def render_selection_report(analysis: LadderAnalysis, plots: dict[str, str]) -> str:
    """Markdown; ``plots`` maps a caption to the image path relative to the report."""
    lines = ["# Model selection", ""]
    lines += _recommendation(analysis)
    rungs = analysis.rungs.assign(tokens_per_param=analysis.rungs["tokens"] / analysis.rungs["params"])
    baseline = analysis.points[analysis.points["kind"] == "baseline"] if analysis.points is not None else pd.DataFrame()
    lines += ["## Ladder", "", "Every rung trained (learning-rate sweep points have no classifier), then the TF-IDF baseline.", ""]
    lines += [_table(pd.concat([rungs, baseline], ignore_index=True)), ""]
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
    sigma = analysis.noise.get("pooled", {}).get("macro_f1")
    if sigma is not None:
        lines.append(
            f"Seed noise of macro-F1: {sigma:.3f} (one run's standard deviation); rungs within {2 * sigma * 2**0.5:.3f} of each other are not told apart."
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
    noise = analysis.noise
    lines = ["## Run-to-run noise", ""]
    if not noise.get("groups"):
        return lines + ["No model was trained with more than one seed, so differences between rungs cannot be told from luck.", ""]
    lines += ["| rungs (same model, other seeds) | val bits/byte: mean ± std (range) | macro-F1: mean ± std (range) |", "|---|---|---|"]
    for group in noise["groups"]:
        cells = []
        for metric in ("val_bits_per_byte", "macro_f1"):
            stats = group.get(metric)
            cells.append("–" if not stats else f"{stats['mean']:.4f} ± {stats['std']:.4f} ({stats['range']:.4f})")
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
        fit = analysis.loss_to_metric
        lines += [
            f"Loss to macro-F1: `F1 = {fit.lo:.3g} + ({fit.hi:.3g} - {fit.lo:.3g}) / (1 + exp({fit.k:.3g} (L - {fit.L0:.3g})))`.",
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
    lines = [
        "## Held-out check",
        "",
        "Rungs kept out of every fit, predicted from the others: bits/byte from the Chinchilla form, macro-F1 through the loss-to-F1 sigmoid.",
        "",
        "| rung | N | D | predicted bits/byte | measured | error | predicted macro-F1 | measured | error (points) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for check in analysis.held_out:
        if "predicted_bits_per_byte" not in check:
            lines.append(f"| {check['name']} | {check['params']:,.0f} | {check['tokens']:,.0f} | {check.get('error', '')} | | | | | |")
            continue
        f1 = (
            f"{check['predicted_macro_f1']:.4f} | {check['measured_macro_f1']:.4f} | {100 * check['macro_f1_error']:.1f}"
            if "predicted_macro_f1" in check
            else f"– | {check['measured_macro_f1']:.4f} | –"
        )
        lines.append(
            f"| {check['name']} | {check['params']:,.0f} | {check['tokens']:,.0f} | {check['predicted_bits_per_byte']:.4f} | "
            f"{check['measured_bits_per_byte']:.4f} | {100 * check['bits_per_byte_relative_error']:.1f}% | {f1} |"
        )
    return lines + [""]


def _architectures(analysis: LadderAnalysis) -> list[str]:
    if not analysis.architectures:
        return []
    lines = ["## Which architecture", ""]
    for comparison in analysis.architectures:
        best = ", ".join(f"{arch} {row['macro_f1']:.4f} ({row['name']})" for arch, row in comparison["best"].items())
        if comparison["beyond_noise"] is None:
            verdict = "no seed noise was measured, so whether the gap is real is unknown"
        elif comparison["beyond_noise"]:
            verdict = f"larger than the {comparison['noise_margin']:.4f} seed noise explains: a real difference on this data"
        else:
            verdict = f"within the {comparison['noise_margin']:.4f} seed noise explains: no measurable difference on this data"
        lines.append(
            f"At {comparison['budget']} ({comparison['flops']:.3g} FLOPs, matched training compute), best test macro-F1: {best}. "
            f"The {comparison['winner']} classifies better by {comparison['gap']:.4f}, {verdict}."
        )
    return lines + [""]


def _interval(intervals: dict, key: str) -> str:
    if key not in intervals:
        return ""
    low, high = intervals[key]
    return f" [{low:.3g}, {high:.3g}]"


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
