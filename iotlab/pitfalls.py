"""Measurements that show where a near-perfect score on ACI-IoT-2023 comes from.

Random row-level splits of ACI-IoT-2023 give accuracies of 99.9 % and more,
and part of that score comes from shortcuts. Some columns name the host or
the capture time, each attack class falls on one capture day, identical
flows land on both sides of the split, and the rare classes are too small
to move the accuracy. The functions here measure each effect on whatever rows they are
given (the real file or the twin), so that a lesson prints numbers instead
of asserting them.

API summary
-----------
``column_kind(column) -> str``
    ``"identifier"``, ``"time"``, ``"link"`` or ``"behaviour"``.
``hide_classes(y_pred, hidden, replacement) -> ndarray``
    Predictions of a model that never outputs the ``hidden`` classes.
``held_out_permutation_importance(model, X, y, scoring="accuracy",
n_repeats=5, seed=0) -> DataFrame``
    Permutation importance on held-out rows, with each column's kind.
``leak_features(importances, top=10) -> list[str]``
    Identifier, time and link columns among the most important ones.
``shuffle_columns(X, columns, seed=0) -> DataFrame``
    One row permutation applied to a group of columns.
``duplicated_in_train(train, test, columns) -> ndarray``
``conflicting_in_train(train, test, y_train, y_test, columns) -> ndarray``
    Test rows with an identical training row (of any class, or of another
    class) in ``columns``.
``capture_day(flows) -> Series``, ``day_split_mask(flows, test_days) -> ndarray``
``time_split_mask(flows, test_size=0.2) -> ndarray``
    Splits by capture day, and by capture time within each class.
``split_table(y_train, y_test, y_pred) -> DataFrame``
    Training rows, test rows and recall per class of a split.
``compare_column_orders(build_model, X_train, y_train, X_test, y_test,
permutation, ...) -> dict``
    Train the same network on two column orders and compare the results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.base import BaseEstimator
from sklearn.inspection import permutation_importance

from iotlab import schema
from iotlab.preprocessing import CLASS_NAMES, encode_labels

logger = logging.getLogger(__name__)

#: Column kinds that describe who sent a flow or when, not what it did.
SHORTCUT_KINDS: tuple[str, ...] = ("identifier", "time", "link")


class PitfallError(ValueError):
    """An argument that a pitfall measurement cannot use."""


def column_kind(column: str) -> str:
    """Classify a column of the flow file by what it describes.

    Parameters
    ----------
    column : str
        A column name of ``iotlab.schema.COLUMN_NAMES``.

    Returns
    -------
    str
        - ``"identifier"``: Flow ID, the IPs and the ports, which name hosts.
        - ``"time"``: Timestamp and the Idle columns. Idle Mean, Max and Min
          hold capture times, not idle durations.
        - ``"link"``: Connection Type, a property of a host's network link.
        - ``"behaviour"``: every other column.
    """
    if column in schema.IDENTIFIER_COLUMNS:
        return "identifier"
    if column in schema.TIME_COLUMNS:
        return "time"
    if column == schema.CONNECTION_TYPE:
        return "link"
    return "behaviour"


def hide_classes(y_pred, hidden: Sequence, replacement) -> np.ndarray:
    """Turn predictions into those of a model that never outputs some classes.

    Every prediction of a class in ``hidden`` becomes ``replacement``, so the
    hidden classes get recall 0 and precision 0, whatever the original model
    did. Applied to a good model's predictions, it shows how little accuracy
    moves when rare classes are missed entirely.

    Parameters
    ----------
    y_pred : array-like
        Predicted classes (names or indices).
    hidden : sequence
        Classes the model never predicts, in the same form as ``y_pred``.
    replacement : object
        The class predicted instead; not one of ``hidden``.

    Returns
    -------
    numpy.ndarray
        A new array; ``y_pred`` is not modified.
    """
    hidden = list(hidden)
    if replacement in hidden:
        raise PitfallError(
            f"replacement {replacement!r} is one of the hidden classes {hidden}; "
            "pick a class the model still predicts, such as 'Benign'."
        )
    predictions = np.asarray(y_pred).copy()
    predictions[np.isin(predictions, hidden)] = replacement
    return predictions


class _Predictor(BaseEstimator):
    """Adapter that gives a prediction function the scikit-learn estimator API.

    ``sklearn.inspection.permutation_importance`` accepts only estimators with
    a ``fit`` method, though it never calls it. The adapter is no
    ``ClassifierMixin``, so scorers call ``predict`` without asking for
    ``classes_``.
    """

    def __init__(self, function: Callable | None = None):
        self.function = function

    def fit(self, X, y=None):
        """Do nothing: the wrapped function belongs to a fitted model."""
        return self

    def predict(self, X):
        """Return the wrapped function's predictions."""
        return self.function(X)


