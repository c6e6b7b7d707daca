import matplotlib.pyplot as plt
import numpy as np
import pytest

from lmladder.errors import ConfigError
from lmladder.evaluation.metrics import expected_calibration_error
from lmladder.evaluation.plots import (
    attention_grid_figure,
    confusion_matrix_figure,
    reliability_diagram_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def close_figures():
    yield
    plt.close("all")


def saved_png(figure, path) -> bytes:
    figure.savefig(path)
    return path.read_bytes()


def test_confusion_matrix_annotates_every_cell_with_its_count(tmp_path, close_figures):
    matrix = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    figure = confusion_matrix_figure(matrix, ["alpha", "beta", "gamma"])
    axes = figure.axes[0]

    assert [text.get_text() for text in axes.texts] == ["1", "1", "0", "0", "2", "0", "1", "0", "0"]
    assert [label.get_text() for label in axes.get_xticklabels()] == ["alpha", "beta", "gamma"]
    assert [label.get_text() for label in axes.get_yticklabels()] == ["alpha", "beta", "gamma"]
    assert axes.get_xticklabels()[0].get_rotation() == 45
    assert axes.get_ylabel() == "true label"
    assert axes.get_xlabel() == "predicted label"
    assert len(figure.axes) == 2  # the matrix and its colour bar
    assert saved_png(figure, tmp_path / "confusion.png").startswith(PNG_SIGNATURE)


def test_confusion_matrix_must_match_its_labels(close_figures):
    with pytest.raises(ConfigError):
        confusion_matrix_figure(np.zeros((2, 2)), ["a", "b", "c"])


def test_reliability_diagram_draws_one_accuracy_bar_per_filled_bin(tmp_path, close_figures):
    probabilities = np.array([[0.3, 0.25, 0.25, 0.2], [0.5, 0.3, 0.1, 0.1], [0.9, 0.05, 0.03, 0.02]])
    ece, bins = expected_calibration_error(probabilities, np.array([0, 1, 0]), n_bins=5)
    figure = reliability_diagram_figure(bins, ece)
    accuracy_axes, count_axes = figure.axes

    filled = [row for row in bins if row["count"]]
    assert len(accuracy_axes.patches) == len(filled) == 3
    assert [bar.get_height() for bar in accuracy_axes.patches] == [row["accuracy"] for row in filled]
    assert [bar.get_height() for bar in count_axes.patches] == [0, 1, 1, 0, 1]
    assert f"ECE = {ece:.3f}" in accuracy_axes.get_title()
    diagonal = [line for line in accuracy_axes.get_lines() if line.get_label() == "perfect calibration"]
    assert list(diagonal[0].get_xdata()) == [0, 1] and list(diagonal[0].get_ydata()) == [0, 1]
    assert saved_png(figure, tmp_path / "reliability.png").startswith(PNG_SIGNATURE)


def test_attention_grid_has_one_panel_per_layer_and_head(tmp_path, close_figures):
    tokens = ["the", "cat", "sat", "down"]
    rng = np.random.default_rng(0)
    weights = [rng.dirichlet(np.ones(4), size=(3, 4)) for _ in range(2)]  # 2 layers, 3 heads, T = 4
    figure = attention_grid_figure(weights, tokens)

    assert len(figure.axes) == 6
    top_left, bottom_left, bottom_right = figure.axes[0], figure.axes[3], figure.axes[5]
    assert [label.get_text() for label in top_left.get_yticklabels()] == tokens
    assert [label.get_text() for label in bottom_left.get_xticklabels()] == tokens
    assert top_left.get_xticklabels() == []  # only the bottom row carries key labels
    assert bottom_right.get_yticklabels() == []  # only the left column carries query labels
    assert top_left.get_title() == "layer 0 head 0"
    assert figure.axes[5].get_title() == "layer 1 head 2"
    np.testing.assert_allclose(figure.axes[4].images[0].get_array(), weights[1][1])
    assert saved_png(figure, tmp_path / "attention.png").startswith(PNG_SIGNATURE)


def test_attention_grid_drops_token_labels_for_long_sequences(close_figures):
    length = 33
    figure = attention_grid_figure([np.full((1, length, length), 1 / length)], [f"t{i}" for i in range(length)])
    assert figure.axes[0].get_xticklabels() == []
    assert figure.axes[0].get_yticklabels() == []


def test_attention_grid_labels_a_32_token_sequence(close_figures):
    length = 32
    figure = attention_grid_figure([np.full((1, length, length), 1 / length)], [f"t{i}" for i in range(length)])
    assert len(figure.axes[0].get_xticklabels()) == length


@pytest.mark.parametrize(
    "weights, tokens",
    [
        ([], []),
        ([np.zeros((2, 3, 3))], ["a", "b"]),  # token count differs from T
        ([np.zeros((2, 3, 3)), np.zeros((1, 3, 3))], ["a", "b", "c"]),  # layers disagree on heads
        ([np.zeros((3, 3))], ["a", "b", "c"]),  # heads axis missing
    ],
)
def test_attention_grid_rejects_inconsistent_shapes(weights, tokens, close_figures):
    with pytest.raises(ConfigError):
        attention_grid_figure(weights, tokens)
