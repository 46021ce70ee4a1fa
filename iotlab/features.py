"""Feature selection fitted on training rows: correlation filter and RFE.

Reddy et al. 2025 (doi:10.5281/zenodo.17376640) apply recursive feature
elimination and a Pearson correlation filter (|r| > 0.9) jointly. Both steps
here are scikit-learn transformers, so they sit in a ``Pipeline`` after the
scaler and are fitted on training rows only.

API summary
-----------
``CorrelationFilter(threshold=0.9, min_features=None)``
    Drops constant columns (reported in ``constant_``) and one column of each
    pair with |r| > threshold (``dropped_``, with the kept partner in
    ``partner_``); ``kept_`` and ``get_feature_names_out`` list what stays.
``RFESelector(n_features_to_select=20, step=0.2, estimator=None,
max_samples=50_000, seed=0)``
    sklearn ``RFE`` with a fast tree estimator, a fractional step and an
    optional stratified subsample of the training rows; ``removed_`` and
    ``kept_`` list the columns.
``make_feature_pipeline(feature_set="paper", threshold=0.9, n_features=20,
seed=0) -> Pipeline``
    clean -> scale -> correlation filter -> RFE, outputting DataFrames, never
    fewer than ``MIN_CONV_FEATURES`` columns unless the input has fewer.
``MIN_CONV_FEATURES = 10`` and ``check_conv_features(n_features)``
    The convolutional models need at least 10 input features; fewer raises
    ``TooFewFeaturesError``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.feature_selection import RFE
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

from iotlab.preprocessing import make_preprocessor, subsample_rows

logger = logging.getLogger(__name__)

# Rows that CorrelationFilter centers at a time to sum cross-products.
# A block of 80 float64 columns takes 40 MiB.
_CORRELATION_BLOCK_ROWS: int = 65_536

#: Minimum number of input features for the two Conv1D(k=3) + MaxPool(2)
#: blocks of Table 2. They leave floor((floor((F - 2) / 2) - 2) / 2) steps,
#: which is 0 for F < 10.
MIN_CONV_FEATURES: int = 10


class TooFewFeaturesError(ValueError):
    """Fewer features remain than a convolutional model needs."""


def check_conv_features(n_features: int) -> int:
    """Raise ``TooFewFeaturesError`` unless ``n_features`` >= ``MIN_CONV_FEATURES``.

    Parameters
    ----------
    n_features : int
        Number of input features for a convolutional model.

    Returns
    -------
    int
        ``n_features``, unchanged.
    """
    if n_features < MIN_CONV_FEATURES:
        raise TooFewFeaturesError(
            f"{n_features} feature(s) remain, but the two Conv1D(kernel 3) + "
            f"MaxPool(2) blocks need at least {MIN_CONV_FEATURES}. Select more "
            "features (a higher RFE n_features_to_select or a higher correlation "
            "threshold) or pass min_features to CorrelationFilter."
        )
    return n_features


def _as_array_and_names(X) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(X, pd.DataFrame):
        names = np.asarray(X.columns.astype(str), dtype=object)
        values = X.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(X, dtype=np.float64)
        if values.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {values.shape}.")
        names = np.asarray([f"x{i}" for i in range(values.shape[1])], dtype=object)
    return values, names


def _all_finite(values: np.ndarray) -> bool:
    # A sum is finite only if every term is finite. The full check allocates
    # a boolean array of the values' shape, so it runs only when the sum is
    # inf or NaN, which large finite values can also cause by overflowing.
    with np.errstate(over="ignore", invalid="ignore"):
        total = values.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(values).all())


def _pearson_columns(
    values: np.ndarray, columns: np.ndarray, block_rows: int = _CORRELATION_BLOCK_ROWS
) -> np.ndarray:
    """Return the Pearson r between the given columns of ``values``.

    Follows ``np.corrcoef(values[:, columns], rowvar=False)`` (NumPy 2.4)
    step by step: center each column on its mean, sum the cross-products,
    multiply by 1 / (rows - 1), divide by the standard deviations and clip
    to [-1, 1]. But ``np.corrcoef`` centers a copy of all the columns, and
    this function centers one block of ``block_rows`` rows at a time, so it
    holds a block instead of a copy of the training rows. On one block the
    result equals ``np.corrcoef``'s bit for bit. On more blocks the sums
    are added in another order, which can change the last bits.
    """
    n_rows = values.shape[0]
    means = np.array([values[:, column].mean() for column in columns])
    cross_products = None
    for start in range(0, n_rows, block_rows):
        block = values[start : start + block_rows][:, columns]
        block -= means
        block_products = np.dot(block.T, block)
        if cross_products is None:
            cross_products = block_products
        else:
            cross_products += block_products
    correlation = cross_products
    correlation *= np.true_divide(1, n_rows - 1)
    stddev = np.sqrt(np.diag(correlation))
    correlation /= stddev[:, None]
    correlation /= stddev[None, :]
    np.clip(correlation, -1, 1, out=correlation)
    return correlation


def _select(X, mask: np.ndarray, n_fitted: int):
    n_columns = np.shape(X)[1]
    if n_columns != n_fitted:
        raise ValueError(
            f"X has {n_columns} columns but the step was fitted on {n_fitted}; "
            "transform rows with the columns used in fit."
        )
    if isinstance(X, pd.DataFrame):
        return X.iloc[:, np.flatnonzero(mask)]
    return np.asarray(X)[:, mask]


class CorrelationFilter(TransformerMixin, BaseEstimator):
    """Drop constant columns and one column of each highly correlated pair.

    Columns are visited in input order. A column is dropped when it is
    constant on the training rows, or when its |Pearson r| with a column
    already kept exceeds ``threshold``. So no two kept columns exceed the
    threshold, and each dropped column has a kept partner. Constant columns
    have no defined correlation (the formula divides by a zero standard
    deviation), so they are detected and reported explicitly in ``constant_``.

    Parameters
    ----------
    threshold : float, default 0.9
        Largest |r| allowed between two kept columns.
    min_features : int, optional
        If fewer columns would remain, dropped columns come back, least
        correlated first and constant columns last, until this many remain.

    Attributes
    ----------
    constant_ : list of str
        Columns constant on the training rows.
    dropped_ : list of str
        Columns dropped for correlation (not including ``constant_``).
    partner_ : dict of str to (str, float)
        Dropped column -> (the kept column it correlates with, that r).
    kept_ : list of str
        Columns that remain, in input order.
    correlation_ : pandas.DataFrame
        Pearson r between the non-constant training columns.
    """

    def __init__(self, threshold: float = 0.9, min_features: int | None = None):
        self.threshold = threshold
        self.min_features = min_features

    def fit(self, X, y=None) -> CorrelationFilter:
        """Learn which columns to keep from training rows.

        Parameters
        ----------
        X : pandas.DataFrame or ndarray of shape (n_rows, n_features)
            Finite training values.
        y : ignored

        Returns
        -------
        self
        """
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {self.threshold!r}.")
        values, names = _as_array_and_names(X)
        if not _all_finite(values):
            raise ValueError(
                "X contains inf or NaN; clean it first "
                "(iotlab.preprocessing.FlowCleaner)."
            )
        self.feature_names_in_ = names
        self.n_features_in_ = values.shape[1]

        spread = values.max(axis=0) - values.min(axis=0) if len(values) else None
        is_constant = (
            np.ones(values.shape[1], dtype=bool) if spread is None else spread == 0
        )
        self.constant_ = list(names[is_constant])
        varying = np.flatnonzero(~is_constant)
        if varying.size >= 2:
            correlation = _pearson_columns(values, varying)
            # Rounding can make r[i, j] and r[j, i] differ in the last bit.
            correlation = (correlation + correlation.T) / 2
        else:
            correlation = np.ones((varying.size, varying.size))
        self.correlation_ = pd.DataFrame(
            correlation, index=names[varying], columns=names[varying]
        )

        keep = np.zeros(values.shape[1], dtype=bool)
        kept_positions: list[int] = []  # positions within `varying`
        self.partner_ = {}
        for position, column in enumerate(varying):
            if kept_positions:
                r_with_kept = correlation[position, kept_positions]
                strongest = int(np.argmax(np.abs(r_with_kept)))
                if abs(r_with_kept[strongest]) > self.threshold:
                    partner = names[varying[kept_positions[strongest]]]
                    self.partner_[names[column]] = (
                        partner,
                        float(r_with_kept[strongest]),
                    )
                    continue
            keep[column] = True
            kept_positions.append(position)

        if self.min_features is not None and keep.sum() < self.min_features:
            self._restore(keep, names, is_constant)
        self.dropped_ = [
            name for name in names[~keep & ~is_constant] if name in self.partner_
        ]
        self.constant_ = list(names[~keep & is_constant])
        self.support_ = keep
        self.kept_ = list(names[keep])
        logger.info(
            "CorrelationFilter kept %d of %d columns (%d constant, %d with |r| > %s).",
            len(self.kept_),
            len(names),
            len(self.constant_),
            len(self.dropped_),
            self.threshold,
        )
        return self

    def _restore(self, keep: np.ndarray, names: np.ndarray, is_constant: np.ndarray):
        by_correlation = sorted(
            (abs(r), name) for name, (_, r) in self.partner_.items()
        )
        order = [name for _, name in by_correlation] + list(names[is_constant])
        position_of = {name: index for index, name in enumerate(names)}
        for name in order:
            if keep.sum() >= self.min_features:
                break
            keep[position_of[name]] = True
            self.partner_.pop(name, None)
            logger.warning(
                "CorrelationFilter keeps %r although it is constant or correlated, "
                "so that at least %d columns remain.",
                name,
                self.min_features,
            )

    def transform(self, X):
        """Return the kept columns (same type as ``X``)."""
        check_is_fitted(self, "support_")
        return _select(X, self.support_, self.n_features_in_)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the names of the kept columns."""
        check_is_fitted(self, "support_")
        return np.asarray(self.kept_, dtype=object)


