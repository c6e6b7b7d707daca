"""Retraining on a schedule: is there anything new to train on, and is the new model better?

A pure library layer (no kedro): fingerprints, the promotion gate and the single-runner lock.
"""

from lmladder.retraining.decision import PromotionDecision, promotion_decision, retraining_fingerprint
from lmladder.retraining.lock import RetrainingLock

__all__ = ["PromotionDecision", "RetrainingLock", "promotion_decision", "retraining_fingerprint"]
