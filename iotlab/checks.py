"""Feedback a student can run on an exercise before submitting a lesson.

Each lesson ends its exercises with a call such as::

    from iotlab import checks
    checks.check("02", "class_weights", class_weights)

The check calls the student's function on small made-up inputs whose results
are known, and prints one line that starts with ``PASS``, ``FAIL`` or
``TODO`` (the exercise still raises ``NotImplementedError``). A failure names
the input and what went wrong, followed by a hint that points at the idea
without giving the code. The graded test cells of the lesson are separate:
these checks are feedback, not the grade.

``available_checks()`` lists the exercises that have a check.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Result labels printed at the start of a check's output.
PASS, FAIL, TODO = "PASS", "FAIL", "TODO"


class UnknownCheckError(ValueError):
    """A lesson or exercise name that has no check."""


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: ``status`` is ``"PASS"``, ``"FAIL"`` or ``"TODO"``."""

    lesson: str
    exercise: str
    status: str
    problems: tuple[str, ...] = ()
    hint: str = ""

    @property
    def passed(self) -> bool:
        """True when every check of the exercise passed."""
        return self.status == PASS

    def report(self) -> str:
        """Format the result as the lines that :func:`check` prints."""
        head = f"{self.status}  lesson {self.lesson}, {self.exercise}"
        if self.status == PASS:
            return f"{head}: all checks passed."
        if self.status == TODO:
            return (
                f"{head}: not done yet. Replace `raise NotImplementedError()` "
                "with your code, run the cell, then run this check again."
            )
        lines = [f"{head}:"]
        lines.extend(f"  - {problem}" for problem in self.problems)
        if self.hint:
            lines.append(f"  Hint: {self.hint}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Check:
    function: Callable[[Any], list[str]]
    hint: str
    description: str = ""


_CHECKS: dict[tuple[str, str], _Check] = {}


def _register(lesson: str, exercise: str, hint: str, description: str):
    def decorator(function: Callable[[Any], list[str]]):
        _CHECKS[(lesson, exercise)] = _Check(function, hint, description)
        return function

    return decorator


class _NotDone(Exception):
    """The student's function still raises NotImplementedError."""


def _call(function: Callable, *args, **kwargs):
    """Call the student's function, turning NotImplementedError into _NotDone."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError as error:
        raise _NotDone from error


def _describe_error(name: str, error: Exception) -> str:
    return f"`{name}` raised {type(error).__name__}: {error}"


def _is_close(value: Any, expected: float, tolerance: float = 1e-9) -> bool:
    try:
        return math.isclose(
            float(value), expected, rel_tol=tolerance, abs_tol=tolerance
        )
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------
# 00_setup


def _installed_versions() -> dict[str, str]:
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "tensorflow": tf.__version__,
    }


@_register(
    "00",
    "environment_report",
    hint="Read each package's `__version__`, `platform.python_version()` for "
    "Python, and `tf.config.list_physical_devices('GPU')` for the device.",
    description="environment_report() -> dict of versions and the device",
)
def _check_environment_report(environment_report: Callable) -> list[str]:
    import tensorflow as tf

    report = _call(environment_report)
    if not isinstance(report, dict):
        return [
            f"`environment_report()` returned {type(report).__name__}, expected a dict."
        ]
    problems = []
    for key, version in _installed_versions().items():
        if key not in report:
            problems.append(f"the key {key!r} is missing.")
        elif str(report[key]) != version:
            problems.append(
                f"{key!r} is {report[key]!r}, but the installed version is {version!r}."
            )
    expected_device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    if report.get("device") != expected_device:
        problems.append(
            f"'device' is {report.get('device')!r}; this machine's answer is {expected_device!r}."
        )
    return problems


def _frame_with_labels(labels: list[str], source: str) -> pd.DataFrame:
    from iotlab import schema

    frame = pd.DataFrame(
        {
            "Flow Duration": np.arange(len(labels), dtype="int64"),
            "Label": pd.Categorical(labels, dtype=schema.LABEL_DTYPE),
        }
    )
    frame.attrs["source"] = source
    return frame


@_register(
    "00",
    "describe_frame",
    hint="`Label` is categorical: `value_counts()` also lists the classes with "
    "zero rows. Count only the classes that occur. The data source is in "
    "`df.attrs['source']`.",
    description="describe_frame(df) -> dict with rows, columns, classes, source",
)
def _check_describe_frame(describe_frame: Callable) -> list[str]:
    frame = _frame_with_labels(["Benign", "Benign", "Port Scan", "UDP Flood"], "twin")
    summary = _call(describe_frame, frame)
    if not isinstance(summary, dict):
        return [
            f"`describe_frame(df)` returned {type(summary).__name__}, expected a dict."
        ]
    expected = {"rows": 4, "columns": 2, "classes": 3, "source": "twin"}
    problems = []
    for key, value in expected.items():
        if key not in summary:
            problems.append(f"the key {key!r} is missing.")
        elif summary[key] != value:
            problems.append(
                f"for a 4-row, 2-column frame with the labels Benign, Benign, "
                f"Port Scan, UDP Flood, {key!r} is {summary[key]!r}; expected {value!r}."
            )
    return problems


@_register(
    "00",
    "scale_to_full",
    hint="Assume the time grows in proportion to the number of rows, and check "
    "`sample_rows` before you divide by it.",
    description="scale_to_full(seconds, sample_rows, full_rows) -> seconds",
)
def _check_scale_to_full(scale_to_full: Callable) -> list[str]:
    problems = []
    for seconds, sample_rows, full_rows, expected in [
        (2.0, 1_000, 4_000, 8.0),
        (1.5, 20_000, 1_231_411, 1.5 * 1_231_411 / 20_000),
        (0.0, 10, 100, 0.0),
    ]:
        value = _call(scale_to_full, seconds, sample_rows, full_rows)
        if not _is_close(value, expected):
            problems.append(
                f"scale_to_full({seconds}, {sample_rows}, {full_rows}) returned "
                f"{value!r}; expected {expected:.6g}."
            )
    for bad_rows in (0, -5):
        try:
            _call(scale_to_full, 1.0, bad_rows, 100)
        except _NotDone:
            raise
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001 (any other error is the student's bug)
            problems.append(
                f"scale_to_full(1.0, {bad_rows}, 100) should raise ValueError; "
                + _describe_error("scale_to_full", error)
            )
            continue
        problems.append(f"scale_to_full(1.0, {bad_rows}, 100) should raise ValueError.")
    return problems


# --------------------------------------------------------------------------
# 01_dataset


@_register(
    "01",
    "class_counts",
    hint="`Label` is categorical, so `value_counts()` keeps classes with zero "
    "rows; drop them. `value_counts()` already sorts largest first.",
    description="class_counts(labels) -> Series of rows per class, largest first",
)
def _check_class_counts(class_counts: Callable) -> list[str]:
    frame = _frame_with_labels(
        ["Benign", "Port Scan", "Port Scan", "Port Scan", "UDP Flood", "Benign"], "twin"
    )
    counts = _call(class_counts, frame["Label"])
    if not isinstance(counts, pd.Series):
        return [
            f"`class_counts` returned {type(counts).__name__}, expected a pandas Series."
        ]
    expected = {"Port Scan": 3, "Benign": 2, "UDP Flood": 1}
    problems = []
    as_dict = {str(key): int(value) for key, value in counts.items()}
    if as_dict != expected:
        problems.append(
            "for the labels Benign, Port Scan x3, UDP Flood, Benign the counts are "
            f"{as_dict}; expected {expected}."
        )
    if list(counts.to_numpy()) != sorted(counts.to_numpy(), reverse=True):
        problems.append("the counts are not sorted largest first.")
    return problems


@_register(
    "01",
    "imbalance_ratio",
    hint="Divide the largest count by the smallest count that is above zero.",
    description="imbalance_ratio(counts) -> largest / smallest non-zero count",
)
def _check_imbalance_ratio(imbalance_ratio: Callable) -> list[str]:
    problems = []
    cases = [
        (pd.Series({"a": 100, "b": 10, "c": 1}), 100.0),
        (pd.Series({"a": 6, "b": 0, "c": 3}), 2.0),
        (pd.Series({"a": 7}), 1.0),
    ]
    for counts, expected in cases:
        value = _call(imbalance_ratio, counts)
        if not _is_close(value, expected):
            problems.append(
                f"for counts {counts.to_dict()} the ratio is {value!r}; expected {expected}."
            )
    return problems


@_register(
    "01",
    "non_finite_counts",
    hint="`np.isfinite` is False for inf, -inf and NaN. Look only at numeric "
    "columns (`select_dtypes('number')`), keep the columns with at least one "
    "such value, and sort largest first.",
    description="non_finite_counts(df) -> Series of inf/NaN counts per column",
)
def _check_non_finite_counts(non_finite_counts: Callable) -> list[str]:
    frame = pd.DataFrame(
        {
            "clean": [1.0, 2.0, 3.0, 4.0],
            "rate": [np.inf, np.nan, 1.0, -np.inf],
            "ratio": [np.nan, 0.5, 0.5, 0.5],
            "name": pd.array(["a", "b", None, "d"], dtype="string"),
        }
    )
    counts = _call(non_finite_counts, frame)
    if not isinstance(counts, pd.Series):
        return [
            f"`non_finite_counts` returned {type(counts).__name__}, expected a pandas Series."
        ]
    expected = {"rate": 3, "ratio": 1}
    as_dict = {str(key): int(value) for key, value in counts.items()}
    problems = []
    if as_dict != expected:
        problems.append(
            "for a frame with a clean column, a column with inf, NaN and -inf "
            f"('rate'), a column with one NaN ('ratio') and a text column, the "
            f"counts are {as_dict}; expected {expected}."
        )
    if list(counts.to_numpy()) != sorted(counts.to_numpy(), reverse=True):
        problems.append("the counts are not sorted largest first.")
    return problems


@_register(
    "01",
    "parse_capture_time",
    hint="Try one explicit format at a time with `pd.to_datetime(text, "
    "format=...)`. A date outside the capture (30 Oct to 3 Nov 2023) was "
    "written with day and month swapped.",
    description="parse_capture_time(text) -> pandas Timestamp",
)
def _check_parse_capture_time(parse_capture_time: Callable) -> list[str]:
    cases = {
        "2023-10-30 08:15:00": pd.Timestamp("2023-10-30 08:15:00"),
        "31/10/2023 01:02:03 PM": pd.Timestamp("2023-10-31 13:02:03"),
        "03/11/2023 11:59:59 AM": pd.Timestamp("2023-11-03 11:59:59"),
        "2023-01-11 10:00:00": pd.Timestamp("2023-11-01 10:00:00"),
        "2023-02-11 23:30:05": pd.Timestamp("2023-11-02 23:30:05"),
    }
    problems = []
    for text, expected in cases.items():
        try:
            value = _call(parse_capture_time, text)
        except _NotDone:
            raise
        except Exception as error:  # noqa: BLE001 (reported to the student)
            problems.append(
                f"for {text!r}: " + _describe_error("parse_capture_time", error)
            )
            continue
        if not isinstance(value, pd.Timestamp) or value != expected:
            problems.append(f"{text!r} gave {value!r}; expected {expected}.")
    return problems


# --------------------------------------------------------------------------
# 02_preprocessing


def _labelled_table(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(["big", "middle", "small"], [60, 30, 10])
    X = pd.DataFrame(
        {
            "size": rng.integers(0, 1_000, labels.size),
            "rate": rng.normal(5.0, 2.0, labels.size),
        }
    )
    return X, pd.Series(labels, name="Label")


@_register(
    "02",
    "split",
    hint="`train_test_split` takes `stratify=` and `random_state=`. Stratify on "
    "the labels so that every class keeps its share on both sides.",
    description="split(X, y, test_size, seed) -> X_train, X_test, y_train, y_test",
)
def _check_split(split: Callable) -> list[str]:
    X, y = _labelled_table()
    result = _call(split, X, y, 0.2, 0)
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        return ["`split` must return four values: X_train, X_test, y_train, y_test."]
    X_train, X_test, y_train, y_test = result
    problems = []
    if len(X_train) != 80 or len(X_test) != 20:
        problems.append(
            f"with 100 rows and test_size 0.2 the sides have {len(X_train)} and "
            f"{len(X_test)} rows; expected 80 and 20."
        )
    if len(y_train) != len(X_train) or len(y_test) != len(X_test):
        problems.append("X and y of one side have different lengths.")
        return problems
    if not X_train.index.equals(y_train.index) or not X_test.index.equals(y_test.index):
        problems.append("the rows of X and y no longer match (their indexes differ).")
    if set(X_train.index) & set(X_test.index):
        problems.append("some rows are on both sides of the split.")
    expected_test = {"big": 12, "middle": 6, "small": 2}
    test_counts = {
        str(key): int(value) for key, value in pd.Series(y_test).value_counts().items()
    }
    if test_counts != expected_test:
        problems.append(
            f"the test side holds {test_counts} for 60 big, 30 middle and 10 small "
            f"rows; a stratified split gives {expected_test}."
        )
    again = _call(split, X, y, 0.2, 0)
    if not again[1].index.equals(X_test.index):
        problems.append("two calls with the same seed gave different splits.")
    return problems


@_register(
    "02",
    "min_max",
    hint="Learn each column's minimum and maximum from the training rows only, "
    "then compute (x - min) / (max - min). A column with max == min has no "
    "range: give it 0 instead of dividing by zero.",
    description="fit_min_max(X_train) -> (minimum, maximum); min_max_scale(X, minimum, maximum)",
)
def _check_min_max(functions: tuple[Callable, Callable]) -> list[str]:
    if not isinstance(functions, tuple) or len(functions) != 2:
        return ["pass both functions: `(fit_min_max, min_max_scale)`."]
    fit_min_max, min_max_scale = functions
    X_train = pd.DataFrame(
        {"a": [0.0, 5.0, 10.0], "b": [2.0, 2.0, 2.0], "c": [-1.0, 0.0, 3.0]}
    )
    X_test = pd.DataFrame({"a": [20.0, -10.0], "b": [2.0, 4.0], "c": [1.0, 1.0]})
    learned = _call(fit_min_max, X_train)
    if not isinstance(learned, tuple) or len(learned) != 2:
        return ["`fit_min_max` must return two values: the minimum and the maximum."]
    minimum, maximum = learned
    problems = []
    if list(pd.Series(minimum).to_numpy()) != [0.0, 2.0, -1.0]:
        problems.append(
            f"the minimum of the training columns a, b, c is {list(pd.Series(minimum))}; "
            "expected [0.0, 2.0, -1.0]."
        )
    if list(pd.Series(maximum).to_numpy()) != [10.0, 2.0, 3.0]:
        problems.append(
            f"the maximum of the training columns a, b, c is {list(pd.Series(maximum))}; "
            "expected [10.0, 2.0, 3.0]."
        )
    scaled_train = _call(min_max_scale, X_train, minimum, maximum)
    scaled_test = _call(min_max_scale, X_test, minimum, maximum)
    for name, scaled, expected in [
        (
            "training",
            scaled_train,
            [[0.0, 0.0, 0.0], [0.5, 0.0, 0.25], [1.0, 0.0, 1.0]],
        ),
        ("test", scaled_test, [[2.0, 0.0, 0.5], [-1.0, 0.0, 0.5]]),
    ]:
        if not isinstance(scaled, pd.DataFrame):
            problems.append(
                f"scaling the {name} rows returned {type(scaled).__name__}, expected a DataFrame."
            )
            continue
        values = scaled.to_numpy(dtype=float)
        if values.shape != np.shape(expected) or not np.allclose(
            values, expected, equal_nan=False
        ):
            problems.append(
                f"the scaled {name} rows are {values.tolist()}; expected {expected}."
            )
    if isinstance(scaled_test, pd.DataFrame) and list(scaled_test.columns) != [
        "a",
        "b",
        "c",
    ]:
        problems.append("the scaled frame lost its column names.")
    return problems


@_register(
    "02",
    "class_weights",
    hint="w_i = N / (C * N_i): N training rows, C classes present, N_i rows of "
    "class i. Rarer classes get larger weights, and the weights averaged over "
    "the rows give 1.",
    description="class_weights(y_train) -> dict class -> weight",
)
def _check_class_weights(class_weights: Callable) -> list[str]:
    problems = []
    cases = [
        (pd.Series(["a", "a", "a", "b"]), {"a": 4 / 6, "b": 2.0}),
        (pd.Series([0, 0, 1, 1, 2, 2]), {0: 1.0, 1: 1.0, 2: 1.0}),
        (
            pd.Series(["x"] * 90 + ["y"] * 9 + ["z"]),
            {"x": 100 / 270, "y": 100 / 27, "z": 100 / 3},
        ),
    ]
    for y, expected in cases:
        weights = _call(class_weights, y)
        if not isinstance(weights, dict):
            return [
                f"`class_weights` returned {type(weights).__name__}, expected a dict."
            ]
        if set(weights) != set(expected):
            problems.append(
                f"for y = {y.value_counts().to_dict()} the keys are {sorted(weights)}; "
                f"expected one key per class: {sorted(expected)}."
            )
            continue
        wrong = {
            key: weights[key]
            for key in expected
            if not _is_close(weights[key], expected[key])
        }
        if wrong:
            rounded = {key: round(value, 4) for key, value in expected.items()}
            problems.append(
                f"for y = {y.value_counts().to_dict()} the weights are "
                f"{ {key: round(float(value), 4) for key, value in weights.items()} }; expected {rounded}."
            )
    return problems


# --------------------------------------------------------------------------
# 03_feature_selection


def _correlated_table(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.0, 1.0, rows)
    return pd.DataFrame(
        {
            "a": base,
            "b": 2.0 * base + rng.normal(0.0, 0.01, rows),  # |r| close to 1 with a
            "c": np.full(rows, 3.0),  # constant
            "d": rng.uniform(0.0, 1.0, rows),  # independent
            "e": -base,  # r = -1 with a
            "f": base + rng.normal(0.0, 0.15, rows),  # r about 0.89 with a
        }
    )


@_register(
    "03",
    "correlated_columns",
    hint="Drop constant columns first: their r is NaN, and a comparison with "
    "NaN is always False. Compare |r| (a strong negative r counts too) only "
    "with the columns kept so far, visiting the columns in order.",
    description="correlated_columns(X_train, threshold) -> columns to drop",
)
def _check_correlated_columns(correlated_columns: Callable) -> list[str]:
    table = _correlated_table()
    r_af = abs(np.corrcoef(table["a"], table["f"])[0, 1])
    problems = []
    for threshold in (0.9, 0.8):
        expected = ["b", "c", "e"] + (["f"] if r_af > threshold else [])
        dropped = _call(correlated_columns, table, threshold)
        if list(dropped) != expected:
            problems.append(
                f"for columns a, b = 2a + noise, c constant, d independent, e = -a "
                f"and f = a + noise (|r| with a = {r_af:.3f}) at threshold "
                f"{threshold}, the dropped columns are {list(dropped)}; "
                f"expected {expected}."
            )
    return problems


def _rfe_table(rows: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.uniform(0.0, 1.0, (rows, 6)), columns=[f"x{i}" for i in range(6)]
    )
    labels = (X["x1"] > 0.5).astype(int) * 2 + (X["x4"] > 0.5).astype(int)
    return X, labels.map({0: "p", 1: "q", 2: "r", 3: "s"}).rename("Label")


@_register(
    "03",
    "rfe_select",
    hint="Fit `RFE(DecisionTreeClassifier(random_state=seed), "
    "n_features_to_select=n_features, step=0.2)` on the training rows, then "
    "pick the column names where `support_` is True.",
    description="rfe_select(X_train, y_train, n_features, seed) -> kept columns",
)
def _check_rfe_select(rfe_select: Callable) -> list[str]:
    from iotlab.features import RFESelector

    X, y = _rfe_table()
    problems = []
    kept = _call(rfe_select, X, y, 2, 0)
    if list(kept) != ["x1", "x4"]:
        problems.append(
            f"when the class depends only on x1 and x4 of six columns, RFE down to "
            f"2 columns kept {list(kept)}; expected ['x1', 'x4']."
        )
    noisy = pd.Series(np.where(np.random.default_rng(1).random(len(y)) < 0.2, "p", y))
    kept = _call(rfe_select, X, noisy, 3, 7)
    expected = RFESelector(n_features_to_select=3, step=0.2, max_samples=None, seed=7)
    expected = expected.fit(X, noisy).kept_
    if list(kept) != list(expected):
        problems.append(
            f"with noisy labels, seed 7 and 3 columns, RFE kept {list(kept)}; "
            f"expected {list(expected)}."
        )
    return problems


@_register(
    "03",
    "score_columns",
    hint="Fit the forest on `X_train[columns]` and predict `X_test[columns]`. "
    "`recall_score(..., labels=classes, average=None)` gives one recall per "
    "class in `classes`.",
    description="score_columns(columns, X_train, y_train, X_test, y_test, "
    "n_trees, seed) -> dict",
)
def _check_score_columns(score_columns: Callable) -> list[str]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    X, y = _rfe_table(rows=300)
    noisy = pd.Series(np.where(np.random.default_rng(2).random(len(y)) < 0.3, "p", y))
    X_train, X_test = X.iloc[:200], X.iloc[200:]
    y_train, y_test = noisy.iloc[:200], noisy.iloc[200:]
    columns = ["x1", "x2", "x4"]
    scores = _call(score_columns, columns, X_train, y_train, X_test, y_test, 5, 3)
    if not isinstance(scores, dict):
        return [f"`score_columns` returned {type(scores).__name__}, expected a dict."]
    missing = {"features", "fit_seconds", "accuracy", "macro_f1", "recall"} - set(
        scores
    )
    if missing:
        return [f"the keys {sorted(missing)} are missing."]
    model = RandomForestClassifier(n_estimators=5, random_state=3, n_jobs=1)
    y_pred = model.fit(X_train[columns], y_train).predict(X_test[columns])
    classes = sorted(pd.unique(y_test))
    expected_recall = dict(
        zip(classes, recall_score(y_test, y_pred, labels=classes, average=None))
    )
    problems = []
    if scores["features"] != 3:
        problems.append(f"'features' is {scores['features']!r} for 3 columns.")
    if not _is_close(scores["accuracy"], accuracy_score(y_test, y_pred)):
        problems.append(
            f"'accuracy' is {scores['accuracy']!r}; a forest of 5 trees with seed 3 "
            f"gives {accuracy_score(y_test, y_pred):.4f} on this small table."
        )
    macro_f1 = f1_score(y_test, y_pred, average="macro")
    if not _is_close(scores["macro_f1"], macro_f1):
        problems.append(
            f"'macro_f1' is {scores['macro_f1']!r}; expected {macro_f1:.4f}."
        )
    recall = scores["recall"]
    if not isinstance(recall, pd.Series):
        problems.append("'recall' must be a pandas Series indexed by class name.")
    elif {str(key) for key in recall.index} != set(expected_recall) or not all(
        _is_close(recall[name], value) for name, value in expected_recall.items()
    ):
        problems.append(
            f"'recall' is {recall.round(4).to_dict()}; expected "
            f"{ {name: round(float(value), 4) for name, value in expected_recall.items()} }."
        )
    if not (isinstance(scores["fit_seconds"], float) and scores["fit_seconds"] > 0):
        problems.append(
            "'fit_seconds' must be the positive number of seconds `fit` took."
        )
    return problems


# --------------------------------------------------------------------------
# 08_pitfalls


@_register(
    "08",
    "recall_with_support",
    hint="For each class index i that occurs in y_true: recall is the share of "
    "its rows with y_pred == i, support the number of its rows. Index the "
    "frame by CLASS_NAMES[i].",
    description="recall_with_support(y_true, y_pred) -> DataFrame recall, support",
)
def _check_recall_with_support(recall_with_support: Callable) -> list[str]:
    # Classes 0 Port Scan, 1 Benign, 10 UDP Flood; class 3 is predicted only.
    y_true = np.array([0, 0, 1, 1, 1, 10])
    y_pred = np.array([0, 1, 1, 1, 3, 0])
    table = _call(recall_with_support, y_true, y_pred)
    if not isinstance(table, pd.DataFrame):
        return [f"returned {type(table).__name__}, expected a DataFrame."]
    expected = pd.DataFrame(
        {"recall": [0.5, 2 / 3, 0.0], "support": [2, 3, 1]},
        index=["Port Scan", "Benign", "UDP Flood"],
    )
    where = "for y_true [0, 0, 1, 1, 1, 10] and y_pred [0, 1, 1, 1, 3, 0]"
    if list(table.columns) != ["recall", "support"]:
        return [
            f"the columns are {list(table.columns)}; expected ['recall', 'support']."
        ]
    if [str(name) for name in table.index] != list(expected.index):
        message = (
            f"{where} the rows are {list(table.index)}; expected "
            f"{list(expected.index)}: the classes with test rows, in CLASS_NAMES order."
        )
        return [message]
    problems = []
    if not np.allclose(table["recall"].to_numpy(dtype=float), expected["recall"]):
        problems.append(
            f"{where} the recalls are {table['recall'].round(4).tolist()}; "
            "expected [0.5, 0.6667, 0.0]."
        )
    if table["support"].tolist() != expected["support"].tolist():
        problems.append(
            f"{where} the supports are {table['support'].tolist()}; expected [2, 3, 1]."
        )
    return problems


class _ThresholdModel:
    """Predicts class 1 where column ``a`` exceeds 0.5, else class 0."""

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (X["a"].to_numpy() > 0.5).astype(int)


@_register(
    "08",
    "group_permutation_drop",
    hint="Build the permutation once, shuffled = X_test.copy(), then "
    "shuffled[columns] = X_test[columns].to_numpy()[permutation]. The drop is "
    "the score on X_test minus the score on the shuffled copy.",
    description="group_permutation_drop(model, X_test, y_test, columns, seed) -> dict",
)
def _check_group_permutation_drop(group_permutation_drop: Callable) -> list[str]:
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.random(40), "b": rng.random(40)})
    y = (X["a"] > 0.5).astype(int).to_numpy()
    original = X.copy()
    model = _ThresholdModel()
    problems = []
    for columns, seed in ((["a"], 1), (["b"], 1), (["a", "b"], 2)):
        drop = _call(group_permutation_drop, model, X, y, columns, seed)
        if not isinstance(drop, dict) or {"accuracy", "macro_f1"} - set(drop):
            return ["return a dict with the keys 'accuracy' and 'macro_f1'."]
        order = np.random.default_rng(seed).permutation(len(X))
        shuffled = X.copy()
        shuffled[columns] = X[columns].to_numpy()[order]
        after = model.predict(shuffled)
        expected = {
            "accuracy": 1.0 - accuracy_score(y, after),
            "macro_f1": 1.0 - f1_score(y, after, average="macro", zero_division=0),
        }
        for key, value in expected.items():
            if not _is_close(drop[key], value):
                problems.append(
                    f"shuffling {columns} with seed {seed} for a model that reads "
                    f"only column 'a' gives a {key} drop of {drop[key]!r}; "
                    f"expected {value:.4f}."
                )
    if not X.equals(original):
        problems.append("X_test changed; shuffle a copy.")
    return problems


@_register(
    "08",
    "duplicated_in_train",
    hint="Collect the training rows as tuples, for example with "
    "set(train[columns].itertuples(index=False, name=None)), then test each "
    "test row's tuple for membership.",
    description="duplicated_in_train(train, test, columns) -> bool array",
)
def _check_duplicated_in_train(duplicated_in_train: Callable) -> list[str]:
    train = pd.DataFrame({"a": [1, 2, 3], "b": [1.0, 2.0, 3.0], "id": [7, 8, 9]})
    test = pd.DataFrame({"a": [2, 2, 4, 3], "b": [2.0, 2.5, 4.0, 3.0], "id": [0] * 4})
    problems = []
    for columns, expected in (
        (["a", "b"], [True, False, False, True]),
        (["a"], [True, True, False, True]),
        (["a", "b", "id"], [False, False, False, False]),
    ):
        found = _call(duplicated_in_train, train, test, columns)
        if not isinstance(found, np.ndarray) or found.dtype != bool:
            return [f"returned {type(found).__name__}; expected a boolean NumPy array."]
        if found.tolist() != expected:
            problems.append(
                f"with columns {columns} the result is {found.tolist()}; expected "
                f"{expected} (training rows a, b, id: (1, 1.0, 7), (2, 2.0, 8), "
                "(3, 3.0, 9))."
            )
    return problems


@_register(
    "08",
    "latest_share_mask",
    hint="Per class: rows = np.flatnonzero(labels == name), sort them by "
    "Timestamp with kind='stable', and mark the last n_test of them.",
    description="latest_share_mask(flows, test_size) -> bool array",
)
def _check_latest_share_mask(latest_share_mask: Callable) -> list[str]:
    flows = pd.DataFrame(
        {
            "Timestamp": pd.to_datetime(
                [
                    "2023-10-30 09:00:03",
                    "2023-10-30 09:00:01",
                    "2023-10-30 09:00:02",
                    "2023-11-01 10:00:00",
                    "2023-11-01 09:00:00",
                    "2023-10-31 12:00:00",
                    "2023-11-01 10:00:00",
                    "2023-11-02 08:00:00",
                ]
            ),
            "Label": ["Port Scan"] * 3 + ["Benign"] * 4 + ["ARP Spoofing"],
        }
    )
    problems = []
    # Port Scan (3 rows) puts 1 row in test at 0.34, 2 rows at 0.5 and 0.9
    # (at most n - 1); Benign (4 rows) puts 1, 2 and 3 rows. Rows 3 and 6
    # have the same time, and row 6 comes later in row order. The single ARP
    # Spoofing row stays in training.
    for test_size, expected in (
        (0.34, [True, False, False, False, False, False, True, False]),
        (0.5, [True, False, True, True, False, False, True, False]),
        (0.9, [True, False, True, True, True, False, True, False]),
    ):
        mask = _call(latest_share_mask, flows, test_size)
        if not isinstance(mask, np.ndarray) or mask.dtype != bool:
            return [f"returned {type(mask).__name__}; expected a boolean NumPy array."]
        if mask.tolist() != expected:
            problems.append(
                f"with test_size {test_size} the mask is {mask.tolist()}; expected "
                f"{expected}."
            )
    return problems


# --------------------------------------------------------------------------
# 04_classical_baselines


@_register(
    "04",
    "classical_models",
    hint="Return a dict of three unfitted estimators from sklearn.linear_model, "
    "sklearn.tree and sklearn.ensemble, passing the seed as random_state where "
    "the model has randomness.",
    description="make_classical_models(seed, n_trees) -> {'LR', 'DT', 'RF'}",
)
def _check_classical_models(make_classical_models: Callable) -> list[str]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    built = _call(make_classical_models, 7, 3)
    if not isinstance(built, dict):
        return [
            f"`make_classical_models` returned {type(built).__name__}, expected a dict."
        ]
    if list(built) != ["LR", "DT", "RF"]:
        return [f"the keys are {list(built)}; expected ['LR', 'DT', 'RF']."]
    expected = {
        "LR": (LogisticRegression, {"max_iter": 1000}),
        "DT": (DecisionTreeClassifier, {"random_state": 7}),
        "RF": (
            RandomForestClassifier,
            {"n_estimators": 3, "random_state": 7, "n_jobs": 1},
        ),
    }
    problems = []
    for name, (model_class, parameters) in expected.items():
        model = built[name]
        if not isinstance(model, model_class):
            problems.append(
                f"{name!r} is a {type(model).__name__}; expected a {model_class.__name__}."
            )
            continue
        for key, value in parameters.items():
            if model.get_params()[key] != value:
                problems.append(
                    f"with seed 7 and 3 trees, {name} has {key}="
                    f"{model.get_params()[key]!r}; expected {value!r}."
                )
        if hasattr(model, "classes_"):
            problems.append(f"{name} is already fitted; return unfitted models.")
    return problems


@_register(
    "04",
    "power_law",
    hint="Take logarithms: log(seconds) = log(a) + b * log(n) is a line. "
    "`np.polyfit(np.log(sizes), np.log(seconds), 1)` returns its slope b and "
    "intercept log(a).",
    description="fit_power_law(sizes, seconds) -> (exponent b, coefficient a)",
)
def _check_power_law(fit_power_law: Callable) -> list[str]:
    problems = []
    sizes = [100, 200, 400, 800]
    exact = [0.002 * size**1.5 for size in sizes]
    noisy = [0.5, 1.7, 4.1, 18.0]
    for seconds, label in [(exact, "0.002 * n**1.5"), (noisy, str(noisy))]:
        fitted = _call(fit_power_law, sizes, seconds)
        if not isinstance(fitted, tuple) or len(fitted) != 2:
            return ["return two numbers: `(exponent, coefficient)`."]
        slope, intercept = np.polyfit(np.log(sizes), np.log(seconds), 1)
        if not (
            _is_close(fitted[0], slope, 1e-6)
            and _is_close(fitted[1], np.exp(intercept), 1e-6)
        ):
            problems.append(
                f"for n = {sizes} and seconds = {label}, (b, a) is {fitted}; expected "
                f"({slope:.4f}, {np.exp(intercept):.6g})."
            )
    return problems


def _two_rings(rows: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.0, 2 * np.pi, rows)
    radius = np.where(np.arange(rows) % 2 == 0, 1.0, 3.0) + rng.normal(0.0, 0.1, rows)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    return X, np.where(np.arange(rows) % 2 == 0, "inner", "outer")


@_register(
    "04",
    "nystroem_svm",
    hint="`make_pipeline(Nystroem(kernel='rbf', gamma=gamma, "
    "n_components=n_components, random_state=seed), SGDClassifier(loss='hinge', "
    "alpha=1e-5, random_state=seed))`.",
    description="make_nystroem_svm(n_components, gamma, seed) -> unfitted Pipeline",
)
def _check_nystroem_svm(make_nystroem_svm: Callable) -> list[str]:
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import Pipeline

    model = _call(make_nystroem_svm, 40, 0.5, 3)
    if not isinstance(model, Pipeline):
        return [
            f"`make_nystroem_svm` returned {type(model).__name__}, expected a Pipeline."
        ]
    kernel, linear = model[0], model[-1]
    problems = []
    if not isinstance(kernel, Nystroem):
        problems.append(
            f"the first step is a {type(kernel).__name__}; expected Nystroem."
        )
    else:
        settings = {
            "kernel": "rbf",
            "n_components": 40,
            "gamma": 0.5,
            "random_state": 3,
        }
        for key, value in settings.items():
            if kernel.get_params()[key] != value:
                problems.append(
                    f"for n_components 40, gamma 0.5 and seed 3, Nystroem has {key}="
                    f"{kernel.get_params()[key]!r}; expected {value!r}."
                )
    if not isinstance(linear, SGDClassifier) or linear.loss != "hinge":
        problems.append("the last step must be SGDClassifier(loss='hinge', ...).")
    if problems:
        return problems
    X, y = _two_rings()
    accuracy = float(np.mean(model.fit(X, y).predict(X) == y))
    if accuracy < 0.95:
        problems.append(
            f"on two concentric rings, which no straight line separates, the pipeline "
            f"reaches accuracy {accuracy:.2f}; an RBF kernel should exceed 0.95."
        )
    return problems


# --------------------------------------------------------------------------
# 05_deep_baselines and 06_cnn_lstm: Keras models


def _layer_kinds(model) -> list[str]:
    skipped = {"InputLayer", "Reshape"}
    return [
        type(layer).__name__
        for layer in model.layers
        if type(layer).__name__ not in skipped
    ]


def _compare_with_reference(
    build: Callable, reference_build: Callable, name: str
) -> list[str]:
    """Compare a student's Keras builder with iotlab's on two input sizes."""
    problems = []
    for n_features, n_classes in [(16, 5), (30, 12)]:
        model = _call(build, n_features, n_classes)
        if not hasattr(model, "count_params") or not hasattr(model, "layers"):
            return [
                f"`{name}` returned {type(model).__name__}, expected a Keras model."
            ]
        reference = reference_build(n_features, n_classes)
        case = f"for {n_features} features and {n_classes} classes"
        if tuple(model.input_shape) != (None, n_features, 1):
            problems.append(
                f"{case} the input shape is {model.input_shape}; expected "
                f"(None, {n_features}, 1)."
            )
        if tuple(model.output_shape) != (None, n_classes):
            problems.append(
                f"{case} the output shape is {model.output_shape}; expected (None, {n_classes})."
            )
        if _layer_kinds(model) != _layer_kinds(reference):
            problems.append(
                f"{case} the layers are {_layer_kinds(model)}; expected {_layer_kinds(reference)}."
            )
        if model.count_params() != reference.count_params():
            problems.append(
                f"{case} the model has {model.count_params():,} parameters; expected "
                f"{reference.count_params():,}."
            )
        if problems:
            break
    return problems


@_register(
    "05",
    "as_sequences",
    hint="`np.asarray(X, dtype=np.float32)` gives an (n, F) array; `reshape(n, F, 1)` "
    "adds the channel axis without moving any value.",
    description="as_sequences(X) -> float32 array of shape (n, F, 1)",
)
def _check_as_sequences(as_sequences: Callable) -> list[str]:
    table = pd.DataFrame({"a": [0.0, 1.0], "b": [0.5, 0.25], "c": [1.0, 0.0]})
    problems = []
    for X, kind in [(table, "DataFrame"), (table.to_numpy(), "array")]:
        sequences = _call(as_sequences, X)
        if not isinstance(sequences, np.ndarray):
            problems.append(
                f"for a {kind} the result is a {type(sequences).__name__}, expected an ndarray."
            )
            continue
        if sequences.shape != (2, 3, 1):
            problems.append(
                f"for a 2 x 3 {kind} the shape is {sequences.shape}; expected (2, 3, 1)."
            )
            continue
        if sequences.dtype != np.float32:
            problems.append(f"the dtype is {sequences.dtype}; Keras expects float32.")
        if not np.array_equal(sequences[:, :, 0], table.to_numpy(dtype=np.float32)):
            problems.append(
                f"for rows {table.to_numpy().tolist()} the sequences hold "
                f"{sequences[:, :, 0].tolist()}; each row's values must stay in order."
            )
    return problems


@_register(
    "05",
    "build_cnn",
    hint="Start with `keras.Input(shape=(n_features, 1))`, then Conv1D(64, 3, "
    "activation='relu'), MaxPooling1D(2), Conv1D(128, 3, ...), MaxPooling1D(2), "
    "Flatten, Dense(128, relu), Dropout(0.5), Dense(n_classes, softmax).",
    description="build_cnn(n_features, n_classes) -> keras.Model",
)
def _check_build_cnn(build_cnn: Callable) -> list[str]:
    from iotlab.models import build_cnn as reference

    return _compare_with_reference(build_cnn, reference, "build_cnn")


@_register(
    "05",
    "build_lstm",
    hint="Start with `keras.Input(shape=(n_features, 1))`, then LSTM(128, "
    "return_sequences=True), LSTM(64), Dense(128, relu), Dropout(0.5), "
    "Dense(n_classes, softmax).",
    description="build_lstm(n_features, n_classes) -> keras.Model",
)
def _check_build_lstm(build_lstm: Callable) -> list[str]:
    from iotlab.models import build_lstm as reference

    return _compare_with_reference(build_lstm, reference, "build_lstm")


# --------------------------------------------------------------------------
# 06_cnn_lstm


@_register(
    "06",
    "timesteps_after_conv",
    hint="A Conv1D with kernel 3 and no padding turns L steps into L - 2; a "
    "MaxPooling1D(2) turns L into L // 2. Apply both twice, and return 0 as soon "
    "as a convolution has fewer than 1 step left.",
    description="timesteps_after_conv(n_features) -> int",
)
def _check_timesteps_after_conv(timesteps_after_conv: Callable) -> list[str]:
    from iotlab.models import conv_output_length

    wrong = {}
    for n_features in range(1, 61):
        steps = _call(timesteps_after_conv, n_features)
        if steps != conv_output_length(n_features):
            wrong[n_features] = steps
    if not wrong:
        return []
    shown = dict(list(wrong.items())[:4])
    expected = {n_features: conv_output_length(n_features) for n_features in shown}
    return [
        f"for F = {list(shown)} the steps are {list(shown.values())}; expected {list(expected.values())}."
    ]


@_register(
    "06",
    "build_cnn_lstm",
    hint="Put lesson 05's pieces in a row: the CNN's two Conv1D + MaxPooling1D "
    "blocks, then LSTM(128, return_sequences=True), LSTM(64), Flatten, Dense(128, "
    "relu), Dropout(0.5), Dense(n_classes, softmax).",
    description="build_cnn_lstm(n_features, n_classes) -> keras.Model",
)
def _check_build_cnn_lstm(build_cnn_lstm: Callable) -> list[str]:
    from iotlab.models import build_cnn_lstm as reference

    return _compare_with_reference(build_cnn_lstm, reference, "build_cnn_lstm")


@_register(
    "06",
    "weighted_cross_entropy",
    hint="For each row take the predicted probability of its true class, "
    "`y_prob[np.arange(n), y_true]`; multiply -log of it by the weight of that "
    "class, then take the mean over rows (not the weighted mean).",
    description="weighted_cross_entropy(y_true, y_prob, class_weight) -> float",
)
def _check_weighted_cross_entropy(weighted_cross_entropy: Callable) -> list[str]:
    y_true = np.array([0, 1, 2, 1])
    y_prob = np.array(
        [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5], [0.5, 0.25, 0.25]]
    )
    problems = []
    for weights in ({0: 1.0, 1: 1.0, 2: 1.0}, {0: 2.0, 1: 0.5, 2: 4.0}):
        true_prob = y_prob[np.arange(len(y_true)), y_true]
        row_weights = np.array([weights[label] for label in y_true])
        expected = float(np.mean(row_weights * -np.log(true_prob)))
        loss = _call(weighted_cross_entropy, y_true, y_prob, weights)
        if not _is_close(loss, expected, 1e-6):
            problems.append(
                f"for y_true {y_true.tolist()}, probabilities {y_prob.tolist()} and "
                f"weights {weights}, the loss is {loss!r}; expected {expected:.6f}."
            )
    return problems


@_register(
    "06",
    "early_stopping",
    hint="`keras.callbacks.EarlyStopping(monitor=..., patience=..., "
    "restore_best_weights=...)`.",
    description="make_early_stopping(patience) -> keras.callbacks.EarlyStopping",
)
def _check_early_stopping(make_early_stopping: Callable) -> list[str]:
    import keras

    callback = _call(make_early_stopping, 3)
    if not isinstance(callback, keras.callbacks.EarlyStopping):
        return [f"the result is a {type(callback).__name__}, expected EarlyStopping."]
    problems = []
    expected = {"monitor": "val_loss", "patience": 3, "restore_best_weights": True}
    for key, value in expected.items():
        if getattr(callback, key) != value:
            problems.append(
                f"for patience 3, {key} is {getattr(callback, key)!r}; expected {value!r}."
            )
    return problems


# --------------------------------------------------------------------------
# 07_evaluation


def _small_confusion() -> pd.DataFrame:
    names = ["a", "b", "c", "d"]
    counts = [[5, 1, 0, 0], [2, 3, 0, 0], [0, 4, 0, 0], [0, 0, 0, 0]]
    return pd.DataFrame(
        counts,
        index=pd.Index(names, name="true"),
        columns=pd.Index(names, name="predicted"),
    )


@_register(
    "07",
    "per_class_from_confusion",
    hint="The diagonal holds the correct rows; column sums count predictions "
    "(precision's denominator), row sums count true rows (recall's denominator "
    "and the support). Use np.where to put 0 where a denominator is 0.",
    description="per_class_from_confusion(matrix) -> DataFrame of precision, "
    "recall, f1, support",
)
def _check_per_class_from_confusion(per_class_from_confusion: Callable) -> list[str]:
    matrix = _small_confusion()
    table = _call(per_class_from_confusion, matrix)
    if not isinstance(table, pd.DataFrame):
        return [f"the result is a {type(table).__name__}, expected a DataFrame."]
    expected = pd.DataFrame(
        {
            "precision": [5 / 7, 3 / 8, 0.0, 0.0],
            "recall": [5 / 6, 3 / 5, 0.0, 0.0],
            "f1": [
                2 * (5 / 7) * (5 / 6) / (5 / 7 + 5 / 6),
                2 * (3 / 8) * (3 / 5) / (3 / 8 + 3 / 5),
                0.0,
                0.0,
            ],
            "support": [6, 5, 4, 0],
        },
        index=matrix.index,
    )
    missing = [column for column in expected.columns if column not in table.columns]
    if missing:
        return [f"the columns {missing} are missing."]
    if list(table.index) != list(matrix.index):
        return [
            f"the index is {list(table.index)}; expected the matrix's {list(matrix.index)}."
        ]
    problems = []
    for column in expected.columns:
        values = table[column].to_numpy(dtype=float)
        if not np.allclose(
            values, expected[column].to_numpy(dtype=float), equal_nan=False
        ):
            problems.append(
                f"for the matrix {matrix.to_numpy().tolist()} (rows true a-d, columns "
                f"predicted a-d), {column} is {np.round(values, 4).tolist()}; expected "
                f"{np.round(expected[column].to_numpy(dtype=float), 4).tolist()}."
            )
    return problems


@_register(
    "07",
    "top_confusions",
    hint="`matrix.stack()` gives one value per (true, predicted) pair; drop the "
    "pairs where true == predicted and those with 0 rows, then sort by rows, "
    "largest first, and keep k.",
    description="top_confusions(matrix, k) -> DataFrame with true, predicted, rows",
)
def _check_top_confusions(top_confusions: Callable) -> list[str]:
    matrix = _small_confusion()
    top = _call(top_confusions, matrix, 2)
    if not isinstance(top, pd.DataFrame):
        return [f"the result is a {type(top).__name__}, expected a DataFrame."]
    missing = [
        column for column in ("true", "predicted", "rows") if column not in top.columns
    ]
    if missing:
        return [f"the columns {missing} are missing."]
    found = [(row.true, row.predicted, int(row.rows)) for row in top.itertuples()]
    expected = [("c", "b", 4), ("b", "a", 2)]
    problems = []
    if found != expected:
        problems.append(
            f"for the matrix {matrix.to_numpy().tolist()} (classes a-d) and k = 2, the "
            f"result is {found}; expected {expected}."
        )
    everything = _call(top_confusions, matrix, 10)
    if len(everything) != 3:
        problems.append(
            f"with k = 10 the result has {len(everything)} rows; the matrix has only "
            "3 off-diagonal cells with rows."
        )
    return problems


@_register(
    "07",
    "micro_macro_auc",
    hint="Macro: `roc_auc_score(y_true == i, y_score[:, i])` for each class i in "
    "y_true, then the mean. Micro: build the one-hot truth of those classes and "
    "call roc_auc_score once on `.ravel()` of it and of their score columns.",
    description="micro_macro_auc(y_true, y_score) -> {'micro', 'macro'}",
)
def _check_micro_macro_auc(micro_macro_auc: Callable) -> list[str]:
    from iotlab.evaluation import roc_curves

    rng = np.random.default_rng(0)
    y_true = np.repeat([0, 1, 2, 5], [40, 30, 20, 10])
    y_score = rng.random((len(y_true), 12))
    y_score[np.arange(len(y_true)), y_true] += rng.uniform(0.0, 0.8, len(y_true))
    auc = _call(micro_macro_auc, y_true, y_score)
    if not isinstance(auc, dict) or not {"micro", "macro"} <= set(auc):
        return ["return a dict with the keys 'micro' and 'macro'."]
    expected = roc_curves(y_true, y_score)["auc"]
    problems = []
    for key in ("micro", "macro"):
        if not _is_close(auc[key], expected[key], 1e-6):
            problems.append(
                f"for 100 rows of classes 0, 1, 2 and 5 with noisy scores over 12 "
                f"columns, the {key} AUC is {auc[key]!r}; expected {expected[key]:.6f} "
                "(only the classes with rows count)."
            )
    return problems


# --------------------------------------------------------------------------
# 09_deployment


@_register(
    "09",
    "latency_ms",
    hint="Loop i over range(n_calls), take row = X[i % len(X) : i % len(X) + 1] "
    "(a 2-D slice), and time predict(row) with time.perf_counter(). Report "
    "np.median and np.percentile(..., 95) of the times, times 1000.",
    description="latency_ms(predict, X, n_calls) -> dict median, p95 in ms",
)
def _check_latency_ms(latency_ms: Callable) -> list[str]:
    import time

    X = np.arange(15.0).reshape(5, 3)
    seen = []

    def slow_predict(batch):
        seen.append(np.shape(batch))
        time.sleep(0.002)
        return np.zeros(len(batch))

    summary = _call(latency_ms, slow_predict, X, 8)
    if not isinstance(summary, dict) or {"median", "p95"} - set(summary):
        return ["return a dict with the keys 'median' and 'p95'."]
    problems = []
    if len(seen) != 8:
        problems.append(f"predict was called {len(seen)} times for n_calls=8.")
    if any(shape != (1, 3) for shape in seen):
        problems.append(
            f"predict received inputs of shapes {sorted(set(seen))}; pass one row "
            "as a 2-D slice of shape (1, 3)."
        )
    if not 2.0 <= float(summary["median"]) < 1000.0:
        problems.append(
            f"the median is {summary['median']!r} for a predict that sleeps 2 ms; "
            "report milliseconds, not seconds."
        )
    elif not float(summary["p95"]) >= float(summary["median"]):
        problems.append("the 95th percentile is below the median.")
    return problems


@_register(
    "09",
    "update_confusion",
    hint="np.add.at(matrix, (y_true, y_pred), 1) adds one to each (true, "
    "predicted) cell, and counts a repeated pair each time; "
    "matrix[y_true, y_pred] += 1 would count it once.",
    description="update_confusion(matrix, y_true, y_pred) -> matrix, updated in place",
)
def _check_update_confusion(update_confusion: Callable) -> list[str]:
    matrix = np.zeros((12, 12), dtype=np.int64)
    returned = _call(
        update_confusion, matrix, np.array([0, 0, 0, 1, 11]), np.array([0, 0, 1, 1, 0])
    )
    _call(update_confusion, matrix, np.array([0]), np.array([0]))
    expected = np.zeros((12, 12), dtype=np.int64)
    expected[0, 0], expected[0, 1], expected[1, 1], expected[11, 0] = 3, 1, 1, 1
    problems = []
    if returned is not matrix:
        problems.append("return the matrix you were given, updated in place.")
    if not np.array_equal(matrix, expected):
        cells = {
            (int(i), int(j)): int(matrix[i, j]) for i, j in zip(*np.nonzero(matrix))
        }
        problems.append(
            f"after the batches true [0, 0, 0, 1, 11] / predicted [0, 0, 1, 1, 0] "
            f"and true [0] / predicted [0], the nonzero cells are {cells}; "
            "expected {(0, 0): 3, (0, 1): 1, (1, 1): 1, (11, 0): 1}."
        )
    return problems


@_register(
    "09",
    "scores_from_confusion",
    hint="Accuracy is the diagonal over the total. Recall divides the diagonal "
    "by row sums, precision by column sums. Average F1 over the classes whose "
    "row or column is not empty.",
    description="scores_from_confusion(matrix) -> dict accuracy, macro_f1, recall",
)
def _check_scores_from_confusion(scores_from_confusion: Callable) -> list[str]:
    from sklearn.metrics import accuracy_score, f1_score

    from iotlab.preprocessing import CLASS_NAMES

    # Port Scan 4 rows (3 right, 1 as Benign), Benign 2 rows (both right),
    # UDP Flood 1 row (as Benign), and no row predicted as UDP Flood.
    y_true = np.array([0, 0, 0, 0, 1, 1, 10])
    y_pred = np.array([0, 0, 0, 1, 1, 1, 1])
    matrix = np.zeros((12, 12), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    scores = _call(scores_from_confusion, matrix)
    if not isinstance(scores, dict) or {"accuracy", "macro_f1", "recall"} - set(scores):
        return ["return a dict with the keys 'accuracy', 'macro_f1' and 'recall'."]
    problems = []
    accuracy = accuracy_score(y_true, y_pred)
    macro_f1 = f1_score(y_true, y_pred, average="macro", zero_division=0)
    if not _is_close(scores["accuracy"], accuracy):
        problems.append(
            f"'accuracy' is {scores['accuracy']!r}; expected {accuracy:.4f}."
        )
    if not _is_close(scores["macro_f1"], macro_f1):
        problems.append(
            f"'macro_f1' is {scores['macro_f1']!r}; expected {macro_f1:.4f} (the F1 "
            "of Port Scan, Benign and UDP Flood, averaged)."
        )
    recall = scores["recall"]
    expected = {CLASS_NAMES[0]: 0.75, CLASS_NAMES[1]: 1.0, CLASS_NAMES[10]: 0.0}
    if not isinstance(recall, pd.Series):
        problems.append("'recall' must be a Series indexed by class name.")
    elif {str(name) for name in recall.index} != set(expected) or not all(
        _is_close(recall[name], value) for name, value in expected.items()
    ):
        problems.append(
            f"'recall' is {recall.round(4).to_dict()}; expected {expected}."
        )
    return problems


# --------------------------------------------------------------------------
# Entry points


def _lesson_key(lesson: str | int) -> str:
    text = str(lesson).strip()
    if text.isdigit():
        return text.zfill(2)
    return text[:2]


def available_checks() -> dict[str, list[str]]:
    """List the exercises that have a check, by lesson number.

    Returns
    -------
    dict
        Lesson number (``"00"``, ``"01"``, ...) -> exercise names.
    """
    listing: dict[str, list[str]] = {}
    for lesson, exercise in _CHECKS:
        listing.setdefault(lesson, []).append(exercise)
    return listing


def run_check(lesson: str | int, exercise: str, answer: Any) -> CheckResult:
    """Run one exercise's check and return its result without printing.

    Parameters
    ----------
    lesson : str or int
        Lesson number or folder name: ``"02"``, ``2`` or ``"02_preprocessing"``.
    exercise : str
        Exercise name, as listed by :func:`available_checks`.
    answer : object
        What the exercise asks for, usually the student's function.

    Returns
    -------
    CheckResult

    Raises
    ------
    UnknownCheckError
        When the lesson has no check of that name.
    """
    key = (_lesson_key(lesson), exercise)
    if key not in _CHECKS:
        known = ", ".join(available_checks().get(key[0], [])) or "none"
        raise UnknownCheckError(
            f"No check named {exercise!r} for lesson {key[0]}. Checks of that lesson: {known}."
        )
    registered = _CHECKS[key]
    try:
        problems = registered.function(answer)
    except _NotDone:
        return CheckResult(key[0], exercise, TODO)
    except Exception as error:  # noqa: BLE001 (the student's code failed; report it)
        problems = [_describe_error(exercise, error)]
    status = FAIL if problems else PASS
    return CheckResult(key[0], exercise, status, tuple(problems), registered.hint)


def check(lesson: str | int, exercise: str, answer: Any) -> None:
    """Check an exercise and print ``PASS``, ``FAIL`` with hints, or ``TODO``.

    It prints rather than returns, so that a notebook cell ending with the
    call shows only the report; use :func:`run_check` to get the result.

    Parameters
    ----------
    lesson : str or int
        Lesson number or folder name: ``"02"``, ``2`` or ``"02_preprocessing"``.
    exercise : str
        Exercise name, as listed by :func:`available_checks`.
    answer : object
        What the exercise asks for, usually the student's function.

    Raises
    ------
    UnknownCheckError
        When the lesson has no check of that name.

    Examples
    --------
    >>> from iotlab import checks
    >>> def class_weights(y):
    ...     raise NotImplementedError()
    >>> checks.check("02", "class_weights", class_weights)  # doctest: +ELLIPSIS
    TODO  lesson 02, class_weights: not done yet. ...
    """
    print(run_check(lesson, exercise, answer).report())


def check_class_weights(class_weights: Callable) -> None:
    """Check lesson 02's ``class_weights(y_train)``; see :func:`check`."""
    check("02", "class_weights", class_weights)


def check_min_max(fit_min_max: Callable, min_max_scale: Callable) -> None:
    """Check lesson 02's ``fit_min_max`` and ``min_max_scale``; see :func:`check`."""
    check("02", "min_max", (fit_min_max, min_max_scale))