def held_out_permutation_importance(
    model,
    X: pd.DataFrame,
    y,
    scoring: str | Callable = "accuracy",
    n_repeats: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure permutation importance on held-out rows.

    Each column is shuffled across the rows in turn, ``n_repeats`` times,
    and the importance is the mean drop of the score. Unlike a random
    forest's impurity importance, which is computed on the training rows
    and favours columns with many distinct values (IPs, ports, capture
    times), it measures what the model relies on for rows it has not seen.

    Parameters
    ----------
    model : fitted classifier or callable
        A scikit-learn classifier, or a function from X to predicted classes.
        A Keras model predicts probabilities, so pass it as a function such
        as ``lambda X: model.predict(X, verbose=0).argmax(axis=1)``.
    X : pandas.DataFrame
        Held-out (test) rows, the columns the model was fitted on.
    y : array-like
        True classes of those rows, in the form that ``model`` predicts.
    scoring : str or callable, default "accuracy"
        A scikit-learn scorer name or a callable ``scorer(model, X, y)``.
    n_repeats : int, default 5
        Shuffles per column.
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        Indexed by column, sorted by ``importance_mean`` (largest first),
        with ``importance_mean``, ``importance_std`` and ``kind`` (see
        :func:`column_kind`).
    """
    if not isinstance(X, pd.DataFrame):
        raise PitfallError(
            f"X must be a DataFrame with column names, got {type(X).__name__}; "
            "pass the preprocessor's output."
        )
    if n_repeats < 1:
        raise PitfallError(f"n_repeats must be at least 1, got {n_repeats!r}.")
    if hasattr(model, "predict") and hasattr(model, "fit"):
        estimator = model
    elif hasattr(model, "predict"):
        estimator = _Predictor(model.predict)
    elif callable(model):
        estimator = _Predictor(model)
    else:
        raise PitfallError(
            f"model must be a fitted classifier or a function, got {type(model).__name__}."
        )
    result = permutation_importance(
        estimator,
        X,
        np.asarray(y),
        scoring=scoring,
        n_repeats=n_repeats,
        random_state=seed,
        n_jobs=1,
    )
    table = pd.DataFrame(
        {
            "importance_mean": result.importances_mean,
            "importance_std": result.importances_std,
            "kind": [column_kind(column) for column in X.columns],
        },
        index=pd.Index(X.columns, name="column"),
    )
    return table.sort_values("importance_mean", ascending=False, kind="stable")


def leak_features(
    importances: pd.DataFrame, top: int = 10, min_importance: float = 0.001
) -> list[str]:
    """List the identifier, time and link columns among the most important.

    Parameters
    ----------
    importances : pandas.DataFrame
        Output of :func:`held_out_permutation_importance`.
    top : int, default 10
        How many of the most important columns to look at.
    min_importance : float, default 0.001
        Smallest mean score drop that counts as a column the model uses. With
        accuracy as the score, 0.001 is one test row in a thousand; smaller
        drops are within the noise of a few thousand test rows.

    Returns
    -------
    list of str
        Columns of a shortcut kind (see ``SHORTCUT_KINDS``) among the ``top``
        most important ones whose importance reaches ``min_importance``, most
        important first.
    """
    missing = {"importance_mean", "kind"} - set(importances.columns)
    if missing:
        raise PitfallError(
            f"importances lacks the columns {sorted(missing)}; pass the output "
            "of held_out_permutation_importance."
        )
    head = importances.sort_values("importance_mean", ascending=False).head(top)
    used = head["importance_mean"] >= min_importance
    shortcut = head["kind"].isin(SHORTCUT_KINDS) & used
    return list(head.index[shortcut])


def shuffle_columns(X: pd.DataFrame, columns: Sequence[str], seed: int = 0):
    """Shuffle a group of columns across the rows with one permutation.

    The columns move together, so relations inside the group (Idle Min <=
    Idle Mean <= Idle Max) survive, but their link to the rest of the row and
    to the label is cut.

    Parameters
    ----------
    X : pandas.DataFrame
    columns : sequence of str
        Columns of ``X`` to shuffle.
    seed : int, default 0

    Returns
    -------
    pandas.DataFrame
        A copy of ``X`` with the same index and column order.
    """
    columns = list(columns)
    missing = [column for column in columns if column not in X.columns]
    if missing:
        raise PitfallError(f"X has no column(s) {missing}; shuffle existing columns.")
    shuffled = X.copy()
    order = np.random.default_rng(seed).permutation(len(X))
    shuffled[columns] = X[columns].to_numpy()[order]
    return shuffled


def _row_keys(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    # One 64-bit hash per row over the chosen columns; categorical columns are
    # hashed by value, so two frames with different category lists still agree.
    values = frame[columns].copy()
    for column in columns:
        if isinstance(values[column].dtype, pd.CategoricalDtype):
            values[column] = values[column].astype(str)
    return pd.util.hash_pandas_object(values, index=False).to_numpy()


def _check_columns(frames: dict[str, pd.DataFrame], columns: Sequence[str]) -> list:
    columns = list(columns)
    if not columns:
        raise PitfallError(
            "columns is empty; name the columns that define a duplicate."
        )
    for name, frame in frames.items():
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise PitfallError(f"{name} has no column(s) {missing[:5]}.")
    return columns


def duplicated_in_train(
    train: pd.DataFrame, test: pd.DataFrame, columns: Sequence[str]
) -> np.ndarray:
    """Find the test rows that equal some training row in ``columns``.

    A model can score such a row by memory rather than by generalising, so a
    test set full of them measures recall of the training rows.

    Parameters
    ----------
    train, test : pandas.DataFrame
        Rows of the two sides of a split, raw or preprocessed.
    columns : sequence of str
        Columns that define "the same row", for example
        ``iotlab.preprocessing.feature_columns("flow")``.

    Returns
    -------
    numpy.ndarray of bool
        One value per test row, in ``test``'s order.

    Notes
    -----
    Rows are compared by a 64-bit hash of their values, so two different
    rows match with a probability of about 1e-19 per pair.
    """
    columns = _check_columns({"train": train, "test": test}, columns)
    return np.isin(_row_keys(test, columns), _row_keys(train, columns))


def conflicting_in_train(
    train: pd.DataFrame,
    test: pd.DataFrame,
    y_train,
    y_test,
    columns: Sequence[str],
) -> np.ndarray:
    """Find the test rows that equal a training row of another class.

    No model that sees only ``columns`` can get all such rows right: the
    same input carries two labels.

    Parameters
    ----------
    train, test : pandas.DataFrame
    y_train, y_test : array-like
        Classes of the rows of ``train`` and ``test``.
    columns : sequence of str

    Returns
    -------
    numpy.ndarray of bool
        One value per test row, in ``test``'s order.
    """
    columns = _check_columns({"train": train, "test": test}, columns)
    if len(y_train) != len(train) or len(y_test) != len(test):
        raise PitfallError(
            f"train has {len(train)} rows and y_train {len(y_train)}, test has "
            f"{len(test)} rows and y_test {len(y_test)}; pass matching rows."
        )
    seen = pd.DataFrame(
        {"key": _row_keys(train, columns), "label": np.asarray(y_train)}
    ).drop_duplicates()
    queries = pd.DataFrame(
        {
            "key": _row_keys(test, columns),
            "label": np.asarray(y_test),
            "row": np.arange(len(test)),
        }
    )
    matches = queries.merge(seen, on="key", suffixes=("", "_train"))
    other = matches.loc[matches["label"] != matches["label_train"], "row"]
    conflicting = np.zeros(len(test), dtype=bool)
    conflicting[other.to_numpy()] = True
    return conflicting


def _timestamps(flows: pd.DataFrame) -> pd.Series:
    if schema.TIMESTAMP not in flows.columns:
        raise PitfallError(
            "flows has no Timestamp column; pass rows as iotlab.data.load_flows "
            "or iotlab.fetch.load_dataset returns them."
        )
    times = flows[schema.TIMESTAMP]
    if not pd.api.types.is_datetime64_any_dtype(times.dtype):
        raise PitfallError(
            f"Timestamp has dtype {times.dtype}, expected datetime64; load the "
            "rows with iotlab.data.load_flows, which parses all three formats."
        )
    if times.isna().any():
        raise PitfallError(
            f"Timestamp has {int(times.isna().sum())} missing value(s), but a "
            "split by time needs the capture time of every row."
        )
    return times


def capture_day(flows: pd.DataFrame) -> pd.Series:
    """Return each flow's capture day as a ``YYYY-MM-DD`` string.

    Parameters
    ----------
    flows : pandas.DataFrame
        Rows with the parsed ``Timestamp`` column (local time of the capture).

    Returns
    -------
    pandas.Series of str
        Same index as ``flows``.
    """
    return _timestamps(flows).dt.strftime("%Y-%m-%d").rename("day")


def day_split_mask(flows: pd.DataFrame, test_days: Sequence[str]) -> np.ndarray:
    """Mark the flows of some capture days as test rows.

    Parameters
    ----------
    flows : pandas.DataFrame
        Rows with a parsed ``Timestamp`` column.
    test_days : sequence of str
        Days (``YYYY-MM-DD``) whose flows form the test side.

    Returns
    -------
    numpy.ndarray of bool
        True for test rows.
    """
    days = capture_day(flows)
    test_days = [str(day) for day in test_days]
    unknown = sorted(set(test_days) - set(days))
    if unknown:
        raise PitfallError(
            f"No flows on {unknown}; the rows cover {sorted(set(days))}."
        )
    mask = days.isin(test_days).to_numpy()
    if mask.all():
        raise PitfallError(
            f"Every flow falls on {test_days}, so no training rows are left; "
            "hold out fewer days."
        )
    return mask


def time_split_mask(
    flows: pd.DataFrame, test_size: float = 0.2, label: str = schema.LABEL
) -> np.ndarray:
    """Mark the latest flows of every class as test rows.

    Within each class of n >= 2 rows, the n_test = round(n * test_size)
    flows captured last go to the test side, with n_test kept between 1 and
    n - 1. A class with one row stays in training. Every class is on both sides, as in a stratified split, but the model is
    tested on flows captured after those it learned from. Flows with the
    same Timestamp keep their order in ``flows``.

    Parameters
    ----------
    flows : pandas.DataFrame
        Rows with a parsed ``Timestamp`` column and a ``Label`` column.
    test_size : float, default 0.2
        Share of each class, in (0, 1).
    label : str, default "Label"

    Returns
    -------
    numpy.ndarray of bool
        True for test rows.
    """
    if not 0.0 < test_size < 1.0:
        raise PitfallError(f"test_size must lie in (0, 1), got {test_size!r}.")
    times = _timestamps(flows).to_numpy()
    labels = flows[label].astype(str).to_numpy()
    mask = np.zeros(len(flows), dtype=bool)
    for name in np.unique(labels):
        rows = np.flatnonzero(labels == name)
        if rows.size < 2:
            continue
        ordered = rows[np.argsort(times[rows], kind="stable")]
        n_test = min(max(int(np.floor(rows.size * test_size + 0.5)), 1), rows.size - 1)
        mask[ordered[rows.size - n_test :]] = True
    return mask


def split_table(y_train, y_test, y_pred) -> pd.DataFrame:
    """Tabulate, per class, its rows on each side of a split and its recall.

    Parameters
    ----------
    y_train, y_test : array-like
        Classes of the training and test rows (names or indices).
    y_pred : array-like
        Predictions for the test rows.

    Returns
    -------
    pandas.DataFrame
        Indexed by class name in ``CLASS_NAMES`` order, for every class with
        training or test rows, with columns ``train_rows``, ``test_rows`` and
        ``recall``. The recall is NaN for a class without test rows. It is 0
        by construction for a class without training rows, because the model
        cannot predict a class it never saw.
    """
    train = encode_labels(y_train)
    test = encode_labels(y_test)
    pred = encode_labels(y_pred)
    if test.size != pred.size:
        raise PitfallError(
            f"y_test has {test.size} rows but y_pred has {pred.size}; pass "
            "predictions for the test rows."
        )
    n_classes = len(CLASS_NAMES)
    train_rows = np.bincount(train, minlength=n_classes)
    test_rows = np.bincount(test, minlength=n_classes)
    hits = np.bincount(test[test == pred], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(test_rows > 0, hits / test_rows, np.nan)
    table = pd.DataFrame(
        {"train_rows": train_rows, "test_rows": test_rows, "recall": recall},
        index=pd.Index(CLASS_NAMES, name="class"),
    )
    return table[(table["train_rows"] > 0) | (table["test_rows"] > 0)]


def _first_dense_kernel(weights: list[np.ndarray], n_features: int) -> int:
    for index, array in enumerate(weights):
        if array.ndim == 2 and array.shape[0] == n_features:
            return index
    raise PitfallError(
        f"The model has no weight matrix with {n_features} rows, so its input "
        "weights cannot be permuted; use permute_first_kernel=False."
    )


def compare_column_orders(
    build_model: Callable,
    X_train,
    y_train,
    X_test,
    y_test,
    permutation,
    epochs: int = 1,
    batch_size: int = 256,
    seed: int = 0,
    permute_first_kernel: bool = False,
) -> dict:
    """Train one network on two column orders and compare the results.

    ``build_model(n_features)`` must return a fresh Keras model with the same
    initial weights on every call (seeded). The first model trains on the
    columns as given, the second on ``X[:, permutation]``, both with
    ``iotlab.models.train`` and the same seed, so the batches and dropout
    masks are the same.

    With ``permute_first_kernel=True`` the second model starts from the
    first model's initial weights with the rows of its input kernel
    reordered like the columns. For a network whose first layer is Dense,
    the two are then the same function at every step of training, so the
    predictions agree up to floating-point rounding. A convolution slides
    over neighbouring columns and has no such rearrangement: its result can
    depend on the column order.

    Parameters
    ----------
    build_model : callable
        ``build_model(n_features) -> keras.Model``.
    X_train, X_test : array-like of shape (n_rows, n_features)
    y_train, y_test : array-like of int
        Class indices.
    permutation : array-like of int
        A permutation of ``range(n_features)``.
    epochs, batch_size, seed : int
        Passed to ``iotlab.models.train``.
    permute_first_kernel : bool, default False

    Returns
    -------
    dict
        - ``"original"`` and ``"permuted"``: the ``accuracy`` and ``macro_f1``
          of each order.
        - ``"agreement"``: the share of test rows where the two models
          predict the same class.
        - ``"max_probability_difference"``: the largest absolute difference
          between their predicted class probabilities. It shows an effect of
          the order even when a briefly trained network predicts one class
          for every row.
    """
    from iotlab.models import train

    X_train = np.asarray(X_train, dtype=np.float32)
    X_test = np.asarray(X_test, dtype=np.float32)
    n_features = X_train.shape[1]
    permutation = np.asarray(permutation)
    if sorted(permutation.tolist()) != list(range(n_features)):
        raise PitfallError(
            f"permutation must reorder range({n_features}); got {permutation.size} "
            "values. Use numpy.random.default_rng(seed).permutation(n_features)."
        )
    original = build_model(n_features)
    initial = original.get_weights()
    permuted = build_model(n_features)
    if permute_first_kernel:
        weights = [array.copy() for array in initial]
        index = _first_dense_kernel(weights, n_features)
        weights[index] = weights[index][permutation]
        permuted.set_weights(weights)
    else:
        permuted.set_weights(initial)

    scores = {}
    probabilities = {}
    for name, model, columns in (
        ("original", original, np.arange(n_features)),
        ("permuted", permuted, permutation),
    ):
        train(
            model,
            X_train[:, columns],
            y_train,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            verbose=0,
        )
        # A direct call avoids tracing a new predict function per model.
        probabilities[name] = np.asarray(model(X_test[:, columns], training=False))
        predicted = probabilities[name].argmax(axis=1)
        scores[name] = {
            "accuracy": float(metrics.accuracy_score(y_test, predicted)),
            "macro_f1": float(
                metrics.f1_score(y_test, predicted, average="macro", zero_division=0)
            ),
        }
    original_classes = probabilities["original"].argmax(axis=1)
    permuted_classes = probabilities["permuted"].argmax(axis=1)
    agreement = float(np.mean(original_classes == permuted_classes))
    difference = np.abs(probabilities["original"] - probabilities["permuted"])
    logger.info("column-order check: agreement %.4f", agreement)
    return {
        **scores,
        "agreement": agreement,
        "max_probability_difference": float(difference.max()),
    }
