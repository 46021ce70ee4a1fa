"""Tests of iotlab.models: Table 2's shapes and parameters, training, saving."""

from __future__ import annotations

import numpy as np
import pytest

from iotlab import models
from iotlab.features import TooFewFeaturesError

# Keep TensorFlow to 2 threads on shared CI machines; this must run before
# the first TensorFlow operation of the test session.
models.configure_threads(2)

SMALL = {"conv_filters": (4, 8), "lstm_units": (8, 4), "dense_units": 8}


def toy_data(n_rows: int = 240, n_features: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n_rows)
    X = rng.random((n_rows, n_features)).astype(np.float32) * 0.2
    X[:, :4] += y[:, None] * 0.8  # the class shows in the first features
    return X, y


@pytest.mark.parametrize(("n_features", "steps"), [(10, 1), (11, 1), (40, 8)])
def test_conv_output_length(n_features, steps):
    assert models.conv_output_length(n_features) == steps


def test_conv_output_length_too_short():
    assert models.conv_output_length(9) == 0
    assert models.conv_output_length(2) == 0


@pytest.mark.parametrize(("n_features", "steps"), [(10, 1), (40, 8)])
def test_cnn_lstm_matches_table_2(n_features, steps):
    model = models.build_cnn_lstm(n_features)
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    assert trainable == 215_820
    assert model.get_layer("pool2").output.shape == (None, steps, 128)
    assert model.get_layer("conv1").kernel_size == (3,)
    assert model.get_layer("lstm1").output.shape == (None, steps, 128)
    assert model.get_layer("lstm2").output.shape == (None, 64)
    assert model.get_layer("dropout").rate == 0.5
    assert model.output_shape == (None, 12)


def test_conv_models_reject_nine_features():
    with pytest.raises(TooFewFeaturesError, match="at least 10"):
        models.build_cnn_lstm(9)
    with pytest.raises(TooFewFeaturesError):
        models.build_cnn(9)


def test_cnn_and_lstm_shapes():
    assert models.build_cnn(40).output_shape == (None, 12)
    assert models.build_lstm(5, n_classes=3).output_shape == (None, 3)
    assert set(models.BUILDERS) == {"CNN", "LSTM", "CNN-LSTM"}


def test_dataset_fills_missing_class_weights():
    data = models.make_dataset(
        np.zeros((4, 10)), [0, 1, 2, 11], batch_size=4, class_weight={0: 3.0}
    )
    _, labels, weights = next(iter(data))
    by_label = dict(zip(labels.numpy().tolist(), weights.numpy().tolist()))
    assert by_label == {0: 3.0, 1: 1.0, 2: 1.0, 11: 1.0}


def dataset_passes(dataset, n_passes: int = 2) -> list[list[int]]:
    """Return the row order of each pass over a dataset built from ``arange``."""
    return [
        [int(row) for features, _, _ in dataset for row in features[:, 0].numpy()]
        for _ in range(n_passes)
    ]


def test_dataset_reshuffles_each_pass():
    X = np.arange(10, dtype=np.float32)[:, None].repeat(3, axis=1)
    y = np.arange(10) % 3
    first = dataset_passes(models.make_dataset(X, y, batch_size=4, seed=1))
    again = dataset_passes(models.make_dataset(X, y, batch_size=4, seed=1))
    other_seed = dataset_passes(models.make_dataset(X, y, batch_size=4, seed=2))
    assert first == again
    assert first[0] != first[1]
    assert first != other_seed
    for order in first:
        assert sorted(order) == list(range(10))
    sizes = [len(batch[1]) for batch in models.make_dataset(X, y, batch_size=4)]
    assert sizes == [4, 4, 2]


def test_dataset_keeps_order_without_shuffle():
    X = np.arange(10, dtype=np.float32)[:, None]
    y = np.zeros(10, dtype=int)
    dataset = models.make_dataset(X, y, batch_size=5, shuffle=False)
    assert dataset_passes(dataset) == [list(range(10))] * 2
    assert int(dataset.cardinality()) == 2


def test_dataset_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="outside 0 .. 11"):
        models.make_dataset(np.zeros((2, 10)), [0, 12])


def test_train_learns_with_partial_class_weights():
    X, y = toy_data()
    model = models.build_cnn(12, n_classes=3, conv_filters=(8, 16), dense_units=16)
    history = models.train(
        model,
        X[:200],
        y[:200],
        X[200:],
        y[200:],
        # 15 epochs reach 0.8 for only some shuffle seeds; 30 epochs reach
        # it for seeds 0 to 5.
        epochs=30,
        batch_size=16,
        patience=3,
        verbose=0,
        class_weight={0: 1.0, 1: 2.0},  # class 2 left out on purpose
    )
    logs = history.history
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(logs)
    assert min(logs["val_loss"]) < logs["val_loss"][0]
    accuracy = np.mean(models.predict_proba(model, X[200:]).argmax(axis=1) == y[200:])
    assert accuracy > 0.8


def test_cnn_lstm_trains_one_epoch():
    X, y = toy_data(n_rows=64)
    model = models.build_cnn_lstm(12)
    history = models.train(model, X, y, epochs=1, batch_size=32, verbose=0)
    assert len(history.history["loss"]) == 1
    assert np.isfinite(history.history["loss"][0])


def test_train_is_deterministic():
    X, y = toy_data(n_rows=64)
    outputs = []
    for _ in range(2):
        model = models.build_cnn(12, n_classes=3, conv_filters=(4, 8), dense_units=8)
        models.train(model, X, y, epochs=2, batch_size=16, seed=7, verbose=0)
        outputs.append(models.predict_proba(model, X[:8]))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_save_and_load_round_trip(tmp_path):
    X, _ = toy_data(n_rows=8)
    model = models.build_lstm(12, n_classes=3, lstm_units=(4, 4), dense_units=4)
    path = models.save_model(model, tmp_path / "lstm.keras")
    loaded = models.load_model(path)
    np.testing.assert_allclose(
        models.predict_proba(loaded, X), models.predict_proba(model, X), rtol=1e-6
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lstm.keras"]


def test_save_model_needs_keras_suffix(tmp_path):
    model = models.build_lstm(4, n_classes=2, lstm_units=(2, 2), dense_units=2)
    with pytest.raises(ValueError, match=r"\.keras"):
        models.save_model(model, tmp_path / "model.h5")
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        models.load_model(tmp_path / "missing.keras")
