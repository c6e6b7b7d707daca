"""A ladder of rungs (size preset x token budget): each rung's training parameters and its summary row.

A rung is written in ``model_selection.rungs`` as ``name: {preset, tokens[, architecture, pretraining,
finetuning]}``; its pretraining and fine-tuning parameters are the project's, overridden by the rung.
"""

from __future__ import annotations

import copy
import re

import pandas as pd

from lmladder.errors import ConfigError

RUNG_KEYS = {"preset", "tokens", "architecture", "pretraining", "finetuning"}
# A rung's name becomes a Kedro namespace, a dataset-name prefix, a folder and an Airflow task id.
RUNG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SHARED_NAMESPACE = "shared_data"  # the namespace of the data steps every rung shares
RESERVED_NAMES = {SHARED_NAMESPACE, "retraining"}  # namespaces of other pipelines


def deep_merge(base: dict, override: dict | None) -> dict:
    """A copy of ``base`` with ``override`` merged in: nested dicts merge, everything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def check_ladder(rungs: object) -> dict[str, dict]:
    """The rungs mapping, checked: names usable as namespaces, known keys, a preset and a token budget each.

    A rung set to null is dropped: that is how a Kedro environment removes a rung of ``base``.
    """
    if isinstance(rungs, dict):
        rungs = {name: spec for name, spec in rungs.items() if spec is not None}
    if not isinstance(rungs, dict) or not rungs:
        raise ConfigError(f"model_selection.rungs must be a non-empty mapping of rung name -> {{preset, tokens}}, got {rungs!r}")
    for name, spec in rungs.items():
        where = f"model_selection.rungs.{name}"
        if not isinstance(name, str) or not RUNG_NAME.match(name):
            raise ConfigError(f"Rung name {name!r} must start with a letter and use only letters, digits and '_'")
        if name in RESERVED_NAMES:
            raise ConfigError(f"Rung name {name!r} is reserved for another pipeline's namespace; rename the rung")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a mapping with 'preset' and 'tokens', got {spec!r}")
        unknown = sorted(set(spec) - RUNG_KEYS)
        if unknown:
            raise ConfigError(f"{where} has unknown key(s) {unknown}; known keys are {sorted(RUNG_KEYS)}")
        for key in ("preset", "tokens"):
            if spec.get(key) is None:
                raise ConfigError(f"{where}.{key} is missing")
        tokens = spec["tokens"]
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens <= 0:
            raise ConfigError(f"{where}.tokens must be a positive integer token budget, got {tokens!r}")
    return rungs


def rung_parameters(name: str, spec: dict, pretraining: dict, finetuning: dict, rung_finetuning: dict | None = None) -> dict:
    """The pretraining and fine-tuning parameters of one rung: the project's, then the ladder's, then the rung's."""
    model = {"preset": spec["preset"]}
    if spec.get("architecture") is not None:
        model["architecture"] = spec["architecture"]
    rung_pretraining = deep_merge(pretraining, {"model": model, "trainer": {"max_tokens": spec["tokens"]}})
    return {
        "pretraining": deep_merge(rung_pretraining, spec.get("pretraining")),
        "finetuning": deep_merge(deep_merge(finetuning, rung_finetuning), spec.get("finetuning")),
    }


def summarise_rung(name: str, training: dict, language_model_scores: dict, classifier_scores: dict, cost: dict, history: dict) -> dict:
    """One row of the ladder table, from what the rung's pretraining, evaluation and cost nodes produced.

    ``params`` is N of the scaling law: non-embedding parameters, as in Kaplan et al.; ``tokens`` is D,
    the tokens the optimizer actually stepped over; ``train_flops`` is C = flops/token x D.
    """
    tokens = int(training["train.tokens_per_step"]) * int(training["train.max_steps"])
    tokens_per_step = int(training["train.tokens_per_step"])
    return {
        "name": name,
        "preset": training["model.preset"],
        "architecture": training["model.architecture"],
        "params": int(training["model.non_embedding_parameters"]),
        "total_params": int(training["model.parameters"]),
        "tokens": tokens,
        "train_flops": float(training["model.flops_per_token"]) * tokens,
        "val_loss": float(language_model_scores["loss"]),
        "val_bits_per_byte": float(language_model_scores["bits_per_byte"]),
        "accuracy": float(classifier_scores["accuracy"]),
        "macro_f1": float(classifier_scores["macro_f1"]),
        "ece": float(classifier_scores["ece"]),
        "latency_ms": float(cost["p50_ms"]),
        "throughput_per_s": float(cost["throughput_per_s"]),
        "size_on_disk_bytes": int(cost["size_on_disk_bytes"]),
        # validation loss against tokens seen, for the overlaid loss curves
        "val_curve": [[int(step) * tokens_per_step, float(loss)] for step, loss in history["val"]],
    }


def ladder_table(summaries: list[dict]) -> pd.DataFrame:
    """The rung summaries as a table, smallest model (then smallest budget) first."""
    if not summaries:
        raise ConfigError("The ladder has no rung summaries to compare.")
    table = pd.DataFrame([{key: value for key, value in row.items() if key != "val_curve"} for row in summaries])
    return table.sort_values(["params", "tokens"]).reset_index(drop=True)