class RFESelector(TransformerMixin, BaseEstimator):
    """Recursive feature elimination with a fast tree and a fractional step.

    Wraps ``sklearn.feature_selection.RFE``. By default the estimator is a
    seeded ``DecisionTreeClassifier`` (its impurity importances rank the
    features) refitted on a stratified subsample of at most ``max_samples``
    training rows, which keeps RFE to seconds on a million rows.

    Parameters
    ----------
    n_features_to_select : int or float, default 20
        Features to keep (an int), or a share of the input features (a float
        in (0, 1)). If the input has fewer features, all are kept.
    step : int or float, default 0.2
        Features removed per round: a count, or a share of the remaining ones.
    estimator : classifier, optional
        Any classifier with ``feature_importances_`` or ``coef_``; a
        ``DecisionTreeClassifier(random_state=seed)`` by default.
    max_samples : int or None, default 50_000
        Fit on a class-stratified subsample of this many training rows; None
        uses every row.
    seed : int, default 0

    Attributes
    ----------
    rfe_ : sklearn.feature_selection.RFE
        The fitted RFE.
    support_ : ndarray of bool
    ranking_ : ndarray of int
        1 for kept features; higher ranks were removed earlier.
    kept_ : list of str
    removed_ : list of str
        Removed features, the first removed first.
    """

    def __init__(
        self,
        n_features_to_select: float = 20,
        step: float = 0.2,
        estimator=None,
        max_samples: int | None = 50_000,
        seed: int = 0,
    ):
        self.n_features_to_select = n_features_to_select
        self.step = step
        self.estimator = estimator
        self.max_samples = max_samples
        self.seed = seed

    def fit(self, X, y) -> RFESelector:
        """Rank and select features on training rows.

        Parameters
        ----------
        X : pandas.DataFrame or ndarray
            Training features.
        y : array-like
            Training classes.

        Returns
        -------
        self
        """
        values, names = _as_array_and_names(X)
        y = np.asarray(y)
        self.feature_names_in_ = names
        self.n_features_in_ = values.shape[1]
        n_select = self.n_features_to_select
        if isinstance(n_select, float) and 0 < n_select < 1:
            n_select = max(1, round(n_select * values.shape[1]))
        n_select = int(n_select)
        if n_select < 1:
            raise ValueError(
                f"n_features_to_select must be positive, got {self.n_features_to_select!r}."
            )
        n_select = min(n_select, values.shape[1])

        if self.max_samples is not None and len(values) > self.max_samples:
            rows = subsample_rows(y, self.max_samples, self.seed)
            values, y = values[rows], y[rows]
        estimator = (
            DecisionTreeClassifier(random_state=self.seed)
            if self.estimator is None
            else clone(self.estimator)
        )
        self.rfe_ = RFE(estimator, n_features_to_select=n_select, step=self.step)
        self.rfe_.fit(values, y)
        self.support_ = self.rfe_.support_
        self.ranking_ = self.rfe_.ranking_
        self.kept_ = list(names[self.support_])
        order = np.argsort(-self.ranking_, kind="stable")
        self.removed_ = [names[i] for i in order if not self.support_[i]]
        logger.info(
            "RFE kept %d of %d features; removed %s.",
            len(self.kept_),
            len(names),
            self.removed_,
        )
        return self

    def transform(self, X):
        """Return the selected columns (same type as ``X``)."""
        check_is_fitted(self, "support_")
        return _select(X, self.support_, self.n_features_in_)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the names of the selected features."""
        check_is_fitted(self, "support_")
        return np.asarray(self.kept_, dtype=object)


def make_feature_pipeline(
    feature_set: str = "paper",
    threshold: float = 0.9,
    n_features: int = 20,
    seed: int = 0,
    rfe_max_samples: int | None = 50_000,
    clip: bool = False,
) -> Pipeline:
    """Build the whole feature pipeline: clean, scale, correlation filter, RFE.

    Fit it on training rows only (``fit(X_train, y_train)``). The correlation
    filter and RFE keep at least ``MIN_CONV_FEATURES`` columns, so the result
    feeds the convolutional models, unless the feature set itself has fewer
    varying columns.

    Parameters
    ----------
    feature_set : {"paper", "flow"}
        See ``iotlab.preprocessing.FEATURE_SETS``.
    threshold : float, default 0.9
        |r| above which the correlation filter drops a column.
    n_features : int, default 20
        Columns RFE keeps (raised to ``MIN_CONV_FEATURES`` if lower).
    seed : int, default 0
    rfe_max_samples : int or None, default 50_000
        Training rows RFE is fitted on (a stratified subsample).
    clip : bool, default False
        Clip scaled test values to [0, 1].

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``clean``, ``scale``, ``correlation``, ``rfe``; ``transform``
        returns a DataFrame of the selected columns.
    """
    preprocessor = make_preprocessor(feature_set, clip=clip)
    steps = [
        *preprocessor.steps,
        (
            "correlation",
            CorrelationFilter(threshold=threshold, min_features=MIN_CONV_FEATURES),
        ),
        (
            "rfe",
            RFESelector(
                n_features_to_select=max(n_features, MIN_CONV_FEATURES),
                max_samples=rfe_max_samples,
                seed=seed,
            ),
        ),
    ]
    return Pipeline(steps).set_output(transform="pandas")
