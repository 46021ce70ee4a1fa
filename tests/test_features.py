"""Tests of iotlab.features: correlation filter, RFE and the feature pipeline."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from synthetic_flows import make_flows

from iotlab.features import (
    MIN_CONV_FEATURES,
    CorrelationFilter,
    RFESelector,
    TooFewFeaturesError,
    _all_finite,
    _pearson_columns,
    check_conv_features,
    make_feature_pipeline,
)
from iotlab.preprocessing import encode_labels, stratified_split


def constructed_columns(n_rows: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a = rng.normal(size=n_rows)
    d = rng.normal(size=n_rows)
    return pd.DataFrame(
        {
            "a": a,
            "b": 2 * a + 1,  # r = 1 with a
            "c": -a,  # r = -1 with a
            "d": d,  # independent
            "e": np.full(n_rows, 7.0),  # constant
            "f": a + 0.2 * rng.normal(size=n_rows),  # r about 0.98 with a
            "g": a + 1.5 * rng.normal(size=n_rows),  # r about 0.55 with a
        }
    )


def test_correlation_filter_constructed_columns():
    frame = constructed_columns()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NaN-correlation RuntimeWarning
        selector = CorrelationFilter(threshold=0.9).fit(frame)
    assert selector.kept_ == ["a", "d", "g"]
    assert selector.constant_ == ["e"]
    assert selector.dropped_ == ["b", "c", "f"]
    assert selector.partner_["b"][0] == "a"
    assert selector.partner_["c"][1] == pytest.approx(-1.0)
    assert list(selector.transform(frame).columns) == ["a", "d", "g"]
    assert selector.get_feature_names_out().tolist() == ["a", "d", "g"]


def test_correlation_filter_threshold_is_strict():
    frame = constructed_columns()[["a", "g"]]
    r_ag = CorrelationFilter().fit(frame).correlation_.loc["a", "g"]
    assert CorrelationFilter(threshold=abs(r_ag)).fit(frame).kept_ == ["a", "g"]
    assert CorrelationFilter(threshold=abs(r_ag) - 1e-9).fit(frame).kept_ == ["a"]


def scaled_columns(order: str, n_rows: int = 1000) -> np.ndarray:
    # Columns of very different scales and offsets, one an exact linear
    # function of another, so that rounding in the sums shows.
    rng = np.random.default_rng(2)
    values = rng.normal(size=(n_rows, 9)) * rng.uniform(1e-3, 1e6, 9) + 1e5
    values[:, 4] = 3 * values[:, 1] - 7
    return np.asarray(values, order=order)


@pytest.mark.parametrize("order", ["C", "F"])
def test_pearson_one_block_equals_corrcoef(order):
    values = scaled_columns(order)
    columns = np.array([0, 1, 3, 4, 8])
    expected = np.corrcoef(values[:, columns], rowvar=False)
    result = _pearson_columns(values, columns, block_rows=len(values))
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("block_rows", [1, 7, 999])
def test_pearson_blocks_match_corrcoef(block_rows):
    values = scaled_columns("F")
    columns = np.arange(values.shape[1])
    expected = np.corrcoef(values, rowvar=False)
    result = _pearson_columns(values, columns, block_rows=block_rows)
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-13)


def test_pearson_leaves_values_unchanged():
    values = scaled_columns("F")
    before = values.copy()
    _pearson_columns(values, np.arange(values.shape[1]), block_rows=100)
    np.testing.assert_array_equal(values, before)


def test_correlation_filter_r_equals_corrcoef():
    frame = constructed_columns()
    selector = CorrelationFilter().fit(frame)
    varying = frame.drop(columns=["e"]).to_numpy()
    expected = np.corrcoef(varying, rowvar=False)
    expected = (expected + expected.T) / 2
    np.testing.assert_array_equal(selector.correlation_.to_numpy(), expected)


def test_all_finite_despite_overflowing_sum():
    # The sum of these finite values overflows to inf.
    values = np.array([[1e308, 1.0], [1e308, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning
        assert _all_finite(values)
    for bad in (np.inf, -np.inf, np.nan):
        values[0, 1] = bad
        assert not _all_finite(values)


def test_correlation_filter_on_arrays():
    values = constructed_columns().to_numpy()
    selector = CorrelationFilter().fit(values)
    assert selector.kept_ == ["x0", "x3", "x6"]
    assert selector.transform(values).shape == (500, 3)


def test_filters_reject_other_column_counts():
    frame = constructed_columns()
    selector = CorrelationFilter().fit(frame)
    with pytest.raises(ValueError, match="fitted on 7"):
        selector.transform(frame.iloc[:, :6])
    X, y = informative_data()
    rfe = RFESelector(n_features_to_select=3).fit(X, y)
    with pytest.raises(ValueError, match="fitted on 10"):
        rfe.transform(X.to_numpy()[:, :9])


def test_correlation_filter_min_features_restores():
    frame = constructed_columns()
    selector = CorrelationFilter(threshold=0.9, min_features=5).fit(frame)
    assert len(selector.kept_) == 5
    # f (|r| about 0.98) comes back before b and c (|r| = 1).
    assert "f" in selector.kept_
    assert "e" not in selector.kept_


def test_correlation_filter_rejects_nan():
    frame = constructed_columns()
    frame.loc[0, "a"] = np.nan
    with pytest.raises(ValueError, match="inf or NaN"):
        CorrelationFilter().fit(frame)


def test_correlation_filter_decides_constancy_on_training_rows():
    train = pd.DataFrame({"x": [0.0, 0.0, 0.0], "y": [1.0, 2.0, 4.0]})
    test = pd.DataFrame({"x": [5.0], "y": [3.0]})
    selector = CorrelationFilter().fit(train)
    assert selector.constant_ == ["x"]
    assert list(selector.transform(test).columns) == ["y"]


def informative_data(n_rows: int = 600):
    # Eight classes coded by three bits; each signal column carries one bit,
    # so a tree needs all three.
    rng = np.random.default_rng(1)
    y = rng.integers(0, 8, n_rows)
    noise = rng.normal(size=(n_rows, 7))
    bits = np.column_stack([(y >> bit) & 1 for bit in range(3)])
    signal = bits + 0.05 * rng.normal(size=bits.shape)
    names = ["n0", "s0", "n1", "n2", "s1", "n3", "n4", "s2", "n5", "n6"]
    values = np.column_stack(
        [noise[:, 0], signal[:, 0], noise[:, 1], noise[:, 2], signal[:, 1]]
        + [noise[:, 3], noise[:, 4], signal[:, 2], noise[:, 5], noise[:, 6]]
    )
    return pd.DataFrame(values, columns=names), y


def test_rfe_keeps_informative_columns():
    X, y = informative_data()
    selector = RFESelector(n_features_to_select=3, step=0.2).fit(X, y)
    assert sorted(selector.kept_) == ["s0", "s1", "s2"]
    assert len(selector.removed_) == 7
    assert set(selector.removed_).isdisjoint(selector.kept_)
    assert list(selector.transform(X).columns) == selector.kept_


def test_rfe_subsamples_and_keeps_all_when_few():
    X, y = informative_data()
    selector = RFESelector(n_features_to_select=50, max_samples=100).fit(X, y)
    assert len(selector.kept_) == 10
    assert selector.removed_ == []


def test_rfe_fractional_target():
    X, y = informative_data()
    selector = RFESelector(n_features_to_select=0.5).fit(X, y)
    assert len(selector.kept_) == 5


def test_conv_needs_ten_features():
    assert check_conv_features(MIN_CONV_FEATURES) == 10
    with pytest.raises(TooFewFeaturesError, match="at least 10"):
        check_conv_features(9)


def test_feature_pipeline_keeps_ten_features():
    flows = make_flows()
    y = encode_labels(flows["Label"])
    X_train, X_test, y_train, _ = stratified_split(flows, y)
    pipeline = make_feature_pipeline("flow", threshold=0.5, n_features=3)
    selected = pipeline.fit_transform(X_train, y_train)
    assert selected.shape[1] >= MIN_CONV_FEATURES
    assert list(pipeline.transform(X_test).columns) == list(selected.columns)


class RowSpy(TransformerMixin, BaseEstimator):
    """Pass rows through unchanged and record the index of every fit call."""

    def fit(self, X, y=None):
        self.fitted_index_ = X.index.copy()
        return self

    def transform(self, X):
        return X

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


def test_no_fitted_step_sees_test_rows():
    flows = make_flows()
    y = encode_labels(flows["Label"])
    X_train, X_test, y_train, _ = stratified_split(flows, y)
    selection = make_feature_pipeline("paper", n_features=12)
    pipeline = Pipeline([("spy", RowSpy()), *selection.steps])
    pipeline.fit(X_train, y_train)
    assert pipeline.named_steps["spy"].fitted_index_.equals(X_train.index)
    state = {
        "min": pipeline.named_steps["scale"].data_min_.copy(),
        "kept": list(pipeline.named_steps["rfe"].kept_),
    }
    # Wild test rows change nothing that was learned.
    wild = X_test.copy()
    wild["Flow Duration"] = 10**12
    pipeline.transform(wild)
    np.testing.assert_array_equal(pipeline.named_steps["scale"].data_min_, state["min"])
    assert pipeline.named_steps["rfe"].kept_ == state["kept"]
    assert pipeline.named_steps["spy"].fitted_index_.equals(X_train.index)
