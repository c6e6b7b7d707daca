import pandas as pd
import pytest

from lmladder.errors import ConfigError
from lmladder.selection.frontier import pareto_frontier, recommend
from lmladder.selection.scaling_law import LossToMetric, ScalingLaw, parameters_needed

# ------------------------------------------------------------------------------------- Pareto frontier

SYSTEMS = pd.DataFrame(
    {
        "name": ["a", "b", "c", "d", "e", "f", "g", "h"],
        "macro_f1": [0.70, 0.80, 0.75, 0.80, 0.80, 0.70, 0.90, 0.65],
        "latency_ms": [1.0, 2.0, 3.0, 2.0, 4.0, 1.5, 5.0, 1.0],
        "note": list("12345678"),
    }
)
# a: best at 1 ms                       -> frontier
# b, d: exact tie, nothing beats them  -> both on the frontier (a tie does not dominate)
# c: b is better and faster            -> dominated
# e: same F1 as b but slower           -> dominated (equal on one, strictly worse on the other)
# f: same F1 as a but slower           -> dominated
# g: the best F1                       -> frontier
# h: as fast as a but worse F1         -> dominated


def test_frontier_keeps_undominated_rows_and_ties_sorted_by_cost():
    frontier = pareto_frontier(SYSTEMS, quality="macro_f1", cost="latency_ms")
    assert frontier["name"].tolist() == ["a", "b", "d", "g"]
    assert list(frontier.columns) == list(SYSTEMS.columns)  # all columns kept, nothing added
    assert frontier["note"].tolist() == ["1", "2", "4", "7"]


def test_frontier_when_lower_quality_values_are_better():
    runs = pd.DataFrame(
        {
            "name": ["p", "q", "r", "s"],
            "val_loss": [3.0, 2.5, 2.8, 2.5],
            "train_flops": [1e15, 4e15, 5e15, 8e15],
        }
    )
    # r: q has lower loss at lower cost; s: same loss as q at higher cost.
    frontier = pareto_frontier(runs, quality="val_loss", cost="train_flops", higher_is_better=False)
    assert frontier["name"].tolist() == ["p", "q"]


def test_frontier_of_one_row_is_that_row():
    assert pareto_frontier(SYSTEMS.iloc[[2]], "macro_f1", "latency_ms")["name"].tolist() == ["c"]


def test_frontier_names_a_missing_column():
    with pytest.raises(ConfigError, match="latency"):
        pareto_frontier(SYSTEMS.drop(columns="latency_ms"), "macro_f1", "latency_ms")


def test_frontier_rejects_missing_values():
    with_gap = SYSTEMS.assign(macro_f1=[0.7, None, 0.75, 0.8, 0.8, 0.7, 0.9, 0.65])
    with pytest.raises(ConfigError, match="'macro_f1' has missing values"):
        pareto_frontier(with_gap, "macro_f1", "latency_ms")


# ------------------------------------------------------------------------------------- recommend

RUNGS = pd.DataFrame(
    {
        "name": ["small", "nano", "mini", "micro"],  # out of cost order on purpose
        "params": [6.4e7, 1e6, 1.6e7, 4e6],
        "tokens": [2e9, 2e9, 2e9, 2e9],
        "train_flops": [7.68e17, 1.2e16, 1.92e17, 4.8e16],
        "val_loss": [2.8, 4.0, 3.1, 3.5],
        "macro_f1": [0.83, 0.60, 0.78, 0.70],
        "latency_ms": [20.0, 2.0, 9.0, 4.0],
    }
)
LAW = ScalingLaw(E=2.0, A=60.0, alpha=0.3)
LOSS_TO_F1 = LossToMetric(lo=0.3, hi=0.95, k=3.0, L0=3.5)


def test_without_noise_the_best_rung_meeting_every_constraint_is_recommended():
    result = recommend(RUNGS, {"min_macro_f1": 0.75, "max_latency_ms": 25})
    assert result["recommended"] == "small"
    assert sorted(result["meets"]) == ["mini", "small"]
    assert result["tied"] == ["small"]
    assert result["binding"] == []
    assert result["needed"] is None
    assert result["reason"] == (
        "small has the best macro-F1 (macro-F1 0.830, 7.7e+17 training FLOPs); no other rung is within noise of it, "
        "among the 2 rungs meeting every constraint"
    )


