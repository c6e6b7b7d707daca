"""Thin nodes over ``lmladder.selection``."""

from __future__ import annotations

import logging

from tokenizers import Tokenizer

from lmladder.model import flops_per_token, parameter_counts
from lmladder.model.directory import ModelBundle
from lmladder.selection.analysis import analyse_ladder
from lmladder.selection.isoflop import FlopsPerToken
from lmladder.selection.ladder import (
    calibrate_learning_rate,
    expand_ladder,
    ladder_table,
    resolve_run_time,
    rung_parameters,
    scaled_learning_rate,
    summarise_rung,
)
from lmladder.selection.metric import task_metric
from lmladder.selection.plots import (
    architecture_figure,
    held_out_figure,
    isoflop_figure,
    loss_curves_figure,
    loss_vs_params_figure,
    optimal_scaling_figure,
    quality_vs_latency_figure,
)
from lmladder.selection.report import render_selection_report
from lmladder.training.config import build_model_config
from lmladder.training.pretrain import world_size

PLOTS = {
    "IsoFLOP profiles: validation loss vs N per budget, with the fitted parabolas and minima": "isoflop_curves.png",
    "compute-optimal N and D vs C, with bootstrap intervals": "optimal_scaling.png",
    "held-out rung: predicted vs measured": "held_out_check.png",
    "architecture comparison at one budget": "architecture_comparison.png",
    "validation loss vs parameters, with the Chinchilla-form fit": "loss_vs_params.png",
    "test quality (the task's metric) vs latency, with the Pareto frontier": "quality_vs_latency.png",
    "validation loss curves": "ladder_loss_curves.png",
}
log = logging.getLogger(__name__)
DIAL_DEPTHS = range(1, 65)  # the depth dial from d1 to d64 (about 3e9 non-embedding parameters)


def resolve_ladder(pretraining: dict, finetuning: dict, model_selection: dict) -> dict:
    """Each rung's parameters and the learning-rate rule, saved so every rung task reads the same."""
    project_model = build_model_config(pretraining["model"], vocab_size=1)  # N does not depend on the vocabulary
    rule = {
        "base_lr": float(pretraining["optimizer"]["lr"]),
        "base_N": parameter_counts(project_model)["non_embedding"],
        "base_preset": pretraining["model"]["preset"],
        **{key: model_selection["learning_rate"][key] for key in ("exponent", "warmup_fraction")},
    }
    rungs = {
        name: rung_parameters(name, spec, pretraining, finetuning, model_selection["rung_finetuning"])
        for name, spec in expand_ladder(model_selection).items()
    }
    return {"rungs": rungs, "learning_rate_rule": rule}


def flops_per_token_table(tokenizer: Tokenizer, pretraining: dict) -> list[list[float]]:
    """(N, training FLOPs per token) along the depth dial, with the project's vocabulary and block size:
    how the fits turn a compute-optimal N into its token count. Decoders, whatever the project's architecture:
    the fits are the decoder rungs'."""
    table = []
    for depth in DIAL_DEPTHS:
        dial = {**pretraining["model"], "preset": f"d{depth}", "architecture": "decoder"}
        config = build_model_config(dial, vocab_size=tokenizer.get_vocab_size())
        table.append([parameter_counts(config)["non_embedding"], flops_per_token(config, pretraining["data"]["block_size"])])
    return table


def rung_parameters_node(
    ladder_parameters: dict, tokenizer: Tokenizer, seed: int, learning_rate_calibration: dict | None = None, *, rung: str
) -> tuple[dict, dict, int, dict]:
    """The rung's pretraining and fine-tuning parameters with the ladder's rules applied, its seed, and a
    record of all three for its MLflow run."""
    parameters, rule = ladder_parameters["rungs"][rung], ladder_parameters["learning_rate_rule"]
    spec, pretraining = parameters["rung"], parameters["pretraining"]
    config = build_model_config(pretraining["model"], vocab_size=tokenizer.get_vocab_size())
    data, trainer = pretraining["data"], pretraining["trainer"]
    tokens_per_step = data["batch_size"] * data["block_size"] * trainer.get("accumulate_grad_batches", 1) * world_size(trainer)
    multiplier = spec["lr_multiplier"] if spec["lr_multiplier"] is not None else learning_rate_calibration["multiplier"]
    lr = scaled_learning_rate(
        parameter_counts(config)["non_embedding"],
        base_lr=rule["base_lr"],
        base_N=rule["base_N"],
        exponent=rule["exponent"],
        multiplier=multiplier,
    )
    resolved = resolve_run_time(
        parameters,
        flops_per_token=flops_per_token(config, data["block_size"]),
        tokens_per_step=tokens_per_step,
        lr=lr,
        warmup_fraction=rule["warmup_fraction"],
    )
    rung_seed = int(seed) + int(spec["seed_offset"])
    record = {"rung": spec, "seed": rung_seed, "lr_multiplier": multiplier, "pretraining": resolved, "finetuning": parameters["finetuning"]}
    return resolved, parameters["finetuning"], rung_seed, record


def summarise_rung_node(
    pretrained_model: ModelBundle,
    language_model_scores: dict,
    history: dict,
    pretraining: dict,
    seed: int,
    ladder_parameters: dict,
    task_scores: dict | None = None,
    cost: dict | None = None,
    *,
    rung: str,
) -> tuple[dict, dict]:
    """The rung's row of the ladder table, and the same numbers as metrics of the rung's MLflow run."""
    spec = ladder_parameters["rungs"][rung]["rung"]
    training = pretrained_model.metadata["training"]
    summary = summarise_rung(rung, spec, pretraining, seed, training, language_model_scores, history, task_scores, cost)
    metrics = {
        key: {"value": float(value), "step": 0}
        for key, value in summary.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # NaN: not measured
    }
    return summary, metrics


