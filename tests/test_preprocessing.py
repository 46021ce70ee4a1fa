"""Tests of iotlab.preprocessing: feature sets, encoding, splits, weights."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler
from synthetic_flows import make_flows

from iotlab import schema
from iotlab.preprocessing import (
    CLASS_NAMES,
    UNKNOWN_CODE,
    FeatureSetError,
    FlowCleaner,
    LabelError,
    SmallClassWarning,
    class_weights,
    decode_labels,
    drop_duplicates,
    encode_labels,
    feature_columns,
    make_preprocessor,
    stratified_sample,
    stratified_split,
    subsample_rows,
)


@pytest.fixture(scope="module")
def flows() -> pd.DataFrame:
    return make_flows()


def test_paper_set_drops_rates_and_timestamp():
    columns = feature_columns("paper")
    for dropped in ("Timestamp", "Flow Bytes/s", "Flow Packets/s", "Label", "Flow ID"):
        assert dropped not in columns
    for kept in ("Src IP", "Dst IP", "Src Port", "Dst Port", "Protocol", "Idle Max"):
        assert kept in columns
    assert "Connection Type" in columns
    assert len(columns) == 80


def test_flow_set_keeps_behaviour_only():
    columns = feature_columns("flow")
    for dropped in (
        *schema.IDENTIFIER_COLUMNS,
        *schema.TIME_COLUMNS,
        *schema.RATE_COLUMNS,
        "Connection Type",
        "Label",
    ):
        assert dropped not in columns
    assert "Protocol" in columns
    assert "Flow Duration" in columns
    assert columns == [name for name in schema.COLUMN_NAMES if name in columns]


def test_unknown_feature_set_raises():
    with pytest.raises(FeatureSetError, match="'paper'"):
        feature_columns("all")


def test_encode_labels_fixed_order():
    codes = encode_labels(["Port Scan", "ARP Spoofing", "Benign"])
    assert codes.tolist() == [0, 11, 1]
    assert CLASS_NAMES[11] == "ARP Spoofing"


def test_encode_labels_categorical_and_ints():
    labels = pd.Series(["UDP Flood", "Benign"], dtype=schema.LABEL_DTYPE)
    assert encode_labels(labels).tolist() == [10, 1]
    assert encode_labels(np.array([3, 4])).tolist() == [3, 4]
    assert decode_labels([10, 1]).tolist() == ["UDP Flood", "Benign"]


def test_encode_labels_rejects_unknown():
    with pytest.raises(LabelError, match="DDoS"):
        encode_labels(["Benign", "DDoS"])
    with pytest.raises(LabelError, match="12"):
        encode_labels(np.array([12]))


def test_cleaner_learns_categories_on_training_rows():
    train = pd.DataFrame({"ip": ["b", "a", "b"], "x": [1.0, 2.0, 3.0]})
    test = pd.DataFrame({"ip": ["a", "c"], "x": [2.0, 5.0]})
    cleaner = FlowCleaner(columns=["ip", "x"]).fit(train)
    assert cleaner.categories_["ip"].tolist() == ["a", "b"]
    encoded = cleaner.transform(test)
    assert encoded["ip"].tolist() == [0.0, float(UNKNOWN_CODE)]
    assert encoded["x"].tolist() == [2.0, 5.0]


def test_cleaner_replaces_inf_and_nan_from_training_values():
    train = pd.DataFrame({"rate": [1.0, 3.0, 10.0, np.inf, np.nan]})
    test = pd.DataFrame({"rate": [np.inf, -np.inf, np.nan, 4.0]})
    cleaner = FlowCleaner(columns=["rate"]).fit(train)
    assert cleaner.fill_values_["rate"] == (1.0, 10.0, 3.0)
    assert cleaner.transform(test)["rate"].tolist() == [10.0, 1.0, 3.0, 4.0]
    assert cleaner.n_replaced_ == 3


def test_cleaner_output_is_finite_on_flows(flows):
    cleaned = FlowCleaner("paper").fit_transform(flows)
    assert list(cleaned.columns) == feature_columns("paper")
    assert np.isfinite(cleaned.to_numpy()).all()
    assert cleaned.dtypes.eq(np.float64).all()


def test_cleaner_names_missing_columns(flows):
    with pytest.raises(FeatureSetError, match="Src IP"):
        FlowCleaner("paper").fit(flows.drop(columns=["Src IP"]))


def test_cleaner_rejects_arrays():
    with pytest.raises(FeatureSetError, match="DataFrame"):
        FlowCleaner("paper").fit(np.zeros((3, 80)))


def test_scaler_fitted_on_training_rows_only(flows):
    y = encode_labels(flows["Label"])
    X_train, X_test, _, _ = stratified_split(flows, y, seed=1)
    X_test = X_test.copy()
    X_test["Flow Duration"] = X_train["Flow Duration"].max() * 10
    preprocessor = make_preprocessor("paper")
    train_scaled = preprocessor.fit_transform(X_train)
    scaler = preprocessor.named_steps["scale"]
    cleaned_train = preprocessor.named_steps["clean"].transform(X_train)
    np.testing.assert_array_equal(scaler.data_min_, cleaned_train.min().to_numpy())
    np.testing.assert_array_equal(scaler.data_max_, cleaned_train.max().to_numpy())
    assert train_scaled.to_numpy().min() >= 0.0
    assert train_scaled.to_numpy().max() == pytest.approx(1.0)
    assert (preprocessor.transform(X_test)["Flow Duration"] > 1.0).all()


def test_preprocessor_leaves_input_unchanged(flows):
    y = encode_labels(flows["Label"])
    X_train, X_test, _, _ = stratified_split(flows, y)
    train_before, test_before = X_train.copy(), X_test.copy()
    preprocessor = make_preprocessor("paper")
    preprocessor.fit_transform(X_train)
    preprocessor.transform(X_test)
    pd.testing.assert_frame_equal(X_train, train_before)
    pd.testing.assert_frame_equal(X_test, test_before)


def test_preprocessor_scales_like_a_copying_scaler(flows):
    # The pipeline scales in place, and a scaler that copies must give the
    # same bits.
    preprocessor = make_preprocessor("paper")
    scaled = preprocessor.fit_transform(flows)
    cleaned = FlowCleaner("paper").fit_transform(flows)
    expected = MinMaxScaler().fit_transform(cleaned)
    np.testing.assert_array_equal(scaled.to_numpy(), expected)


def test_preprocessor_clip_keeps_test_in_range(flows):
    y = encode_labels(flows["Label"])
    X_train, X_test, _, _ = stratified_split(flows, y)
    X_test = X_test.copy()
    X_test["Flow Duration"] = X_train["Flow Duration"].max() * 10
    scaled = make_preprocessor("flow", clip=True).fit(X_train).transform(X_test)
    assert scaled.to_numpy().max() <= 1.0 + 1e-12


def test_split_keeps_class_shares():
    y = np.repeat(np.arange(3), [100, 50, 5])
    X = np.arange(len(y))[:, None]
    X_train, X_test, y_train, y_test = stratified_split(X, y, test_size=0.2)
    assert np.bincount(y_test).tolist() == [20, 10, 1]
    assert np.bincount(y_train).tolist() == [80, 40, 4]
    assert set(X_train[:, 0]).isdisjoint(X_test[:, 0])


def test_split_two_rows_one_each_side():
    y = np.array([0] * 20 + [11] * 2)
    _, _, y_train, y_test = stratified_split(np.zeros((22, 1)), y)
    assert (y_train == 11).sum() == 1
    assert (y_test == 11).sum() == 1


def test_split_single_row_warns_and_trains():
    y = np.array(["Benign"] * 10 + ["ARP Spoofing"])
    with pytest.warns(SmallClassWarning, match="ARP Spoofing"):
        _, _, y_train, y_test = stratified_split(np.zeros((11, 1)), y)
    assert "ARP Spoofing" in y_train
    assert "ARP Spoofing" not in y_test


def test_split_warning_names_class_index():
    y = np.array([0] * 10 + [11])
    with pytest.warns(SmallClassWarning, match=r"'ARP Spoofing' \(index 11\)"):
        stratified_split(np.zeros((11, 1)), y)


def test_split_keeps_frame_index_and_is_seeded(flows):
    y = flows["Label"]
    first = stratified_split(flows, y, seed=3)
    second = stratified_split(flows, y, seed=3)
    assert first[0].index.equals(second[0].index)
    assert first[0].index.intersection(first[1].index).empty
    assert len(first[0]) + len(first[1]) == len(flows)
    assert first[2].index.equals(first[0].index)


def test_split_rejects_bad_test_size():
    with pytest.raises(ValueError, match="test_size"):
        stratified_split(np.zeros((4, 1)), [0, 0, 1, 1], test_size=1.5)


def test_sample_keeps_rare_classes(flows):
    sample = stratified_sample(flows, 120, seed=0)
    counts = sample["Label"].value_counts()
    assert counts["ARP Spoofing"] == 5
    assert abs(len(sample) - 120) <= len(CLASS_NAMES)
    assert sample.attrs == flows.attrs


def test_subsample_rows_keeps_every_class():
    y = np.repeat([0, 1, 2], [1000, 100, 2])
    rows = subsample_rows(y, 110)
    assert set(y[rows]) == {0, 1, 2}
    assert 100 <= len(rows) <= 113


def test_class_weights_formula_on_given_counts():
    y = np.repeat([0, 1, 2], [80, 15, 5])
    weights = class_weights(y)
    # N / (C * N_i) with N = 100 and C = 3
    assert weights[0] == pytest.approx(100 / (3 * 80))
    assert weights[1] == pytest.approx(100 / (3 * 15))
    assert weights[2] == pytest.approx(100 / (3 * 5))
    assert set(weights) == {0, 1, 2}


def test_class_weights_sqrt_and_cap():
    y = np.repeat([0, 1, 2], [80, 15, 5])
    assert class_weights(y, mode="sqrt")[2] == pytest.approx(np.sqrt(100 / 15))
    capped = class_weights(y, cap=2.0)
    assert capped[2] == 2.0
    assert capped[0] == pytest.approx(100 / 240)


def test_class_weights_full_file_span():
    counts = [schema.FULL_CLASS_COUNTS[label] for label in schema.LABELS]
    y = np.repeat(np.arange(12), counts)
    weights = class_weights(y)
    assert weights[11] == pytest.approx(1_231_411 / (12 * 5))
    assert weights[0] == pytest.approx(1_231_411 / (12 * 441_282))
    assert weights[11] / weights[0] == pytest.approx(441_282 / 5)


def test_class_weights_label_names_and_bad_mode():
    weights = class_weights(["Benign", "Benign", "ARP Spoofing"])
    assert set(weights) == {1, 11}
    with pytest.raises(ValueError, match="mode"):
        class_weights([0, 1], mode="inverse")


def test_drop_duplicates_reports_count():
    df = pd.DataFrame({"a": [1, 1, 2, 2], "b": [0, 0, 0, 1]})
    kept, removed = drop_duplicates(df)
    assert removed == 1
    assert len(kept) == 3
    kept, removed = drop_duplicates(df, subset=["a"])
    assert removed == 2
    with pytest.raises(ValueError, match="'c'"):
        drop_duplicates(df, subset=["c"])


def test_encode_labels_emits_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encode_labels(pd.Series(list(CLASS_NAMES)))
