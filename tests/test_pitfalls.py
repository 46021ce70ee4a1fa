"""Tests of iotlab.pitfalls on hand-made frames with known results, a
small twin and the real calibration rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from flow_csv import CALIBRATION
from sklearn.tree import DecisionTreeClassifier

from iotlab import pitfalls
from iotlab.data import load_flows
from iotlab.twin import make_twin


def flows_frame() -> pd.DataFrame:
    """Six flows of two classes over two days, with a parsed Timestamp."""
    return pd.DataFrame(
        {
            "Timestamp": pd.to_datetime(
                [
                    "2023-10-30 09:00:03",
                    "2023-10-30 09:00:01",
                    "2023-10-30 09:00:02",
                    "2023-11-01 10:00:00",
                    "2023-11-01 09:00:00",
                    "2023-10-31 12:00:00",
                ]
            ),
            "Label": [
                "Port Scan",
                "Port Scan",
                "Port Scan",
                "Benign",
                "Benign",
                "Benign",
            ],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )


def test_column_kind_of_each_group():
    assert pitfalls.column_kind("Src Port") == "identifier"
    assert pitfalls.column_kind("Src IP") == "identifier"
    assert pitfalls.column_kind("Idle Max") == "time"
    assert pitfalls.column_kind("Timestamp") == "time"
    assert pitfalls.column_kind("Connection Type") == "link"
    assert pitfalls.column_kind("Flow Duration") == "behaviour"


def test_hide_classes_replaces_predictions():
    y_pred = np.array(["Benign", "UDP Flood", "ARP Spoofing", "DNS Flood"])
    hidden = pitfalls.hide_classes(y_pred, ["UDP Flood", "ARP Spoofing"], "Benign")
    assert hidden.tolist() == ["Benign", "Benign", "Benign", "DNS Flood"]
    assert y_pred[1] == "UDP Flood", "the input must stay unchanged"


def test_hide_classes_rejects_hidden_replacement():
    with pytest.raises(pitfalls.PitfallError, match="one of the hidden classes"):
        pitfalls.hide_classes(np.array([1, 2]), [1, 2], 2)


def test_permutation_importance_finds_signal_column():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"Src Port": rng.random(400), "Flow Duration": rng.random(400)})
    y = (X["Src Port"] > 0.5).astype(int).to_numpy()
    model = DecisionTreeClassifier(random_state=0).fit(X.iloc[:200], y[:200])
    table = pitfalls.held_out_permutation_importance(
        model, X.iloc[200:], y[200:], n_repeats=3
    )
    assert list(table.index) == ["Src Port", "Flow Duration"]
    assert table.loc["Src Port", "importance_mean"] > 0.3
    assert table.loc["Flow Duration", "importance_mean"] == pytest.approx(0.0)
    assert table.loc["Src Port", "kind"] == "identifier"
    assert pitfalls.leak_features(table) == ["Src Port"]


def test_permutation_importance_accepts_function():
    X = pd.DataFrame({"a": np.arange(100.0), "b": np.zeros(100)})
    y = (X["a"] >= 50).astype(int).to_numpy()

    def predict(frame):
        return (np.asarray(frame)[:, 0] >= 50).astype(int)

    table = pitfalls.held_out_permutation_importance(predict, X, y, n_repeats=2)
    assert table.index[0] == "a"
    assert table.loc["a", "importance_mean"] > 0.3


def test_leak_features_ignores_behaviour_and_zero():
    table = pd.DataFrame(
        {
            "importance_mean": [0.3, 0.2, 0.1, 0.0],
            "kind": ["behaviour", "time", "identifier", "link"],
        },
        index=["Flow Duration", "Idle Max", "Src Port", "Connection Type"],
    )
    assert pitfalls.leak_features(table, top=3) == ["Idle Max", "Src Port"]
    assert pitfalls.leak_features(table, top=1) == []
    assert pitfalls.leak_features(table, min_importance=0.15) == ["Idle Max"]


def test_leak_features_skips_noise_level_drops():
    table = pd.DataFrame(
        {"importance_mean": [0.0004], "kind": ["identifier"]}, index=["Dst Port"]
    )
    assert pitfalls.leak_features(table) == []


def test_shuffle_columns_moves_group_together():
    X = pd.DataFrame({"a": np.arange(50), "b": np.arange(50) * 10, "c": np.arange(50)})
    shuffled = pitfalls.shuffle_columns(X, ["a", "b"], seed=1)
    assert (shuffled["b"] == shuffled["a"] * 10).all()
    assert (shuffled["c"] == X["c"]).all()
    assert not (shuffled["a"] == X["a"]).all()
    assert sorted(shuffled["a"]) == list(range(50))
    assert list(shuffled.columns) == ["a", "b", "c"]


def test_shuffle_columns_rejects_unknown_column():
    with pytest.raises(pitfalls.PitfallError, match="no column"):
        pitfalls.shuffle_columns(pd.DataFrame({"a": [1]}), ["z"])


def test_duplicated_in_train_by_columns():
    train = pd.DataFrame({"a": [1, 2, 3], "b": [1.0, 2.0, 3.0], "id": [7, 8, 9]})
    test = pd.DataFrame({"a": [2, 2, 4], "b": [2.0, 2.5, 4.0], "id": [0, 0, 0]})
    assert pitfalls.duplicated_in_train(train, test, ["a", "b"]).tolist() == [
        True,
        False,
        False,
    ]
    assert pitfalls.duplicated_in_train(train, test, ["a"]).tolist() == [
        True,
        True,
        False,
    ]
    assert not pitfalls.duplicated_in_train(train, test, ["a", "b", "id"]).any()


def test_duplicated_in_train_across_category_lists():
    train = pd.DataFrame({"t": pd.Categorical(["x", "y"])})
    test = pd.DataFrame({"t": pd.Categorical(["y"], categories=["y", "z"])})
    assert pitfalls.duplicated_in_train(train, test, ["t"]).tolist() == [True]


def test_conflicting_in_train_needs_other_class():
    train = pd.DataFrame({"a": [1, 1, 2]})
    test = pd.DataFrame({"a": [1, 2, 3]})
    conflicting = pitfalls.conflicting_in_train(
        train, test, ["p", "q", "p"], ["p", "p", "p"], ["a"]
    )
    assert conflicting.tolist() == [True, False, False]


def test_conflicting_in_train_rejects_length_mismatch():
    frame = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(pitfalls.PitfallError, match="matching rows"):
        pitfalls.conflicting_in_train(frame, frame, ["p"], ["p", "q"], ["a"])


def test_capture_day_and_day_split():
    flows = flows_frame()
    assert pitfalls.capture_day(flows).tolist() == [
        "2023-10-30",
        "2023-10-30",
        "2023-10-30",
        "2023-11-01",
        "2023-11-01",
        "2023-10-31",
    ]
    mask = pitfalls.day_split_mask(flows, ["2023-11-01"])
    assert mask.tolist() == [False, False, False, True, True, False]


def test_day_split_rejects_unknown_or_every_day():
    flows = flows_frame()
    with pytest.raises(pitfalls.PitfallError, match="No flows on"):
        pitfalls.day_split_mask(flows, ["2023-11-05"])
    with pytest.raises(pitfalls.PitfallError, match="no training rows"):
        pitfalls.day_split_mask(flows, ["2023-10-30", "2023-10-31", "2023-11-01"])


def test_time_split_takes_latest_of_each_class():
    flows = flows_frame()
    mask = pitfalls.time_split_mask(flows, test_size=0.34)
    # Port Scan: the latest of three is row 0; Benign: the latest is row 3.
    assert mask.tolist() == [True, False, False, True, False, False]


def test_time_split_keeps_single_row_class_in_training():
    flows = flows_frame().iloc[:4]
    mask = pitfalls.time_split_mask(flows, test_size=0.5)
    assert not mask[3], "a class with one row stays in training"
    assert mask[:3].sum() == 2


def test_time_split_rejects_missing_time():
    flows = flows_frame()
    flows.loc[0, "Timestamp"] = pd.NaT
    with pytest.raises(pitfalls.PitfallError, match="missing"):
        pitfalls.time_split_mask(flows)
    with pytest.raises(pitfalls.PitfallError, match="test_size"):
        pitfalls.time_split_mask(flows_frame(), test_size=1.0)


def test_split_table_counts_and_recall():
    table = pitfalls.split_table(
        ["Benign", "Benign", "Port Scan"],
        ["Benign", "Port Scan", "Port Scan", "UDP Flood"],
        ["Benign", "Port Scan", "Benign", "Benign"],
    )
    assert list(table.index) == ["Port Scan", "Benign", "UDP Flood"]
    assert table["train_rows"].tolist() == [1, 2, 0]
    assert table["test_rows"].tolist() == [2, 1, 1]
    assert table["recall"].tolist() == [0.5, 1.0, 0.0]


def test_twin_time_split_and_duplicates():
    flows = make_twin(2_000, seed=3)
    mask = pitfalls.time_split_mask(flows, test_size=0.2)
    assert 0.15 < mask.mean() < 0.25
    for label in flows["Label"].unique():
        rows = flows["Label"] == label
        if rows.sum() >= 2:
            latest_train = flows.loc[rows & ~mask, "Timestamp"].max()
            earliest_test = flows.loc[rows & mask, "Timestamp"].min()
            assert latest_train <= earliest_test, label
    columns = ["Flow Duration", "Total Fwd Packet", "Fwd Header Length"]
    repeated = pitfalls.duplicated_in_train(flows[~mask], flows[mask], columns)
    assert repeated.dtype == bool
    assert repeated.shape == (int(mask.sum()),)


def _column_order_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    X = rng.random((300, 6)).astype(np.float32)
    X[:, 0] += y
    return X[:200], y[:200], X[200:], y[200:]


@pytest.mark.slow
def test_column_orders_dense_network_agrees():
    keras = pytest.importorskip("keras")
    from iotlab import models

    models.configure_threads(2)

    def build(n_features):
        keras.utils.set_random_seed(0)
        return keras.Sequential(
            [
                keras.Input((n_features,)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(12, activation="softmax"),
            ]
        )

    permutation = np.array([5, 3, 1, 0, 2, 4])
    result = pitfalls.compare_column_orders(
        build,
        *_column_order_data(),
        permutation,
        epochs=2,
        batch_size=32,
        permute_first_kernel=True,
    )
    assert result["agreement"] == 1.0
    assert result["original"]["accuracy"] == result["permuted"]["accuracy"]
    assert result["max_probability_difference"] < 1e-5


@pytest.mark.slow
def test_column_orders_convolution_differs():
    keras = pytest.importorskip("keras")
    from iotlab import models

    models.configure_threads(2)

    def build(n_features):
        keras.utils.set_random_seed(0)
        return keras.Sequential(
            [
                keras.Input((n_features,)),
                keras.layers.Reshape((n_features, 1)),
                keras.layers.Conv1D(4, 3, activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(12, activation="softmax"),
            ]
        )

    result = pitfalls.compare_column_orders(
        build, *_column_order_data(), [5, 3, 1, 0, 2, 4], epochs=1, batch_size=32
    )
    assert result["max_probability_difference"] > 1e-4


def test_column_orders_rejects_bad_permutation():
    with pytest.raises(pitfalls.PitfallError, match="permutation"):
        pitfalls.compare_column_orders(
            None, np.zeros((4, 3)), [0] * 4, np.zeros((2, 3)), [0, 0], [0, 0, 1]
        )


def test_real_rows_put_attacks_on_one_day():
    if not CALIBRATION.is_file():
        pytest.skip(
            f"real calibration rows not found at {CALIBRATION}; set "
            "IOTLAB_SHARED_DATA to the folder that holds them"
        )
    flows = load_flows(CALIBRATION)
    days_per_class = (
        pitfalls.capture_day(flows).groupby(flows["Label"].astype(str)).nunique()
    )
    assert (days_per_class.drop("Benign") == 1).all()
    assert days_per_class["Benign"] > 1
    mask = pitfalls.time_split_mask(flows, test_size=0.2)
    assert 0 < mask.sum() < len(flows)
