import numpy as np
import pytest

from lmladder.errors import ConfigError
from lmladder.evaluation.baseline import tfidf_logistic_regression

TRAIN = [
    ("the striker scored a late goal in the match", "sports"),
    ("the goalkeeper saved a penalty in the match", "sports"),
    ("fans cheered as the team won the league match", "sports"),
    ("the referee stopped the match after the goal", "sports"),
    ("simmer the onions in butter then add garlic", "cooking"),
    ("bake the bread in a hot oven with butter", "cooking"),
    ("whisk the eggs and fold in the flour for the batter", "cooking"),
    ("season the soup with salt and simmer gently", "cooking"),
    ("the stock market fell as shares lost value", "finance"),
    ("investors sold shares after the bank raised interest rates", "finance"),
    ("the bank reported profit and its shares rose", "finance"),
    ("bond yields and interest rates moved the market", "finance"),
]
TEST = [
    ("a goal late in the match won it for the team", "sports"),
    ("add garlic and butter to the onions and simmer", "cooking"),
    ("shares in the bank fell as interest rates rose", "finance"),
]


def run_baseline(**options):
    texts, labels = zip(*TRAIN)
    return tfidf_logistic_regression(list(texts), list(labels), [text for text, _ in TEST], **options)


def test_learns_a_separable_toy_task():
    predictions, _, _ = run_baseline()
    assert predictions == [label for _, label in TEST]


def test_probabilities_are_rows_over_the_sorted_classes():
    predictions, probabilities, classes = run_baseline()

    assert classes == ["cooking", "finance", "sports"]  # sorted, though training lists sports first
    assert probabilities.shape == (len(TEST), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert [classes[index] for index in probabilities.argmax(axis=1)] == predictions
    assert probabilities[1, classes.index("cooking")] > 1 / 3  # the cooking text leans to its own column


def test_two_runs_give_identical_output():
    first, second = run_baseline(seed=7), run_baseline(seed=7)
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])


def test_no_test_texts_give_an_empty_probability_array():
    predictions, probabilities, classes = tfidf_logistic_regression(["good film", "bad film"], ["pos", "neg"], [])
    assert predictions == []
    assert probabilities.shape == (0, 2)
    assert classes == ["neg", "pos"]


@pytest.mark.parametrize(
    "texts, labels, options",
    [
        (["one text", "two text"], ["only"], {}),  # lengths differ
        (["one text", "two text"], ["same", "same"], {}),  # one class cannot be separated from anything
        (["one text", "two text"], ["a", "b"], {"inverse_regularization": 0}),
        (["one text", "two text"], ["a", "b"], {"max_features": 0}),
    ],
)
def test_unusable_training_data_raises_config_error(texts, labels, options):
    with pytest.raises(ConfigError):
        tfidf_logistic_regression(texts, labels, ["x"], **options)
