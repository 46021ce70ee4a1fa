"""Preprocessing steps for ACI-IoT-2023 flows, fitted on training rows only.

API summary
-----------
``FEATURE_SETS``
    Feature set name -> description. ``"paper"`` follows Reddy et al. 2025
    (doi:10.5281/zenodo.17376640): rate columns with inf/NaN and ``Timestamp``
    dropped, IPs and ports kept, categorical columns label-encoded.
    ``"flow"`` keeps behaviour only.
``feature_columns(name) -> list[str]``
    The input columns of a feature set, in file order.
``CLASS_NAMES``, ``encode_labels(y) -> ndarray``, ``decode_labels(codes)``
    Class indices fixed to the 12 labels of ``iotlab.schema.LABELS``, so that
    index 11 is ARP Spoofing in every sample, split and model.
``FlowCleaner``
    scikit-learn transformer: selects a feature set's columns, label-encodes
    text columns with categories learned on training rows, and replaces
    inf/NaN by values learned on training rows.
``make_preprocessor(feature_set="paper", clip=False) -> Pipeline``
    ``FlowCleaner`` followed by ``MinMaxScaler`` to [0, 1]; outputs DataFrames.
``stratified_split(X, y, test_size=0.2, seed=0)``
    Per-class random split that keeps at least one row of every class with two
    or more rows on each side, and warns (``SmallClassWarning``) about classes
    with a single row, which go to the training side.
``stratified_sample(df, n_rows, seed=0, min_per_class=5)``
    A class-proportional sample that keeps min(``min_per_class``, count) rows
    of every class.
``class_weights(y, mode="balanced", cap=None) -> dict[int, float]``
    w_i = N / (C * N_i), optionally square-rooted or capped.
``drop_duplicates(df, subset=None) -> (DataFrame, int)``
    Remove duplicate rows and report how many went.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.validation import check_is_fitted

from iotlab import schema

logger = logging.getLogger(__name__)

#: Class names in index order: ``CLASS_NAMES[i]`` is the class with index i.
CLASS_NAMES: tuple[str, ...] = schema.LABELS
N_CLASSES: int = len(CLASS_NAMES)
_CLASS_INDEX = {name: index for index, name in enumerate(CLASS_NAMES)}

#: Code that ``FlowCleaner`` gives a category it did not see in training rows.
UNKNOWN_CODE: int = -1

#: Feature set name -> what it keeps.
FEATURE_SETS: dict[str, str] = {
    "paper": (
        "The columns kept by Reddy et al. 2025: every column except Label, "
        "Timestamp, the rate columns Flow Bytes/s and Flow Packets/s (which "
        "hold inf/NaN) and Flow ID. IPs, ports and Connection Type are kept, "
        "the text columns label-encoded. Flow ID is dropped because it only "
        "concatenates the IPs, ports and protocol, which are already kept."
    ),
    "flow": (
        "Behaviour only: no Flow ID, IPs, ports, Timestamp, Idle columns "
        "(they hold the capture time), rate columns or Connection Type "
        "(a property of the host's link, so a host shortcut). Protocol stays."
    ),
}


class SmallClassWarning(UserWarning):
    """A class has too few rows to appear on both sides of a split."""


class FeatureSetError(ValueError):
    """An unknown feature set name or a frame that lacks its columns."""


class LabelError(ValueError):
    """A label that is not one of the 12 ACI-IoT-2023 classes."""


def feature_columns(name: str = "paper") -> list[str]:
    """Return the input columns of a feature set, in file order.

    Parameters
    ----------
    name : {"paper", "flow"}
        Feature set; see ``FEATURE_SETS``.

    Returns
    -------
    list of str
        Column names of ``iotlab.schema.COLUMN_NAMES`` that the set keeps.
    """
    if name == "paper":
        dropped = {schema.LABEL, schema.TIMESTAMP, "Flow ID", *schema.RATE_COLUMNS}
    elif name == "flow":
        dropped = {
            schema.LABEL,
            schema.CONNECTION_TYPE,
            *schema.IDENTIFIER_COLUMNS,
            *schema.TIME_COLUMNS,
            *schema.RATE_COLUMNS,
        }
    else:
        raise FeatureSetError(
            f"Unknown feature set {name!r}; use one of {sorted(FEATURE_SETS)}."
        )
    return [column for column in schema.COLUMN_NAMES if column not in dropped]


def encode_labels(y) -> np.ndarray:
    """Map class names to their fixed indices in ``CLASS_NAMES``.

    Parameters
    ----------
    y : array-like of str, categorical, or of int
        Class names (a ``Label`` column), or class indices, which are checked
        and returned unchanged.

    Returns
    -------
    numpy.ndarray of int64
        Class indices, 0 (Port Scan) to 11 (ARP Spoofing).

    Raises
    ------
    LabelError
        If a name is not one of the 12 classes or an index is out of range.
    """
    values = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    if pd.api.types.is_integer_dtype(values.dtype):
        codes = values.to_numpy(dtype=np.int64)
        bad = codes[(codes < 0) | (codes >= N_CLASSES)]
        if bad.size:
            raise LabelError(
                f"Class index {int(bad[0])} is out of range; indices run from 0 "
                f"to {N_CLASSES - 1} in the order of iotlab.schema.LABELS."
            )
        return codes
    names = values.astype(object)
    codes = names.map(_CLASS_INDEX)
    missing = names[codes.isna()]
    if len(missing):
        unknown = sorted({str(value) for value in missing})[:5]
        raise LabelError(
            f"Unknown class label(s) {unknown}; expected one of {list(CLASS_NAMES)}."
            " Check that the Label column comes from ACI-IoT-2023.csv."
        )
    return codes.to_numpy(dtype=np.int64)


def decode_labels(codes) -> np.ndarray:
    """Map class indices back to class names.

    Parameters
    ----------
    codes : array-like of int
        Class indices from ``encode_labels``.

    Returns
    -------
    numpy.ndarray of str
    """
    codes = encode_labels(np.asarray(codes, dtype=np.int64))
    return np.asarray(CLASS_NAMES, dtype=object)[codes]


class FlowCleaner(TransformerMixin, BaseEstimator):
    """Select a feature set's columns and turn them into finite numbers.

    Fitted on training rows only. Per text column it learns the sorted set of
    categories, coded 0 to K-1, and codes a missing value or a category first
    seen later as ``UNKNOWN_CODE``. Per numeric column it learns the finite
    minimum, maximum and median, which replace -inf, +inf and NaN.

    .. warning::
       Fit it on the training rows of a split, never on the whole frame:
       otherwise categories and replacement values leak from the test rows.

    Parameters
    ----------
    feature_set : {"paper", "flow"}
        Which columns to keep; see ``FEATURE_SETS``.
    columns : list of str, optional
        Explicit column list that overrides ``feature_set``.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Columns of the frame seen in ``fit``.
    columns_ : list of str
        Columns kept, in order; also the output's column names.
    categories_ : dict of str to ndarray
        Text column -> categories seen in training rows, in code order.
    fill_values_ : dict of str to (float, float, float)
        Numeric column -> (value for -inf, value for +inf, value for NaN).
    n_replaced_ : int
        Non-finite values replaced in the last ``fit`` or ``transform`` call.
    """

    def __init__(
        self, feature_set: str = "paper", columns: Sequence[str] | None = None
    ):
        self.feature_set = feature_set
        self.columns = columns

    def _selected_columns(self) -> list[str]:
        if self.columns is not None:
            return list(self.columns)
        return feature_columns(self.feature_set)

    def _check_frame(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise FeatureSetError(
                f"FlowCleaner needs a pandas DataFrame with named columns, got "
                f"{type(X).__name__}; load flows with iotlab.data.load_flows."
            )
        return X

    def fit(self, X: pd.DataFrame, y=None) -> FlowCleaner:
        """Learn categories and inf/NaN replacements from training rows.

        Parameters
        ----------
        X : pandas.DataFrame
            Training rows with at least the feature set's columns.
        y : ignored

        Returns
        -------
        self
        """
        X = self._check_frame(X)
        columns = self._selected_columns()
        missing = [column for column in columns if column not in X.columns]
        if missing:
            raise FeatureSetError(
                f"The frame lacks {len(missing)} column(s) of feature set "
                f"{self.feature_set!r}: {missing[:5]}. Load it with "
                "iotlab.data.load_flows so that it has all 85 columns."
            )
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        self.columns_ = columns
        self.categories_ = {}
        self.fill_values_ = {}
        for column in columns:
            values = X[column]
            if _is_text(values):
                categories = pd.unique(values.dropna().astype(str))
                self.categories_[column] = np.sort(np.asarray(categories, dtype=object))
            else:
                numbers = values.to_numpy(dtype=np.float64)
                finite = numbers[np.isfinite(numbers)]
                if finite.size == 0:
                    self.fill_values_[column] = (0.0, 0.0, 0.0)
                else:
                    self.fill_values_[column] = (
                        float(finite.min()),
                        float(finite.max()),
                        float(np.median(finite)),
                    )
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Return the kept columns as finite float64 values.

        Parameters
        ----------
        X : pandas.DataFrame
            Rows with at least the columns seen in ``fit``.

        Returns
        -------
        pandas.DataFrame
            One float64 column per kept column, index preserved, in a new
            array on every call (``make_preprocessor``'s scaler overwrites it).
        """
        check_is_fitted(self, "columns_")
        X = self._check_frame(X)
        missing = [column for column in self.columns_ if column not in X.columns]
        if missing:
            raise FeatureSetError(
                f"The frame lacks column(s) seen in fit: {missing[:5]}."
            )
        # Each column is written into one preallocated array, which the frame
        # wraps without a copy. Building the frame from a dict of columns
        # would keep every value in memory twice while pandas consolidates them.
        # Fortran order keeps each column contiguous.
        output = np.empty((len(X), len(self.columns_)), dtype=np.float64, order="F")
        replaced = 0
        for position, column in enumerate(self.columns_):
            values = X[column]
            numbers = output[:, position]
            if column in self.categories_:
                categories = pd.Index(self.categories_[column])
                text = values.astype(object).where(values.notna(), None)
                # get_indexer gives -1 to missing values and unseen categories.
                codes = categories.get_indexer(
                    [None if value is None else str(value) for value in text]
                )
                numbers[:] = codes
                numbers[codes < 0] = float(UNKNOWN_CODE)
            else:
                if _is_text(values):
                    raise FeatureSetError(
                        f"Column {column!r} was numeric in fit but contains text now; "
                        "load both frames the same way."
                    )
                numbers[:] = values.to_numpy(dtype=np.float64, na_value=np.nan)
                low, high, middle = self.fill_values_[column]
                bad = ~np.isfinite(numbers)
                if bad.any():
                    replaced += int(bad.sum())
                    numbers[np.isneginf(numbers)] = low
                    numbers[np.isposinf(numbers)] = high
                    numbers[np.isnan(numbers)] = middle
        self.n_replaced_ = replaced
        if replaced:
            logger.info("FlowCleaner replaced %d inf/NaN value(s).", replaced)
        return pd.DataFrame(output, index=X.index, columns=self.columns_, copy=False)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Return the output column names (the kept columns)."""
        check_is_fitted(self, "columns_")
        return np.asarray(self.columns_, dtype=object)


def _is_text(values: pd.Series) -> bool:
    # pandas 3 reads text as the `str` dtype, so `dtype == object` misses it.
    return not (
        pd.api.types.is_numeric_dtype(values.dtype)
        or pd.api.types.is_bool_dtype(values.dtype)
        or pd.api.types.is_datetime64_any_dtype(values.dtype)
    )


def make_preprocessor(feature_set: str = "paper", clip: bool = False) -> Pipeline:
    """Build the ``FlowCleaner`` + ``MinMaxScaler`` pipeline of a feature set.

    Parameters
    ----------
    feature_set : {"paper", "flow"}
        Columns to keep; see ``FEATURE_SETS``.
    clip : bool, default False
        Clip transformed test values to [0, 1]. Without clipping, a test value
        beyond the training range maps outside [0, 1].

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``clean`` and ``scale``; ``transform`` returns a DataFrame.
        The scale step is ``MinMaxScaler(copy=False)``: it scales the frame
        that ``FlowCleaner`` has just built in place, so the pipeline keeps
        one float64 copy of the rows in memory instead of two. The pipeline's input is
        never changed. But ``named_steps["scale"].transform(frame)`` called
        on its own overwrites ``frame``.

    .. warning::
       Fit it on training rows only (``fit_transform(X_train)``, then
       ``transform(X_test)``). A scaler fitted before the split learns the
       test rows' minimum and maximum.
    """
    feature_columns(feature_set)  # rejects unknown names early
    pipeline = Pipeline(
        [
            ("clean", FlowCleaner(feature_set=feature_set)),
            ("scale", MinMaxScaler(clip=clip, copy=False)),
        ]
    )
    return pipeline.set_output(transform="pandas")


def _class_codes_for_split(y) -> np.ndarray:
    codes, _ = pd.factorize(pd.Series(np.asarray(y, dtype=object)), sort=True)
    return codes


def stratified_split(X, y, test_size: float = 0.2, seed: int = 0):
    """Split rows at random, class by class, into training and test rows.

    Each class with n >= 2 rows puts round(n * test_size) rows on the test
    side, but at least one and at most n - 1, so that every such class is
    seen in training and tested. A class with a single row cannot be on both
    sides: it goes to the training side with a ``SmallClassWarning``.

    Parameters
    ----------
    X : pandas.DataFrame or numpy.ndarray
        Rows to split.
    y : array-like
        Class of each row (names or indices).
    test_size : float, default 0.2
        Share of each class that goes to the test side, in (0, 1).
    seed : int, default 0
        Seed of the random permutation.

    Returns
    -------
    X_train, X_test, y_train, y_test
        The same types as the inputs, rows in random order; DataFrames and
        Series keep their index.
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size!r}.")
    n_rows = len(y)
    if len(X) != n_rows:
        raise ValueError(f"X has {len(X)} rows but y has {n_rows}; pass matching rows.")
    codes = _class_codes_for_split(y)
    labels = np.asarray(y.to_numpy() if isinstance(y, pd.Series) else y)
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        rows = rng.permutation(rows)
        n_class = rows.size
        if n_class == 1:
            warnings.warn(
                f"Class {_class_name(labels[rows[0]])} has a single row, which "
                "cannot be on both sides of a split. It goes to the training side, "
                "so the held-out (test or validation) side has none of it. Use "
                "more rows of this class to evaluate it.",
                SmallClassWarning,
                stacklevel=2,
            )
            train_parts.append(rows)
            continue
        n_test = min(max(math.floor(n_class * test_size + 0.5), 1), n_class - 1)
        test_parts.append(rows[:n_test])
        train_parts.append(rows[n_test:])
    train_rows = rng.permutation(np.concatenate(train_parts))
    test_rows = rng.permutation(
        np.concatenate(test_parts) if test_parts else np.array([], dtype=np.int64)
    )
    return (
        _take(X, train_rows),
        _take(X, test_rows),
        _take(y, train_rows),
        _take(y, test_rows),
    )


