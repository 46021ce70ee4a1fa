"""Tests of iotlab.evaluation against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from iotlab.evaluation import (
    METRIC_NAMES,
    MODEL_NAMES,
    PAPER_TABLE3,
    compare_with_paper,
    confusion,
    evaluate,
    per_class_report,
    roc_curves,
)

# Rows are true classes 0, 1, 2 (Port Scan, Benign, ICMP Flood); columns are
# predicted classes.
MATRIX = np.array([[5, 1, 0], [2, 3, 0], [0, 1, 4]])


def rows_from_matrix(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = [], []
    for true_class, row in enumerate(matrix):
        for predicted_class, count in enumerate(row):
            y_true += [true_class] * int(count)
            y_pred += [predicted_class] * int(count)
    return np.array(y_true), np.array(y_pred)


def test_metrics_from_hand_made_matrix():
    y_true, y_pred = rows_from_matrix(MATRIX)
    result = evaluate(y_true, y_pred)
    precision = np.array([5 / 7, 3 / 5, 4 / 4])  # diagonal / column sums
    recall = np.array([5 / 6, 3 / 5, 4 / 5])  # diagonal / row sums
    f1 = 2 * precision * recall / (precision + recall)
    support = np.array([6, 5, 5])
    assert result["accuracy"] == pytest.approx(12 / 16)
    assert result["balanced_accuracy"] == pytest.approx(recall.mean())
    assert result["precision_macro"] == pytest.approx(precision.mean())
    assert result["recall_macro"] == pytest.approx(recall.mean())
    assert result["f1_macro"] == pytest.approx(f1.mean())
    assert result["precision_weighted"] == pytest.approx(
        np.average(precision, weights=support)
    )
    assert result["recall_weighted"] == pytest.approx(12 / 16)
    assert result["f1_weighted"] == pytest.approx(np.average(f1, weights=support))
    assert list(result) == list(METRIC_NAMES)


def test_per_class_report_support_and_names():
    y_true, y_pred = rows_from_matrix(MATRIX)
    report = per_class_report(y_true, y_pred)
    assert report.index.tolist() == ["Port Scan", "Benign", "ICMP Flood"]
    assert report["support"].tolist() == [6, 5, 5]
    assert report.loc["Benign", "precision"] == pytest.approx(3 / 5)
    assert report.loc["ICMP Flood", "recall"] == pytest.approx(4 / 5)


def test_confusion_counts_and_normalised():
    y_true, y_pred = rows_from_matrix(MATRIX)
    np.testing.assert_array_equal(confusion(y_true, y_pred).to_numpy(), MATRIX)
    by_true = confusion(y_true, y_pred, normalize="true")
    np.testing.assert_allclose(by_true.sum(axis=1), 1.0)
    assert by_true.loc["Benign", "Port Scan"] == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match="normalize"):
        confusion(y_true, y_pred, normalize="rows")


def test_class_only_predicted_is_reported():
    report = per_class_report([0, 0, 1], [0, 11, 1])
    assert "ARP Spoofing" in report.index
    assert report.loc["ARP Spoofing", "support"] == 0
    assert report.loc["ARP Spoofing", "precision"] == 0.0


def test_evaluate_accepts_names_and_rejects_mismatch():
    result = evaluate(["Benign", "UDP Flood"], ["Benign", "Benign"])
    assert result["accuracy"] == 0.5
    with pytest.raises(ValueError, match="y_pred has 3"):
        evaluate([0, 1], [0, 1, 1])


def test_roc_perfect_scores():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    scores = np.eye(12)[y_true]
    curves = roc_curves(y_true, scores)
    assert curves["auc"] == {"micro": 1.0, "macro": 1.0, "weighted": 1.0}
    assert set(curves["per_class"]) == {"Port Scan", "Benign", "ICMP Flood"}


def test_roc_matches_sklearn_and_skips_absent_classes():
    rng = np.random.default_rng(0)
    y_true = rng.choice([0, 1, 4], size=200, p=[0.6, 0.3, 0.1])
    scores = rng.random((200, 12)) + 0.8 * np.eye(12)[y_true]
    curves = roc_curves(y_true, scores)
    present = [0, 1, 4]
    expected_macro = np.mean(
        [roc_auc_score(y_true == code, scores[:, code]) for code in present]
    )
    assert curves["auc"]["macro"] == pytest.approx(expected_macro)
    onehot = np.eye(12)[y_true][:, present]
    expected_micro = roc_auc_score(onehot.ravel(), scores[:, present].ravel())
    assert curves["auc"]["micro"] == pytest.approx(expected_micro)
    support = np.bincount(y_true)[present]
    expected_weighted = np.average(
        [roc_auc_score(y_true == code, scores[:, code]) for code in present],
        weights=support,
    )
    assert curves["auc"]["weighted"] == pytest.approx(expected_weighted)
    assert "ARP Spoofing" not in curves["per_class"]
    assert not np.isnan(list(curves["auc"].values())).any()


def test_roc_single_class_is_nan():
    curves = roc_curves([1, 1], np.full((2, 12), 0.5))
    assert np.isnan(curves["auc"]["macro"])


def test_roc_rejects_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        roc_curves([0, 1], np.zeros((3, 12)))


def test_evaluate_with_scores_adds_auc():
    y_true, y_pred = rows_from_matrix(MATRIX)
    result = evaluate(y_true, y_pred, np.eye(12)[y_pred])
    assert 0.0 <= result["roc_auc_micro"] <= 1.0
    assert "roc_auc_weighted" in result


def test_paper_table3_values():
    assert PAPER_TABLE3.index.tolist() == list(MODEL_NAMES)
    assert PAPER_TABLE3.loc["CNN-LSTM", "accuracy"] == 0.9999
    assert PAPER_TABLE3.loc["RF", "accuracy"] == 0.943
    assert PAPER_TABLE3.loc["LSTM", "recall"] == 0.9825


def test_compare_with_paper_aligns_models():
    measured = pd.DataFrame(
        {
            "model": ["RF", "LR"],
            "accuracy": [0.99, 0.9],
            "f1_macro": [0.9, 0.8],
            "f1_weighted": [0.99, 0.9],
            "balanced_accuracy": [0.9, 0.8],
        }
    )
    table = compare_with_paper(measured)
    assert table.index.tolist() == list(MODEL_NAMES)
    assert table.loc["RF", "accuracy"] == 0.99
    assert table.loc["RF", "paper_accuracy"] == 0.943
    assert np.isnan(table.loc["CNN", "accuracy"])
