"""Tests of iotlab.deployment: timing, sizes, confusion matrices, streaming,
and exports of small Keras models to TFLite and ONNX."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from iotlab import deployment
from iotlab.preprocessing import CLASS_NAMES


def test_time_calls_passes_single_rows():
    shapes = []
    X = np.arange(20.0).reshape(10, 2)
    seconds = deployment.time_calls(
        lambda batch: shapes.append(batch.shape), X, n_calls=12, warmup=2
    )
    assert seconds.shape == (12,)
    assert (seconds >= 0).all()
    assert len(shapes) == 14
    assert set(shapes) == {(1, 2)}


def test_time_calls_slices_frames_by_position():
    frame = pd.DataFrame({"a": range(5)}, index=[10, 11, 12, 13, 14])
    seen = []
    deployment.time_calls(
        lambda batch: seen.append(list(batch["a"])), frame, n_calls=4, rows_per_call=2
    )
    assert seen[:4] == [[0, 1], [2, 3], [0, 1], [2, 3]]
    assert all(len(rows) == 2 for rows in seen)


def test_time_calls_rejects_bad_arguments():
    with pytest.raises(deployment.DeploymentError, match="at least 1"):
        deployment.time_calls(print, np.zeros((3, 2)), n_calls=0)
    with pytest.raises(deployment.DeploymentError, match="fewer than"):
        deployment.time_calls(print, np.zeros((1, 2)), rows_per_call=2)


def test_latency_summary_in_milliseconds():
    summary = deployment.latency_summary([0.001, 0.002, 0.003, 0.004, 0.010])
    assert summary["median_ms"] == pytest.approx(3.0)
    assert summary["max_ms"] == pytest.approx(10.0)
    assert 4.0 < summary["p95_ms"] < 10.0
    with pytest.raises(deployment.DeploymentError, match="empty"):
        deployment.latency_summary([])


def test_throughput_counts_rows():
    calls = []
    rate = deployment.throughput(
        lambda batch: calls.append(len(batch)), np.zeros((50, 3))
    )
    assert rate > 0
    assert calls == [1, 50]


def test_size_on_disk_of_file_and_folder(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 5)
    assert deployment.size_on_disk(tmp_path / "a.bin") == 10
    assert deployment.size_on_disk(tmp_path) == 15
    with pytest.raises(FileNotFoundError):
        deployment.size_on_disk(tmp_path / "missing")


def test_save_forest_round_trip(tmp_path):
    import joblib
    from sklearn.tree import DecisionTreeClassifier

    model = DecisionTreeClassifier(random_state=0).fit([[0], [1]], [0, 1])
    path = deployment.save_forest(model, tmp_path / "tree.joblib")
    assert joblib.load(path).predict([[1]]).tolist() == [1]
    assert [item.name for item in tmp_path.iterdir()] == ["tree.joblib"]
    with pytest.raises(deployment.DeploymentError, match=r"\.joblib"):
        deployment.save_forest(model, tmp_path / "tree.pkl")
    with pytest.raises(deployment.DeploymentError, match="does not exist"):
        deployment.save_forest(model, tmp_path / "missing" / "tree.joblib")


def random_labels(n_rows: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 6, n_rows)
    y_pred = np.where(rng.random(n_rows) < 0.7, y_true, rng.integers(0, 8, n_rows))
    return y_true, y_pred


def test_update_confusion_matches_sklearn():
    y_true, y_pred = random_labels()
    matrix = np.zeros((12, 12), dtype=np.int64)
    for start in range(0, len(y_true), 70):
        deployment.update_confusion(
            matrix, y_true[start : start + 70], y_pred[start : start + 70]
        )
    expected = confusion_matrix(y_true, y_pred, labels=range(12))
    assert (matrix == expected).all()


def test_update_confusion_accepts_class_names():
    matrix = np.zeros((12, 12), dtype=np.int64)
    deployment.update_confusion(matrix, ["Benign", "Port Scan"], ["Benign", "Benign"])
    assert matrix[1, 1] == 1
    assert matrix[0, 1] == 1
    assert matrix.sum() == 2


def test_update_confusion_rejects_length_mismatch():
    with pytest.raises(deployment.DeploymentError, match="one prediction per row"):
        deployment.update_confusion(np.zeros((12, 12)), [0, 1], [0])


def test_scores_from_confusion_match_sklearn():
    y_true, y_pred = random_labels()
    matrix = confusion_matrix(y_true, y_pred, labels=range(12))
    scores = deployment.scores_from_confusion(matrix)
    assert scores["rows"] == len(y_true)
    assert scores["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert scores["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    classes = np.unique(y_true)
    expected_recall = recall_score(y_true, y_pred, labels=classes, average=None)
    assert list(scores["recall"].index) == [CLASS_NAMES[code] for code in classes]
    assert np.allclose(scores["recall"].to_numpy(), expected_recall)
    assert scores["support"].sum() == len(y_true)


def test_scores_from_confusion_rejects_empty_matrix():
    with pytest.raises(deployment.DeploymentError, match="empty"):
        deployment.scores_from_confusion(np.zeros((12, 12)))
    with pytest.raises(deployment.DeploymentError, match="square"):
        deployment.scores_from_confusion(np.zeros((3, 4)))


def test_streaming_scorer_equals_offline_scores():
    y_true, y_pred = random_labels(250, seed=1)
    flows = pd.DataFrame({"prediction": y_pred})
    scorer = deployment.StreamingScorer(lambda batch: batch["prediction"].to_numpy())
    for start in range(0, len(flows), 60):
        returned = scorer.update(
            flows.iloc[start : start + 60], y_true[start : start + 60]
        )
        assert (returned == y_pred[start : start + 60]).all()
    assert (
        scorer.confusion_ == confusion_matrix(y_true, y_pred, labels=range(12))
    ).all()
    assert [entry["rows"] for entry in scorer.history_] == [60, 120, 180, 240, 250]
    assert scorer.history_[-1]["accuracy"] == pytest.approx(
        accuracy_score(y_true, y_pred)
    )
    assert scorer.scores()["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    frame = scorer.confusion_frame()
    assert list(frame.index) == list(CLASS_NAMES[:8])
    assert frame.to_numpy().sum() == 250


def small_classifier(n_features: int = 12):
    keras = pytest.importorskip("keras")
    from iotlab import models

    models.configure_threads(2)
    return models.build_cnn_lstm(
        n_features,
        conv_filters=(4, 8),
        lstm_units=(8, 4),
        dense_units=8,
        seed=0,
    ), keras


@pytest.mark.slow
def test_tflite_export_matches_keras(tmp_path):
    model, _ = small_classifier()
    X = np.random.default_rng(0).random((10, 12)).astype(np.float32)
    expected = model.predict(X, verbose=0)
    for batch_size in (1, 4):
        path = deployment.export_tflite(
            model, tmp_path / f"m{batch_size}.tflite", batch_size
        )
        runner = deployment.TFLiteModel(path)
        assert runner.batch_size == batch_size
        assert runner.n_features == 12
        probabilities = runner.predict_proba(X)
        assert probabilities.shape == (10, 12)
        assert deployment.max_difference(probabilities, expected) < 1e-5
        assert (runner.predict(X) == expected.argmax(axis=1)).all()
    with pytest.raises(deployment.DeploymentError, match="expects"):
        runner.predict_proba(np.zeros((2, 5)))


@pytest.mark.slow
def test_onnx_export_matches_keras(tmp_path):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    model, _ = small_classifier()
    X = np.random.default_rng(1).random((9, 12)).astype(np.float32)
    path = deployment.export_onnx(model, tmp_path / "m.onnx")
    runner = deployment.OnnxModel(path)
    probabilities = runner.predict_proba(X)
    assert deployment.max_difference(probabilities, model.predict(X, verbose=0)) < 1e-5
    assert deployment.size_on_disk(path) > 0


def test_export_rejects_wrong_suffix(tmp_path):
    with pytest.raises(deployment.DeploymentError, match=r"\.tflite"):
        deployment.export_tflite(None, tmp_path / "model.onnx")
    with pytest.raises(deployment.DeploymentError, match=r"\.onnx"):
        deployment.export_onnx(None, tmp_path / "model.tflite")


def test_runners_need_existing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="export one first"):
        deployment.TFLiteModel(tmp_path / "none.tflite")
    with pytest.raises(FileNotFoundError, match="export one first"):
        deployment.OnnxModel(tmp_path / "none.onnx")


def test_max_difference_rejects_shapes():
    assert deployment.max_difference([1.0, 2.0], [1.5, 2.0]) == 0.5
    with pytest.raises(deployment.DeploymentError, match="Shapes differ"):
        deployment.max_difference([1.0], [1.0, 2.0])
