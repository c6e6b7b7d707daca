"""Thin nodes over ``lmladder.selection``."""

from __future__ import annotations

from lmladder.model.directory import ModelBundle
from lmladder.selection.analysis import analyse_ladder
from lmladder.selection.ladder import check_ladder, ladder_table, rung_parameters, summarise_rung
from lmladder.selection.plots import loss_curves_figure, loss_vs_params_figure, quality_vs_latency_figure
from lmladder.selection.report import render_selection_report

PLOTS = {
    "validation loss vs parameters, with the fitted law": "loss_vs_params.png",
    "test macro-F1 vs latency, with the Pareto frontier": "quality_vs_latency.png",
    "validation loss curves": "ladder_loss_curves.png",
}


def resolve_ladder(pretraining: dict, finetuning: dict, model_selection: dict) -> dict:
    """Each rung's full pretraining and fine-tuning parameters, saved so every rung task reads the same."""
    rungs = check_ladder(model_selection["rungs"])
    return {name: rung_parameters(name, spec, pretraining, finetuning, model_selection["rung_finetuning"]) for name, spec in rungs.items()}


def rung_parameters_node(ladder_parameters: dict, rung: str) -> tuple[dict, dict]:
    parameters = ladder_parameters[rung]
    return parameters["pretraining"], parameters["finetuning"]


def summarise_rung_node(
    pretrained_model: ModelBundle, language_model_scores: dict, classifier_scores: dict, cost: dict, history: dict, rung: str
) -> tuple[dict, dict]:
    """The rung's row of the ladder table, and the same numbers as metrics of the rung's MLflow run."""
    summary = summarise_rung(rung, pretrained_model.metadata["training"], language_model_scores, classifier_scores, cost, history)
    metrics = {
        key: {"value": float(value), "step": 0}
        for key, value in summary.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    return summary, metrics


def select_model(tfidf_scores: dict, params: dict, *rung_summaries: dict):
    """Fit, check, compare and recommend; returns the report, its JSON, three figures and metrics."""
    table = ladder_table(list(rung_summaries))
    baseline = {
        "name": "tfidf_baseline",
        "macro_f1": tfidf_scores["macro_f1"],
        "accuracy": tfidf_scores["accuracy"],
        "latency_ms": tfidf_scores["p50_ms"],
        "params": tfidf_scores["parameters"],
    }
    bootstrap = params["bootstrap"]
    analysis = analyse_ladder(
        table,
        baseline=baseline,
        constraints=params["constraints"],
        compute_budget_flops=params["compute_budget_flops"],
        n_boot=bootstrap["n_boot"],
        level=bootstrap["level"],
        seed=bootstrap["seed"],
    )
    report = render_selection_report(analysis, PLOTS)
    law_plot = loss_vs_params_figure(table, analysis.law, extrapolate_to=params["extrapolate_to_params"])
    frontier_plot = quality_vs_latency_figure(analysis.points, analysis.frontiers["macro_f1 vs latency_ms"])
    curves_plot = loss_curves_figure({summary["name"]: summary["val_curve"] for summary in rung_summaries})
    return report, analysis.to_dict(), law_plot, frontier_plot, curves_plot, _selection_metrics(analysis)


def _selection_metrics(analysis) -> dict:
    values = {f"law.{name}": value for name, value in analysis.law.to_dict().items()}
    if analysis.leave_largest_out:
        values["leave_largest_out.relative_error"] = analysis.leave_largest_out["relative_error"]
    if analysis.compute_optimal:
        values.update({f"compute_optimal.{key}": value for key, value in analysis.compute_optimal.items()})
    values["rungs"] = len(analysis.rungs)
    return {key: {"value": float(value), "step": 0} for key, value in values.items()}
