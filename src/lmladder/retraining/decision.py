"""Whether to retrain (fingerprints) and whether to promote (the champion/challenger gate)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from lmladder.errors import ConfigError

GATE_KEYS = {"primary_metric", "min_improvement", "max_ece_increase", "max_latency_increase"}
HIGHER_IS_BETTER = {"macro_f1", "accuracy", "weighted_f1"}


def retraining_fingerprint(data_fingerprint: str, training_params: dict) -> str:
    """sha256 of the raw-data fingerprint and the parameters that shape the model: same inputs, same model."""
    payload = json.dumps({"data": data_fingerprint, "training": training_params}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class PromotionDecision:
    promote: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return "promoted" if self.promote else "rejected"

    def to_dict(self) -> dict:
        return {"decision": self.label, "promote": self.promote, "reasons": self.reasons}


def promotion_decision(challenger: dict, champion: dict | None, gate: dict) -> PromotionDecision:
    """Promote when the challenger beats the champion's primary metric by ``min_improvement`` and its
    calibration error and latency are no worse than the tolerances allow; with no champion, promote.

    ``challenger``/``champion``: scores on the same test split, with the primary metric, ``ece`` and
    ``latency_ms``. ``max_ece_increase`` is absolute; ``max_latency_increase`` is relative (0.5: up
    to 1.5x the champion's latency).
    """
    unknown = sorted(set(gate) - GATE_KEYS)
    if unknown:
        raise ConfigError(f"retraining.gate has unknown key(s) {unknown}; known keys are {sorted(GATE_KEYS)}")
    metric = gate["primary_metric"]
    if metric not in HIGHER_IS_BETTER:
        raise ConfigError(f"retraining.gate.primary_metric must be one of {sorted(HIGHER_IS_BETTER)}, got {metric!r}")
    if champion is None:
        return PromotionDecision(True, ["no champion yet: the first model that passed validation is promoted"])

    reasons, passed = [], True
    needed = champion[metric] + gate["min_improvement"]
    if challenger[metric] >= needed:
        reasons.append(f"{metric} {challenger[metric]:.4f} >= champion {champion[metric]:.4f} + margin {gate['min_improvement']:g}")
    else:
        passed = False
        reasons.append(f"{metric} {challenger[metric]:.4f} < champion {champion[metric]:.4f} + margin {gate['min_improvement']:g}")

    ece_limit = champion["ece"] + gate["max_ece_increase"]
    if challenger["ece"] > ece_limit:
        passed = False
        reasons.append(f"calibration worse: ECE {challenger['ece']:.4f} > champion {champion['ece']:.4f} + {gate['max_ece_increase']:g}")

    latency_limit = champion["latency_ms"] * (1 + gate["max_latency_increase"])
    if challenger["latency_ms"] > latency_limit:
        passed = False
        reasons.append(
            f"slower: latency p50 {challenger['latency_ms']:.2f} ms > champion {champion['latency_ms']:.2f} ms "
            f"x {1 + gate['max_latency_increase']:g}"
        )
    return PromotionDecision(passed, reasons)
