import math

import numpy as np
import pytest

from lmladder.errors import ConfigError
from lmladder.evaluation.metrics import (
    classification_metrics,
    confusion,
    expected_calibration_error,
    language_model_metrics,
    per_class_table_markdown,
)

# Five examples, worked by hand:
#   a: predicted at 0 (true a) and 4 (true c) -> precision 1/2; true a at 0, 1, one hit -> recall 1/2; F1 1/2
#   b: predicted at 1 (true a), 2, 3 (true b) -> precision 2/3; recall 2/2; F1 = 2*(2/3)/(5/3) = 4/5
#   c: never predicted -> precision 0 (zero_division), recall 0/1, F1 0
#   accuracy 3/5; macro F1 (0.5 + 0.8 + 0) / 3 = 1.3/3; weighted (2*0.5 + 2*0.8 + 1*0) / 5 = 0.52
Y_TRUE = ["a", "a", "b", "b", "c"]
Y_PRED = ["a", "b", "b", "b", "a"]


def test_classification_metrics_match_the_hand_computation():
    metrics = classification_metrics(Y_TRUE, Y_PRED, ["a", "b", "c"])

    assert metrics["accuracy"] == pytest.approx(0.6)
    assert metrics["macro_f1"] == pytest.approx(1.3 / 3)
    assert metrics["weighted_f1"] == pytest.approx(0.52)
    assert metrics["per_class"] == [
        {"label": "a", "precision": pytest.approx(0.5), "recall": pytest.approx(0.5), "f1": pytest.approx(0.5), "support": 2},
        {"label": "b", "precision": pytest.approx(2 / 3), "recall": pytest.approx(1.0), "f1": pytest.approx(0.8), "support": 2},
        {"label": "c", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
    ]


def test_per_class_rows_follow_the_given_label_order():
    metrics = classification_metrics(Y_TRUE, Y_PRED, ["c", "b", "a"])
    assert [row["label"] for row in metrics["per_class"]] == ["c", "b", "a"]
    assert [row["support"] for row in metrics["per_class"]] == [1, 2, 2]


def test_a_declared_label_with_no_examples_counts_as_zero_in_the_macro_average():
    metrics = classification_metrics(Y_TRUE, Y_PRED, ["a", "b", "c", "d"])
    assert metrics["macro_f1"] == pytest.approx(1.3 / 4)
    assert metrics["weighted_f1"] == pytest.approx(0.52)  # support-weighted: d weighs nothing
    assert metrics["per_class"][3] == {"label": "d", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_metrics_are_plain_python_numbers():
    metrics = classification_metrics(Y_TRUE, Y_PRED, ["a", "b", "c"])
    assert type(metrics["accuracy"]) is float
    assert type(metrics["per_class"][0]["support"]) is int


def test_confusion_has_true_rows_and_predicted_columns():
    assert confusion(Y_TRUE, Y_PRED, ["a", "b", "c"]).tolist() == [
        [1, 1, 0],  # true a: one right, one called b
        [0, 2, 0],  # true b: both right
        [1, 0, 0],  # true c: called a
    ]


def test_confusion_follows_the_given_label_order():
    assert confusion(Y_TRUE, Y_PRED, ["c", "b", "a"]).tolist() == [
        [0, 0, 1],
        [0, 2, 0],
        [0, 1, 1],
    ]


@pytest.mark.parametrize(
    "y_true, y_pred, labels",
    [
        (["a", "b"], ["a"], ["a", "b"]),
        ([], [], ["a"]),
        (["a"], ["a"], []),
        (["a"], ["a"], ["a", "a"]),
    ],
)
def test_unusable_predictions_raise_config_error(y_true, y_pred, labels):
    with pytest.raises(ConfigError):
        classification_metrics(y_true, y_pred, labels)


# Three bins (0, 1/3], (1/3, 2/3], (2/3, 1]:
#   bin 0: confidences 0.3, 0.3, one right  -> acc 0.5, conf 0.3,  gap 0.2,  2 examples
#   bin 1: confidences 0.5, 0.6, both right -> acc 1.0, conf 0.55, gap 0.45, 2 examples
#   bin 2: confidence 0.9, wrong            -> acc 0.0, conf 0.9,  gap 0.9,  1 example
#   ECE = (2*0.2 + 2*0.45 + 1*0.9) / 5 = 2.2 / 5 = 0.44
HAND_PROBABILITIES = np.array(
    [
        [0.3, 0.25, 0.25, 0.2],
        [0.3, 0.25, 0.25, 0.2],
        [0.5, 0.3, 0.1, 0.1],
        [0.1, 0.6, 0.2, 0.1],
        [0.9, 0.05, 0.03, 0.02],
    ]
)
HAND_TRUE = np.array([0, 1, 0, 1, 2])


def test_ece_matches_the_hand_computation():
    ece, bins = expected_calibration_error(HAND_PROBABILITIES, HAND_TRUE, n_bins=3)

    assert ece == pytest.approx(0.44)
    assert [row["count"] for row in bins] == [2, 2, 1]
    assert [row["accuracy"] for row in bins] == pytest.approx([0.5, 1.0, 0.0])
    assert [row["confidence"] for row in bins] == pytest.approx([0.3, 0.55, 0.9])
    assert [(row["lower"], row["upper"]) for row in bins] == [(0, 1 / 3), (1 / 3, 2 / 3), (2 / 3, 1)]


def test_ece_is_zero_when_confidence_matches_accuracy():
    probabilities = np.tile([0.9, 0.1], (10, 1))
    y_true = np.array([0] * 9 + [1])  # 90% right at 90% confidence
    ece, bins = expected_calibration_error(probabilities, y_true, n_bins=10)
    assert ece == pytest.approx(0.0, abs=1e-12)
    assert bins[8]["count"] == 10  # 0.9 sits on the upper edge of (0.8, 0.9]


def test_ece_of_certain_but_half_wrong_predictions_is_one_half():
    probabilities = np.tile([1.0, 0.0], (4, 1))
    ece, bins = expected_calibration_error(probabilities, np.array([0, 1, 0, 1]), n_bins=15)
    assert ece == pytest.approx(0.5)
    assert bins[-1]["count"] == 4
    assert bins[-1]["accuracy"] == 0.5
    assert bins[-1]["confidence"] == 1.0


def test_confidences_on_an_edge_fall_into_the_lower_bin():
    probabilities = np.array(
        [
            [1 / 3, 1 / 3, 1 / 3],  # exactly 1/3 -> bin 0
            [0.34, 0.33, 0.33],  # just above 1/3 -> bin 1
            [2 / 3, 1 / 3, 0.0],  # exactly 2/3 -> bin 1
            [1.0, 0.0, 0.0],  # 1 -> bin 2
            [0.0, 0.0, 0.0],  # confidence 0 joins bin 0
        ]
    )
    _, bins = expected_calibration_error(probabilities, np.zeros(5, dtype=int), n_bins=3)
    assert [row["count"] for row in bins] == [2, 2, 1]


def test_edge_rule_holds_where_confidence_times_bins_rounds_up():
    # 0.28 is the upper edge 7/25, but 0.28 * 25 evaluates to 7.000000000000001:
    # binning by ceil(confidence * n_bins) would wrongly move it up to bin 7.
    _, bins = expected_calibration_error(np.array([[0.28, 0.24, 0.24, 0.24]]), np.array([0]), n_bins=25)
    assert bins[6]["count"] == 1


def test_empty_bins_have_no_accuracy_or_confidence():
    _, bins = expected_calibration_error(np.array([[0.95, 0.05]]), np.array([0]), n_bins=4)
    assert bins[0] == {"lower": 0.0, "upper": 0.25, "count": 0, "accuracy": None, "confidence": None}
    assert bins[3] == {"lower": 0.75, "upper": 1.0, "count": 1, "accuracy": 1.0, "confidence": 0.95}


@pytest.mark.parametrize(
    "probabilities, y_true, n_bins",
    [
        (np.array([0.9, 0.1]), np.array([0]), 10),  # not 2-D
        (np.array([[0.9, 0.1]]), np.array([0, 1]), 10),  # one label too many
        (np.array([[0.9, 0.1]]), np.array([2]), 10),  # class index out of range
        (np.array([[2.0, -1.0]]), np.array([0]), 10),  # logits, not probabilities
        (np.array([[0.9, 0.1]]), np.array([0]), 0),
    ],
)
def test_unusable_calibration_inputs_raise_config_error(probabilities, y_true, n_bins):
    with pytest.raises(ConfigError):
        expected_calibration_error(probabilities, y_true, n_bins=n_bins)


def test_per_class_table_rounds_to_three_decimals():
    table = per_class_table_markdown(classification_metrics(Y_TRUE, Y_PRED, ["a", "b", "c"])["per_class"])
    assert table == (
        "| label | precision | recall | F1 | support |\n"
        "| --- | ---: | ---: | ---: | ---: |\n"
        "| a | 0.500 | 0.500 | 0.500 | 2 |\n"
        "| b | 0.667 | 1.000 | 0.800 | 2 |\n"
        "| c | 0.000 | 0.000 | 0.000 | 1 |"
    )


def test_per_class_table_escapes_pipes_in_labels():
    table = per_class_table_markdown([{"label": "a|b", "precision": 1, "recall": 1, "f1": 1, "support": 3}])
    assert table.splitlines()[2] == "| a\\|b | 1.000 | 1.000 | 1.000 | 3 |"


def test_language_model_metrics_from_a_loss_of_three_bits():
    metrics = language_model_metrics(3 * math.log(2), bytes_per_token=4.0)
    assert metrics["perplexity"] == pytest.approx(8.0, rel=1e-12)
    assert metrics["bits_per_token"] == pytest.approx(3.0, rel=1e-12)
    assert metrics["bits_per_byte"] == pytest.approx(0.75, rel=1e-12)


def test_a_perfect_language_model_has_perplexity_one():
    assert language_model_metrics(0.0, 3.5) == {"perplexity": 1.0, "bits_per_token": 0.0, "bits_per_byte": 0.0}


@pytest.mark.parametrize("loss, bytes_per_token", [(-0.1, 4.0), (float("nan"), 4.0), (2.0, 0.0)])
def test_unusable_language_model_inputs_raise_config_error(loss, bytes_per_token):
    with pytest.raises(ConfigError):
        language_model_metrics(loss, bytes_per_token)