def calibrate_learning_rate_node(ladder_parameters: dict, model_selection: dict, *sweep_summaries: dict) -> dict:
    """The learning-rate multiplier the sweep chose, with the rule it multiplies."""
    calibration = calibrate_learning_rate(list(sweep_summaries), model_selection["learning_rate"]["sweep"])
    return {**calibration, "rule": ladder_parameters["learning_rate_rule"]}


def select_model(baseline_scores: dict, task: str, params: dict, learning_rate_calibration: dict, flops_table: list, *rung_summaries: dict):
    """Measure noise, fit, check, compare and recommend; returns the report, its JSON, the figures and metrics.
    The task's metric (macro-F1 for classification, chrF for generation) is the quality every rung is
    judged by; ``baseline_scores`` is the task's classical baseline (TF-IDF + LR, or retrieval)."""
    metric = task_metric(task)
    table = ladder_table(list(rung_summaries))
    constraints = dict(params["constraints"])
    if task == "classification":
        baseline = {"name": "tfidf_baseline", "macro_f1": baseline_scores["macro_f1"], "accuracy": baseline_scores["accuracy"]}
    else:  # a macro-F1 floor means nothing for generated text: min_metric is the task-metric floor
        baseline = {"name": "retrieval_baseline", **{key: baseline_scores[key] for key in ("chrf", "bleu", "rouge_l", "exact_match")}}
        constraints["min_macro_f1"] = None
        if constraints.get("max_latency_ms") is not None:
            log.info(
                "task generation: constraints.max_latency_ms=%s is compared with the latency of a whole generated text (p50, batch 1)",
                constraints["max_latency_ms"],
            )
    baseline.update(latency_ms=baseline_scores["p50_ms"], params=baseline_scores["parameters"])
    bootstrap = params["bootstrap"]
    flops_of = FlopsPerToken(flops_table_for(table, flops_table))
    analysis = analyse_ladder(
        table,
        baseline=baseline,
        constraints=constraints,
        compute_budget_flops=params["compute_budget_flops"],
        flops_per_token=flops_of,
        calibration=learning_rate_calibration,
        n_boot=bootstrap["n_boot"],
        level=bootstrap["level"],
        seed=bootstrap["seed"],
        metric=metric,
    )
    report = render_selection_report(analysis, PLOTS)
    figures = (
        isoflop_figure(analysis),
        optimal_scaling_figure(analysis),
        held_out_figure(analysis),
        architecture_figure(analysis),
        loss_vs_params_figure(
            analysis.models[analysis.models["architecture"] == "decoder"], analysis.law, extrapolate_to=params["extrapolate_to_params"]
        ),
        quality_vs_latency_figure(analysis.points, analysis.frontiers[f"{metric.column} vs latency_ms"], metric),
        loss_curves_figure({summary["name"]: summary["val_curve"] for summary in rung_summaries}),
    )
    return report, analysis.to_dict(), *figures, selection_metrics(analysis)


def flops_table_for(rungs, dial: list) -> list[list[float]]:
    """(N, FLOPs per token) pairs for the fits: the decoder rungs' own models inside the ladder's range
    of N, the depth dial beyond it (where the fits extrapolate)."""
    decoders = rungs[rungs["architecture"] == "decoder"]
    own = {(float(n), float(f)) for n, f in zip(decoders["params"], decoders["flops_per_token"], strict=True)}
    low, high = min(n for n, _ in own), max(n for n, _ in own)
    return sorted(own | {(float(n), float(f)) for n, f in dial if n < low or n > high})


def selection_metrics(analysis) -> dict:
    """The report's headline numbers as metrics of the selection run."""
    values = {}
    if analysis.law is not None:
        values.update({f"law.{name}": value for name, value in analysis.law.to_dict().items()})
    if analysis.leave_largest_out:
        values["leave_largest_out.relative_error"] = analysis.leave_largest_out["relative_error"]
    for prefix, optimum in (("compute_optimal", analysis.law_optimum), ("law_largest_budget", analysis.law_optimum_largest)):
        values.update({f"{prefix}.{key}": value for key, value in (optimum or {}).items()})
    isoflop = analysis.isoflop or {}
    if isoflop.get("scaling"):
        values.update({"isoflop.a": isoflop["scaling"]["a"], "isoflop.b": isoflop["scaling"]["b"]})
    if isoflop.get("at_target"):
        values.update({f"isoflop.target.{key}": value for key, value in isoflop["at_target"].items()})
    largest = isoflop.get("largest_budget") or {}
    if largest.get("interior"):
        values.update({f"isoflop.largest.{key}": largest[key] for key in ("N_opt", "D_opt", "tokens_per_param", "loss_opt")})
    for key, (low, high) in (isoflop.get("intervals") or {}).items():
        values.update({f"isoflop.interval.{key}.low": low, f"isoflop.interval.{key}.high": high})
    for metric, sigma in analysis.noise.get("pooled", {}).items():
        if sigma is not None:
            values[f"noise.{metric}.std"] = sigma
    for check in analysis.held_out:
        for key in (
            "bits_per_byte_error",
            "bits_per_byte_relative_error",
            f"{analysis.metric.column}_error",
            "predicted_bits_per_byte",
            f"predicted_{analysis.metric.column}",
        ):
            if key in check:
                values[f"held_out.{check['name']}.{key}"] = check[key]
    for comparison in analysis.architectures:
        values[f"architectures.{comparison['budget']}.gap"] = comparison["gap"]
    if analysis.calibration:
        values["learning_rate.multiplier"] = analysis.calibration["multiplier"]
    values["rungs"] = len(analysis.rungs)
    return {key: {"value": float(value), "step": 0} for key, value in values.items() if value is not None}
