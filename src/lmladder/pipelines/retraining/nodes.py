"""Thin nodes: record the plan, score challenger and champion alike, decide, register and promote."""

from __future__ import annotations

import logging

import pandas as pd

from lmladder.evaluation import measure_latency, score_classifier
from lmladder.model.classifier import predict_probabilities
from lmladder.model.directory import ModelBundle
from lmladder.retraining import promotion_decision
from lmladder.tracking.champion import load_registered_bundle, set_alias
from lmladder.tracking.registry import check_label_set_for_alias, log_and_register_classifier
from lmladder.validation.gate import check_gate, frame_fingerprint

log = logging.getLogger(__name__)


def record_plan(plan: dict) -> dict:
    """The first node of a training run: the decision ``kedro retrain`` made, passed on to the others."""
    log.info("Retraining: %s", plan["message"])
    return plan


def record_no_training(plan: dict) -> dict:
    """The whole run when there is nothing to do: one clear line, and the decision for the run's tags."""
    log.info(plan["message"])
    return {"decision": {"skip": "skipped", "refuse": "refused"}[plan["action"]], "reasons": [plan["message"]]}


def gate_scores(bundle: ModelBundle, test: pd.DataFrame, n_bins: int, latency_repeats: int) -> dict:
    """Macro-F1, accuracy, ECE and latency p50 on the test split: the numbers the promotion gate compares."""
    scores = score_classifier(bundle, test["text"].tolist(), test["label"].tolist(), n_bins)

    def predict(batch: list[str]):
        return predict_probabilities(bundle.model, bundle.tokenizer, batch, batch_size=len(batch))

    latency = measure_latency(predict, test["text"].tolist(), batch_size=1, repeats=latency_repeats)
    return {"macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"], "ece": scores["ece"], "latency_ms": latency["p50_ms"]}


def compare_with_champion(challenger: ModelBundle, labelled_test: pd.DataFrame, plan: dict, params: dict, evaluation: dict) -> dict:
    """The challenger and the current champion, scored on the same, current test split."""
    score = {"n_bins": evaluation["ece_bins"], "latency_repeats": evaluation["latency_repeats"]}
    comparison = {
        "challenger": gate_scores(challenger, labelled_test, **score),
        "champion": None,
        "champion_version": plan["champion_version"],
    }
    if plan["champion_version"] is not None:
        champion = load_registered_bundle(evaluation["registered_model_name"], params["champion_alias"])
        comparison["champion"] = gate_scores(champion, labelled_test, **score)
    return comparison


def decide_promotion(comparison: dict, params: dict) -> dict:
    decision = promotion_decision(comparison["challenger"], comparison["champion"], params["gate"])
    log.info("Retraining decision: %s (%s)", decision.label, "; ".join(decision.reasons))
    return decision.to_dict()


def register_and_promote(
    challenger: ModelBundle,
    labelled_test: pd.DataFrame,
    validated_data: dict,
    plan: dict,
    comparison: dict,
    decision: dict,
    params: dict,
    evaluation: dict,
) -> dict:
    """Register the challenger (alias ``challenger``) with the decision in its tags; move the champion
    alias only when it was promoted. The last node: any earlier failure leaves the champion alone."""
    check_gate(validated_data, {"labelled_test": frame_fingerprint(labelled_test)}, "registration")
    name = evaluation["registered_model_name"]
    scores = comparison["challenger"]
    tags = {
        "decision": decision["decision"],
        "decision_reasons": "; ".join(decision["reasons"]),
        "retraining_fingerprint": plan["fingerprint"],
        "data_fingerprint": validated_data["data_fingerprint"],
        **{f"test_{key}": f"{value:.4f}" for key, value in scores.items()},
    }
    allow_change = evaluation["allow_label_set_change"]
    if decision["promote"]:  # before anything is registered: a refused promotion changes nothing
        check_label_set_for_alias(name, params["champion_alias"], list(challenger.model.classifier_config.labels), allow_change)
    registration = log_and_register_classifier(
        challenger,
        name,
        params["challenger_alias"],
        labelled_test["text"].tolist()[:3],
        tags,
        allow_label_set_change=allow_change,
        max_text_chars=evaluation["max_text_chars"],
    )
    if decision["promote"]:
        set_alias(name, params["champion_alias"], registration["version"])
        log.info("Promoted: %s v%s is now @%s", name, registration["version"], params["champion_alias"])
    else:
        log.info(
            "Kept the champion v%s; challenger v%s is @%s", plan["champion_version"], registration["version"], params["challenger_alias"]
        )
    return {**registration, "promoted": decision["promote"]}
