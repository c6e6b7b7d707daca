"""The ladder's rungs: which models it trains, each rung's training parameters, and its summary row.

Most rungs come from IsoFLOP budgets (``model_selection.budgets``: per budget of training FLOPs, the
sizes to try; each size's token count follows from the budget). Extra seeds, an architecture comparison,
a learning-rate sweep and explicit ``{preset, tokens}`` rungs complete it (see ``expand_ladder``).
A rung's pretraining and fine-tuning parameters are the project's, overridden by the ladder and the rung.
"""

from __future__ import annotations

import copy
import math
import re

import pandas as pd

from lmladder.errors import ConfigError

RUNG_KEYS = {"preset", "tokens", "architecture", "held_out", "pretraining", "finetuning"}
# A rung's name becomes a Kedro namespace, a dataset-name prefix, a folder and an Airflow task id.
RUNG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
SHARED_NAMESPACE = "shared_data"  # the namespace of the data steps every rung shares
RESERVED_NAMES = {SHARED_NAMESPACE, "retraining"}  # namespaces of other pipelines
# The kinds of rung: one size at one IsoFLOP budget; a learning-rate sweep point (pretrained only, to
# calibrate the learning-rate rule); an explicit {preset, tokens} rung.
ISOFLOP, LR_SWEEP, EXPLICIT = "isoflop", "lr_sweep", "explicit"
LR_SWEEP_PREFIX = "lr_sweep_"


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
    """The explicit rungs mapping, checked: names usable as namespaces, known keys, a preset and a token
    budget each. A rung set to null is dropped: that is how a Kedro environment removes a rung of ``base``.
    """
    if rungs is None:
        return {}
    if isinstance(rungs, dict):
        rungs = {name: spec for name, spec in rungs.items() if spec is not None}
    if not isinstance(rungs, dict):
        raise ConfigError(f"model_selection.rungs must be a mapping of rung name -> {{preset, tokens}}, got {rungs!r}")
    for name, spec in rungs.items():
        where = f"model_selection.rungs.{name}"
        _check_name(name)
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


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not RUNG_NAME.match(name):
        raise ConfigError(f"Rung name {name!r} must start with a letter and use only letters, digits and '_'")
    if name in RESERVED_NAMES:
        raise ConfigError(f"Rung name {name!r} is reserved for another pipeline's namespace; rename the rung")


def expand_ladder(selection: dict) -> dict[str, dict]:
    """Every rung of ``model_selection``, by name, as a plain spec (``kind``, ``size``, ``architecture``,
    ``budget``, ``flops``, ``tokens``, ``seed_offset``, ``lr_multiplier``, ``held_out``, overrides).

    - each size of each budget: ``<budget>_<size>`` (tokens follow from the budget at run time), and,
      for the budget named in ``seeds``, ``<budget>_<size>_seed<k>`` trained with seed + k;
    - for ``architecture_comparison``: ``<budget>_<size>_<architecture>`` at the same budget;
    - the learning-rate sweep, ``lr_sweep_<i>``: the first size of the smallest budget, once per multiplier;
    - the explicit ``rungs``.
    """
    budgets = {name: budget for name, budget in (selection.get("budgets") or {}).items() if budget is not None}
    seeds = selection.get("seeds") or {}
    comparison = selection.get("architecture_comparison") or {}
    ladder: dict[str, dict] = {}

    def add(name: str, spec: dict) -> None:
        _check_name(name)
        if name in ladder:
            raise ConfigError(f"Two rungs of model_selection are both named {name!r}; rename the explicit rung")
        ladder[name] = {"held_out": False, "seed_offset": 0, "lr_multiplier": None, "tokens": None, "budget": None, "flops": None, **spec}

    for budget_name, budget in budgets.items():
        count = seeds.get("count", 1) if seeds.get("budget") == budget_name else 1
        for size in budget["sizes"]:
            for offset in range(count):
                suffix = f"_seed{offset}" if offset else ""
                add(
                    f"{budget_name}_{_slug(size)}{suffix}",
                    {
                        "kind": ISOFLOP,
                        "size": size,
                        "architecture": "decoder",
                        "budget": budget_name,
                        "flops": float(budget["flops"]),
                        "seed_offset": offset,
                    },
                )
    if comparison.get("budget") is not None:
        budget_name, architectures = comparison["budget"], comparison.get("architecture", "encoder")
        budget = budgets[budget_name]
        for architecture in [architectures] if isinstance(architectures, str) else architectures:
            for size in comparison.get("sizes") or budget["sizes"]:
                add(
                    f"{budget_name}_{_slug(size)}_{_slug(architecture)}",
                    {"kind": ISOFLOP, "size": size, "architecture": architecture, "budget": budget_name, "flops": float(budget["flops"])},
                )
    multipliers = (selection.get("learning_rate") or {}).get("sweep") or []
    if len(multipliers) > 1 and budgets:
        budget_name = min(budgets, key=lambda name: float(budgets[name]["flops"]))
        budget = budgets[budget_name]
        for index, multiplier in enumerate(multipliers, start=1):
            add(
                f"{LR_SWEEP_PREFIX}{index}",
                {
                    "kind": LR_SWEEP,
                    "size": budget["sizes"][0],
                    "architecture": "decoder",
                    "budget": budget_name,
                    "flops": float(budget["flops"]),
                    "lr_multiplier": float(multiplier),
                },
            )
    for name, spec in check_ladder(selection.get("rungs")).items():
        if name.startswith(LR_SWEEP_PREFIX):
            raise ConfigError(f"Rung name {name!r}: names starting with {LR_SWEEP_PREFIX!r} are the learning-rate sweep's; rename the rung")
        add(
            name,
            {
                "kind": EXPLICIT,
                "size": spec["preset"],
                "architecture": spec.get("architecture") or "decoder",
                "tokens": spec["tokens"],
                "held_out": bool(spec.get("held_out", False)),
                "pretraining": spec.get("pretraining"),
                "finetuning": spec.get("finetuning"),
            },
        )
    if not any(spec["kind"] != LR_SWEEP for spec in ladder.values()):
        raise ConfigError("model_selection has no rungs: give budgets (with sizes) or explicit rungs")
    return ladder