def _class_name(value) -> str:
    if isinstance(value, (int, np.integer)) and 0 <= value < N_CLASSES:
        return f"{CLASS_NAMES[value]!r} (index {int(value)})"
    return repr(str(value))


def _take(data, rows: np.ndarray):
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.iloc[rows]
    return np.asarray(data)[rows]


def stratified_sample(
    df: pd.DataFrame,
    n_rows: int,
    seed: int = 0,
    min_per_class: int = 5,
    label: str = schema.LABEL,
) -> pd.DataFrame:
    """Draw about ``n_rows`` rows in class proportion, keeping rare classes.

    Every class keeps at least min(``min_per_class``, its count) rows, so a
    sample still contains ARP Spoofing. The remaining rows are allocated in
    proportion to the class counts (largest remainders).

    Parameters
    ----------
    df : pandas.DataFrame
        Flows with a ``Label`` column.
    n_rows : int
        Rows wanted. If ``df`` has no more rows than this, it is returned whole.
    seed : int, default 0
    min_per_class : int, default 5
    label : str, default "Label"

    Returns
    -------
    pandas.DataFrame
        The sampled rows in their original order, ``attrs`` kept.
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows!r}.")
    if len(df) <= n_rows:
        return df
    counts = df[label].value_counts(sort=False)
    counts = counts[counts > 0]
    floor = np.minimum(counts.to_numpy(), min_per_class)
    budget = max(n_rows - int(floor.sum()), 0)
    extra_total = counts.to_numpy() - floor
    share = extra_total / max(extra_total.sum(), 1) * budget
    extra = np.floor(share).astype(int)
    remainder = budget - int(extra.sum())
    if remainder > 0:
        order = np.argsort(-(share - extra), kind="stable")
        for index in order[:remainder]:
            if extra[index] < extra_total[index]:
                extra[index] += 1
    take = dict(zip(counts.index, floor + np.minimum(extra, extra_total)))
    rng = np.random.default_rng(seed)
    chosen = []
    positions = np.arange(len(df))
    labels = df[label].to_numpy()
    for name, n_take in take.items():
        rows = positions[labels == name]
        chosen.append(rng.choice(rows, size=int(n_take), replace=False))
    sample = df.iloc[np.sort(np.concatenate(chosen))]
    sample.attrs = dict(df.attrs)
    return sample


def class_weights(
    y, mode: str = "balanced", cap: float | None = None
) -> dict[int, float]:
    """Compute class weights w_i = N / (C * N_i) for the classes present in ``y``.

    N is the number of rows, C the number of classes present and N_i the rows
    of class i, as in the weighted cross-entropy of Reddy et al. 2025. On the
    full file the weights span about 88,000x (ARP Spoofing about 2.05e4, Port
    Scan about 0.23), which is why ``mode="sqrt"`` and ``cap`` exist.

    Parameters
    ----------
    y : array-like
        Class names or class indices of the training rows.
    mode : {"balanced", "sqrt"}, default "balanced"
        ``"sqrt"`` takes the square root of each balanced weight.
    cap : float, optional
        Upper bound applied after ``mode``.

    Returns
    -------
    dict of int to float
        Class index (as in ``CLASS_NAMES``) -> weight, present classes only.
    """
    if mode not in {"balanced", "sqrt"}:
        raise ValueError(f"mode must be 'balanced' or 'sqrt', got {mode!r}.")
    if cap is not None and not cap > 0:
        raise ValueError(f"cap must be a positive number or None, got {cap!r}.")
    codes = encode_labels(y)
    if codes.size == 0:
        raise ValueError("y is empty; class weights need at least one row.")
    present, counts = np.unique(codes, return_counts=True)
    n_rows = codes.size
    weights = n_rows / (present.size * counts.astype(np.float64))
    if mode == "sqrt":
        weights = np.sqrt(weights)
    if cap is not None:
        weights = np.minimum(weights, cap)
    return {int(code): float(weight) for code, weight in zip(present, weights)}


def drop_duplicates(
    df: pd.DataFrame, subset: Sequence[str] | None = None
) -> tuple[pd.DataFrame, int]:
    """Remove duplicate rows, keeping the first, and report how many went.

    Parameters
    ----------
    df : pandas.DataFrame
    subset : list of str, optional
        Columns that define a duplicate; all columns by default. Pass
        ``feature_columns(name) + ["Label"]`` to remove rows that a model
        cannot tell apart.

    Returns
    -------
    (pandas.DataFrame, int)
        The frame without duplicates (``attrs`` kept) and the number removed.
    """
    if subset is not None:
        missing = [column for column in subset if column not in df.columns]
        if missing:
            raise ValueError(f"subset names columns not in the frame: {missing[:5]}.")
    kept = df.drop_duplicates(subset=None if subset is None else list(subset))
    kept.attrs = dict(df.attrs)
    removed = len(df) - len(kept)
    logger.info("Removed %d duplicate row(s) of %d.", removed, len(df))
    return kept, removed


def subsample_rows(y, n_rows: int, seed: int = 0) -> np.ndarray:
    """Pick about ``n_rows`` row positions in class proportion.

    Every class keeps at least one row, so the result can exceed ``n_rows`` by
    up to the number of classes.

    Parameters
    ----------
    y : array-like
        Class of each row.
    n_rows : int
        Rows wanted.
    seed : int, default 0

    Returns
    -------
    ndarray of int
        Sorted row positions into ``y``.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    _classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    share = n_rows / len(y)
    chosen = []
    for code, count in enumerate(counts):
        rows = np.flatnonzero(codes == code)
        n_take = min(count, max(1, round(count * share)))
        chosen.append(rng.choice(rows, size=n_take, replace=False))
    return np.sort(np.concatenate(chosen))
