"""Tests of iotlab.baselines: the four classical models, scores and timing."""

from __future__ import annotations

import numpy as np
import pytest

from iotlab.baselines import (
    BASELINE_NAMES,
    NystroemSVM,
    SubsampledSVC,
    fit_timed,
    make_baselines,
    predict_scores,
)


def separable_data(n_per_class: int = 60, classes=(0, 1, 4, 11), seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(classes, n_per_class)
    centres = rng.normal(scale=3.0, size=(max(classes) + 1, 6))
    X = centres[y] + rng.normal(scale=0.3, size=(len(y), 6))
    return X, y


def test_make_baselines_names_and_seeds():
    models = make_baselines(seed=3)
    assert tuple(models) == BASELINE_NAMES
    assert models["RF"].random_state == 3
    assert isinstance(models["SVM"], SubsampledSVC)
    assert isinstance(make_baselines(svm="nystroem")["SVM"], NystroemSVM)
    with pytest.raises(ValueError, match="svm"):
        make_baselines(svm="linear")


@pytest.mark.parametrize("name", BASELINE_NAMES)
def test_baseline_learns_separable_data(name):
    X, y = separable_data()
    model, seconds = fit_timed(make_baselines(n_estimators=20)[name], X, y)
    assert seconds > 0
    assert np.mean(model.predict(X) == y) > 0.95


def test_predict_scores_fixed_columns():
    X, y = separable_data()
    for model in make_baselines(n_estimators=10).values():
        model.fit(X, y)
        scores = predict_scores(model, X)
        assert scores.shape == (len(y), 12)
        # Columns follow class indices, so argmax recovers the labels.
        assert np.mean(scores.argmax(axis=1) == y) > 0.95
        assert np.isfinite(scores).all()


def test_subsampled_svc_keeps_every_class():
    X, y = separable_data(n_per_class=200)
    X = np.vstack([X, X[:1] + 10])
    y = np.append(y, 7)  # one row of a rare class
    model = SubsampledSVC(max_samples=100).fit(X, y)
    assert model.n_fit_rows_ <= 100 + 5
    assert 7 in model.classes_


def test_nystroem_handles_two_classes():
    X, y = separable_data(classes=(0, 1))
    model = NystroemSVM(n_components=50).fit(X, y)
    assert model.decision_function(X).shape == (len(y), 2)
    assert predict_scores(model, X).shape == (len(y), 12)


def test_random_forest_is_seeded():
    X, y = separable_data(seed=2)
    first = make_baselines(seed=5, n_estimators=10)["RF"].fit(X, y)
    second = make_baselines(seed=5, n_estimators=10)["RF"].fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