def _slug(size: str) -> str:
    """A size as part of a rung name: ``gpt2-small`` -> ``gpt2_small``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", size)


def rung_parameters(name: str, spec: dict, pretraining: dict, finetuning: dict, rung_finetuning: dict | None = None) -> dict:
    """The parameters of one rung: the project's, then the ladder's, then the rung's own overrides.

    ``run_time`` lists the dotted keys the ladder's rules set when the rung runs (its token count from the
    budget, its learning rate and warmup from the rule in N): they are not final here, so they are not
    logged as the rung's parameters; the rung's metrics and ``rung_parameters.json`` hold the values used.
    """
    model = {"preset": spec["size"], "architecture": spec["architecture"]}
    rung_pretraining = deep_merge(pretraining, {"model": model, "trainer": {"max_tokens": spec["tokens"]}})
    override = spec.get("pretraining") or {}
    run_time = [] if spec["tokens"] is not None else ["pretraining.trainer.max_tokens"]
    if "lr" not in (override.get("optimizer") or {}):
        run_time.append("pretraining.optimizer.lr")
    if "warmup_steps" not in (override.get("lr_schedule") or {}):
        run_time.append("pretraining.lr_schedule.warmup_steps")
    return {
        "pretraining": deep_merge(rung_pretraining, override),
        "finetuning": deep_merge(deep_merge(finetuning, rung_finetuning), spec.get("finetuning")),
        "rung": {key: value for key, value in spec.items() if key not in ("pretraining", "finetuning")},
        "run_time": run_time,
    }


def resolve_run_time(parameters: dict, *, flops_per_token: float, tokens_per_step: int, lr: float, warmup_fraction: float) -> dict:
    """A rung's pretraining parameters with the ladder's run-time rules applied.

    ``lr``: the learning-rate rule's value for this rung's size. Tokens: the budget's FLOPs over the
    model's FLOPs per token (the formula ``train_flops`` uses), so every size of a budget costs the same.
    Warmup: ``warmup_fraction`` of the rung's steps.
    """
    pretraining = copy.deepcopy(parameters["pretraining"])
    run_time = set(parameters["run_time"])
    rung = parameters["rung"]
    if "pretraining.trainer.max_tokens" in run_time:
        pretraining["trainer"]["max_tokens"] = max(tokens_per_step, int(round(rung["flops"] / flops_per_token)))
    tokens = pretraining["trainer"]["max_tokens"]
    steps = math.ceil(tokens / tokens_per_step) if tokens else pretraining["trainer"]["max_steps"]
    if "pretraining.optimizer.lr" in run_time:
        # MuonAdamW's Muon rate moves with its AdamW rate: the rule and the sweep scale the optimizer as a whole.
        if "muon_lr" in pretraining["optimizer"]:
            pretraining["optimizer"]["muon_lr"] *= float(lr) / pretraining["optimizer"]["lr"]
        pretraining["optimizer"]["lr"] = float(lr)
    if "pretraining.lr_schedule.warmup_steps" in run_time:
        pretraining["lr_schedule"]["warmup_steps"] = int(round(warmup_fraction * steps))
    return pretraining


def scaled_learning_rate(N: float, *, base_lr: float, base_N: float, exponent: float, multiplier: float = 1.0) -> float:
    """The learning-rate rule: lr(N) = multiplier x base_lr x (N / base_N)^exponent.

    ``base_lr`` and ``base_N`` are the project's own model and learning rate; ``multiplier`` is what the
    sweep calibrated (1: the project's learning rate is right for its size)."""
    return float(multiplier * base_lr * (N / base_N) ** exponent)


def calibrate_learning_rate(sweep: list[dict], multipliers: list[float]) -> dict:
    """The multiplier whose sweep rung reached the lowest validation loss, and why.

    A best value at either end of the sweep is kept but flagged: the true optimum may lie beyond it.
    """
    if not sweep:
        multiplier = float(multipliers[0]) if multipliers else 1.0
        return {"multiplier": multiplier, "rows": [], "at_edge": False, "reason": f"no sweep: multiplier {multiplier:g} as configured"}
    rows = sorted(
        (
            {
                "name": row["name"],
                "lr_multiplier": row["lr_multiplier"],
                "lr": row["lr"],
                "val_loss": row["val_loss"],
                "val_bits_per_byte": row["val_bits_per_byte"],
            }
            for row in sweep
        ),
        key=lambda row: row["lr_multiplier"],
    )
    best = min(rows, key=lambda row: row["val_loss"])
    at_edge = best is rows[0] or best is rows[-1]
    reason = f"lowest validation loss ({best['val_loss']:.4f}) of {len(rows)} learning rates at {sweep[0]['preset']}"
    if at_edge:
        reason += (
            "; it is the sweep's "
            + ("smallest" if best is rows[0] else "largest")
            + " value, so the optimum may lie beyond: widen the sweep"
        )
    return {"multiplier": float(best["lr_multiplier"]), "lr": float(best["lr"]), "rows": rows, "at_edge": at_edge, "reason": reason}


TASK_SCORE_COLUMNS = ("accuracy", "macro_f1", "ece", "chrf", "bleu", "rouge_l", "exact_match")


def summarise_rung(
    name: str,
    spec: dict,
    pretraining: dict,
    seed: int,
    training: dict,
    language_model_scores: dict,
    history: dict,
    task_scores: dict | None = None,
    cost: dict | None = None,
) -> dict:
    """One row of the ladder table, from what the rung's pretraining, evaluation and cost nodes produced.

    ``params`` is N of the scaling law: non-embedding parameters, as in Kaplan et al.; ``tokens`` is D,
    the tokens the optimizer actually stepped over; ``train_flops`` is C = flops/token x D. A sweep rung
    is not fine-tuned: its task and cost columns are empty. ``task_scores`` are a classifier's (accuracy,
    macro-F1, ECE) or a generator's (chrF, BLEU, ROUGE-L, exact match); the other task's columns stay empty
    (NaN), as does bits/byte for an encoder-decoder (its span-corruption loss is no code length).
    """
    tokens = int(training["train.tokens_per_step"]) * int(training["train.max_steps"])
    tokens_per_step = int(training["train.tokens_per_step"])
    scores, cost = task_scores or {}, cost or {}
    return {
        "name": name,
        "kind": spec["kind"],
        "budget": spec["budget"],
        "budget_flops": spec["flops"],
        "held_out": bool(spec["held_out"]),
        "seed": int(seed),
        "lr_multiplier": spec["lr_multiplier"],
        "lr": float(pretraining["optimizer"]["lr"]),
        "warmup_steps": int(pretraining["lr_schedule"]["warmup_steps"]),
        "preset": training["model.preset"],
        "architecture": training["model.architecture"],
        "params": int(training["model.non_embedding_parameters"]),
        "total_params": int(training["model.parameters"]),
        "flops_per_token": float(training["model.flops_per_token"]),
        "tokens": tokens,
        "train_flops": float(training["model.flops_per_token"]) * tokens,
        "val_loss": float(language_model_scores["loss"]),
        "val_bits_per_byte": float(language_model_scores.get("bits_per_byte", "nan")),
        **{key: float(scores.get(key, "nan")) for key in TASK_SCORE_COLUMNS},
        "latency_ms": float(cost.get("p50_ms", "nan")),
        "throughput_per_s": float(cost.get("throughput_per_s", "nan")),
        "size_on_disk_bytes": float(cost.get("size_on_disk_bytes", "nan")),
        # validation loss against tokens seen, for the overlaid loss curves
        "val_curve": [[int(step) * tokens_per_step, float(loss)] for step, loss in history["val"]],
    }


def ladder_table(summaries: list[dict]) -> pd.DataFrame:
    """The rung summaries as a table, smallest model (then smallest budget) first."""
    if not summaries:
        raise ConfigError("The ladder has no rung summaries to compare.")
    table = pd.DataFrame([{key: value for key, value in row.items() if key != "val_curve"} for row in summaries])
    return table.sort_values(["params", "tokens"]).reset_index(drop=True)
