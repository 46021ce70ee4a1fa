"""Tests of iotlab.plots: every figure function returns a Figure and saves a PNG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from iotlab import plots
from iotlab.evaluation import confusion, per_class_report, roc_curves

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 11] * 5)
Y_PRED = np.array([0, 0, 1, 1, 1, 2, 1] * 5)


def assert_png(path):
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def test_class_distribution(tmp_path):
    figure = plots.plot_class_distribution(Y_TRUE, path=tmp_path / "classes.png")
    assert isinstance(figure, Figure)
    assert_png(tmp_path / "classes.png")
    assert figure.axes[0].get_xscale() == "log"


def test_confusion_matrix_counts_and_shares(tmp_path):
    counts = plots.plot_confusion_matrix(confusion(Y_TRUE, Y_PRED))
    shares = plots.plot_confusion_matrix(
        confusion(Y_TRUE, Y_PRED, normalize="true"), path=tmp_path / "cm.png"
    )
    assert isinstance(counts, Figure)
    assert isinstance(shares, Figure)
    assert_png(tmp_path / "cm.png")


def test_per_class_metrics(tmp_path):
    figure = plots.plot_per_class_metrics(
        per_class_report(Y_TRUE, Y_PRED), path=tmp_path / "per_class.png"
    )
    assert isinstance(figure, Figure)
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert "ARP Spoofing (n=5)" in labels
    assert_png(tmp_path / "per_class.png")


def test_training_curves(tmp_path):
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]}
    figure = plots.plot_training_curves(history, path=tmp_path / "training.png")
    assert len(figure.axes) == 2
    assert_png(tmp_path / "training.png")
    with pytest.raises(ValueError, match="loss"):
        plots.plot_training_curves({"accuracy": [0.5]})


def test_roc_curves_one_and_many(tmp_path):
    scores = np.eye(12)[Y_PRED] * 0.8 + 0.1
    curves = roc_curves(Y_TRUE, scores)
    one = plots.plot_roc_curves(curves, path=tmp_path / "roc.png")
    many = plots.plot_roc_curves({"A": curves, "B": curves})
    assert isinstance(one, Figure)
    assert len(many.axes[0].get_lines()) == 3  # two models and the diagonal
    assert_png(tmp_path / "roc.png")


def test_save_figure_rejects_other_formats(tmp_path):
    figure = plots.plot_class_distribution(Y_TRUE)
    with pytest.raises(ValueError, match=r"\.png"):
        plots.save_figure(figure, tmp_path / "classes.svg")
    assert list(tmp_path.iterdir()) == []
