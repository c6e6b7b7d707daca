import pytest

from lmladder.errors import ConfigError
from lmladder.retraining import RetrainingLock, promotion_decision, retraining_fingerprint

GATE = {"primary_metric": "macro_f1", "min_improvement": 0.01, "max_ece_increase": 0.05, "max_latency_increase": 0.5}
CHAMPION = {"macro_f1": 0.80, "accuracy": 0.80, "ece": 0.10, "latency_ms": 2.0}


def test_fingerprint_changes_with_data_and_with_config_only():
    params = {"finetuning": {"lr": 0.001}, "seed": 42}
    same = retraining_fingerprint("data-a", params)
    assert retraining_fingerprint("data-a", {"seed": 42, "finetuning": {"lr": 0.001}}) == same  # key order does not matter
    assert retraining_fingerprint("data-b", params) != same
    assert retraining_fingerprint("data-a", {"finetuning": {"lr": 0.002}, "seed": 42}) != same


def test_no_champion_promotes():
    decision = promotion_decision({"macro_f1": 0.1, "ece": 0.9, "latency_ms": 99}, None, GATE)
    assert decision.promote and decision.label == "promoted"
    assert "no champion" in decision.reasons[0]


def test_better_challenger_within_guardrails_is_promoted():
    decision = promotion_decision({"macro_f1": 0.82, "ece": 0.12, "latency_ms": 2.9}, CHAMPION, GATE)
    assert decision.promote, decision.reasons


@pytest.mark.parametrize(
    ("challenger", "reason"),
    [
        ({"macro_f1": 0.805, "ece": 0.10, "latency_ms": 2.0}, "macro_f1 0.8050 < champion 0.8000 + margin 0.01"),
        ({"macro_f1": 0.90, "ece": 0.16, "latency_ms": 2.0}, "calibration worse: ECE 0.1600 > champion 0.1000 + 0.05"),
        ({"macro_f1": 0.90, "ece": 0.10, "latency_ms": 3.1}, "slower: latency p50 3.10 ms > champion 2.00 ms x 1.5"),
    ],
)
def test_a_failed_condition_keeps_the_champion_and_says_which(challenger, reason):
    decision = promotion_decision(challenger, CHAMPION, GATE)
    assert not decision.promote and decision.label == "rejected"
    assert reason in decision.reasons
    assert decision.to_dict() == {"decision": "rejected", "promote": False, "reasons": decision.reasons}


def test_gate_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['margin'\]"):
        promotion_decision(CHAMPION, CHAMPION, {**GATE, "margin": 0.1})
    with pytest.raises(ConfigError, match="primary_metric must be one of"):
        promotion_decision(CHAMPION, CHAMPION, {**GATE, "primary_metric": "loss"})


def test_lock_is_exclusive_and_released(tmp_path):
    first, second = RetrainingLock(tmp_path / "sub" / "retraining.lock"), RetrainingLock(tmp_path / "sub" / "retraining.lock")
    assert first.try_acquire() and first.held
    assert not second.try_acquire() and not second.held
    first.release()
    assert second.try_acquire()
    second.release()
