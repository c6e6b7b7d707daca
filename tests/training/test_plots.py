import matplotlib.pyplot as plt

from lmladder.training.plots import loss_curve_figure


def test_loss_curve_has_train_and_validation_lines():
    figure = loss_curve_figure([(1, 4.0), (2, 3.5), (3, 3.0)], [(2, 3.6)], title="nano")
    try:
        axes = figure.axes[0]
        lines = {line.get_label(): line for line in axes.get_lines()}
        assert set(lines) == {"train", "validation"}
        assert list(lines["train"].get_xdata()) == [1, 2, 3]
        assert list(lines["train"].get_ydata()) == [4.0, 3.5, 3.0]
        assert list(lines["validation"].get_xdata()) == [2]
        assert axes.get_title() == "nano"
        assert axes.get_xlabel() == "optimizer step"
    finally:
        plt.close(figure)


def test_empty_histories_give_an_empty_plot():
    figure = loss_curve_figure([], [])
    try:
        assert figure.axes[0].get_lines() == []
    finally:
        plt.close(figure)