def test_rungs_within_noise_of_the_best_are_tied_and_the_cheapest_of_them_wins():
    # sigma 0.02: two single runs are within 2 x 0.02 x sqrt(2) = 0.057 of each other
    result = recommend(RUNGS, {"min_macro_f1": 0.75}, f1_noise=0.02)
    assert result["recommended"] == "mini" and sorted(result["tied"]) == ["mini", "small"]
    assert (
        "mini (macro-F1 0.780, 1.9e+17 training FLOPs) is the cheapest of 2 rungs whose macro-F1 is within noise of the best (small, 0.830)"
        in result["reason"]
    )
    # more seeds of each make the margin smaller: 0.02 x 2 x sqrt(1/4 + 1/4) = 0.028 < 0.05
    assert recommend(RUNGS.assign(seeds=4), {"min_macro_f1": 0.75}, f1_noise=0.02)["recommended"] == "small"
    # a large noise ties everything: the cheapest rung of all
    assert recommend(RUNGS, {}, f1_noise=0.5)["recommended"] == "nano"


def test_no_constraints_recommends_the_best_rung():
    for constraints in ({}, None):
        result = recommend(RUNGS, constraints)
        assert result["recommended"] == "small"
        assert len(result["meets"]) == 4
        assert "among the" not in result["reason"]


def test_none_constraints_are_ignored():
    result = recommend(RUNGS, {"min_macro_f1": 0.65, "max_latency_ms": None, "max_params": None, "max_train_flops": None})
    assert result["recommended"] == "small"
    assert result["excluded"] == {"min_macro_f1": 1}


def test_train_flops_and_params_limits_apply():
    result = recommend(RUNGS, {"min_macro_f1": 0.7, "max_params": 2e7, "max_train_flops": 1e17})
    assert result["recommended"] == "micro"
    assert result["meets"] == ["micro"]


def test_nothing_meets_names_the_binding_constraint_and_the_size_needed():
    result = recommend(RUNGS, {"min_macro_f1": 0.9, "max_latency_ms": 25}, law=LAW, loss_to_metric=LOSS_TO_F1)
    assert result["recommended"] is None
    assert result["meets"] == []
    # Dropping the latency limit still leaves no rung at 0.9; dropping the F1 floor lets every rung pass.
    assert result["binding"] == ["min_macro_f1"]
    assert result["excluded"] == {"min_macro_f1": 4, "max_latency_ms": 0}

    target = LOSS_TO_F1.inverse(0.9)
    assert LOSS_TO_F1.predict(target) == pytest.approx(0.9)
    assert result["needed"]["target_loss"] == pytest.approx(target)
    assert result["needed"]["params"] == pytest.approx((60.0 / (target - 2.0)) ** (1 / 0.3))
    assert result["reason"].startswith("no rung reaches min_macro_f1=0.9; the fitted law predicts ~")
    assert result["reason"].endswith("M parameters are needed")


def test_needed_parameters_use_the_largest_token_budget_for_a_law_with_a_tokens_term():
    law = ScalingLaw(E=1.5, A=400.0, alpha=0.34, B=400.0, beta=0.4)
    result = recommend(RUNGS, {"min_macro_f1": 0.9}, law=law, loss_to_metric=LOSS_TO_F1)
    target = LOSS_TO_F1.inverse(0.9)
    assert result["needed"]["params"] == pytest.approx(parameters_needed(law, target, D=2e9))
    assert result["needed"]["params"] != pytest.approx(parameters_needed(law, target))


def test_each_constraint_that_alone_blocks_is_binding():
    # small has the F1 but is too slow; mini is fast enough but short of the F1.
    result = recommend(RUNGS, {"min_macro_f1": 0.8, "max_latency_ms": 10})
    assert result["recommended"] is None
    assert result["binding"] == ["min_macro_f1", "max_latency_ms"]
    assert result["needed"] is None  # no law given
    assert result["reason"] == "no rung meets min_macro_f1=0.8, max_latency_ms=10"


def test_when_no_single_constraint_unblocks_all_failing_ones_are_binding():
    result = recommend(RUNGS, {"min_macro_f1": 0.9, "max_params": 1e5, "max_train_flops": 1e20})
    assert result["binding"] == ["min_macro_f1", "max_params"]


def test_an_unreachable_metric_gives_the_error_instead_of_a_size():
    capped = LossToMetric(lo=0.3, hi=0.85, k=3.0, L0=3.5)
    result = recommend(RUNGS, {"min_macro_f1": 0.9}, law=LAW, loss_to_metric=capped)
    assert "cannot be reached" in result["needed"]["error"]
    assert "cannot be reached" in result["reason"]


def test_unknown_constraint_and_missing_column_raise_config_error():
    with pytest.raises(ConfigError, match="min_f1"):
        recommend(RUNGS, {"min_f1": 0.8})
    with pytest.raises(ConfigError, match="latency_ms"):
        recommend(RUNGS.drop(columns="latency_ms"), {"max_latency_ms": 10})
    with pytest.raises(ConfigError, match="empty"):
        recommend(RUNGS.iloc[:0], {})
