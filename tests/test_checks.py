"""The student self-checks in iotlab.checks: correct solutions pass, stubs
report TODO, and wrong solutions fail with a hint."""

from __future__ import annotations

import platform

import numpy as np
import pandas as pd
import pytest

from iotlab import checks


def not_done(*args, **kwargs):
    raise NotImplementedError()


# Correct solutions, written as a student would.


def environment_report():
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "tensorflow": tf.__version__,
        "device": "GPU" if tf.config.list_physical_devices("GPU") else "CPU",
    }


def describe_frame(df):
    labels = df["Label"].value_counts()
    return {
        "rows": len(df),
        "columns": df.shape[1],
        "classes": int((labels > 0).sum()),
        "source": df.attrs["source"],
    }


def scale_to_full(seconds, sample_rows, full_rows):
    if sample_rows <= 0:
        raise ValueError(f"sample_rows must be positive, got {sample_rows}")
    return seconds * full_rows / sample_rows


def class_counts(labels):
    counts = labels.value_counts()
    return counts[counts > 0]


def imbalance_ratio(counts):
    present = counts[counts > 0]
    return present.max() / present.min()


def non_finite_counts(df):
    numeric = df.select_dtypes("number")
    counts = (~np.isfinite(numeric)).sum()
    return counts[counts > 0].sort_values(ascending=False)


def parse_capture_time(text):
    for pattern in ("%Y-%m-%d %H:%M:%S", "%d/%m/%Y %I:%M:%S %p"):
        try:
            parsed = pd.to_datetime(text, format=pattern)
            break
        except ValueError:
            continue
    if parsed.month < 10:
        parsed = parsed.replace(month=parsed.day, day=parsed.month)
    return parsed


def split(X, y, test_size, seed):
    from sklearn.model_selection import train_test_split

    return train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)


def fit_min_max(X_train):
    return X_train.min(), X_train.max()


def min_max_scale(X, minimum, maximum):
    span = maximum - minimum
    scaled = (X - minimum) / span.replace(0, 1)
    scaled.loc[:, span == 0] = 0.0
    return scaled


def class_weights(y_train):
    counts = pd.Series(y_train).value_counts()
    return {
        label: len(y_train) / (len(counts) * count) for label, count in counts.items()
    }


def correlated_columns(X_train, threshold):
    constant = set(X_train.columns[X_train.max() == X_train.min()])
    r = X_train.drop(columns=list(constant)).corr().abs()
    kept, dropped = [], []
    for column in X_train.columns:
        if column in constant or (kept and (r.loc[column, kept] > threshold).any()):
            dropped.append(column)
        else:
            kept.append(column)
    return dropped


def rfe_select(X_train, y_train, n_features, seed):
    from sklearn.feature_selection import RFE
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(random_state=seed)
    rfe = RFE(tree, n_features_to_select=n_features, step=0.2).fit(X_train, y_train)
    return list(X_train.columns[rfe.support_])


def score_columns(columns, X_train, y_train, X_test, y_test, n_trees, seed):
    import time

    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    model = RandomForestClassifier(n_estimators=n_trees, random_state=seed, n_jobs=1)
    started = time.perf_counter()
    model.fit(X_train[columns], y_train)
    fit_seconds = time.perf_counter() - started
    y_pred = model.predict(X_test[columns])
    classes = sorted(pd.unique(y_test))
    recall = recall_score(y_test, y_pred, labels=classes, average=None)
    return {
        "features": len(columns),
        "fit_seconds": fit_seconds,
        "accuracy": accuracy_score(y_test, y_pred),
        "macro_f1": f1_score(y_test, y_pred, average="macro"),
        "recall": pd.Series(recall, index=classes),
    }


def _correlated_keeping_constants(X_train, threshold):
    r = X_train.corr().abs()
    kept, dropped = [], []
    for column in X_train.columns:
        if kept and (r.loc[column, kept] > threshold).any():
            dropped.append(column)
        else:
            kept.append(column)
    return dropped


def _score_with_accuracy_as_f1(*args):
    scores = score_columns(*args)
    scores["macro_f1"] = scores["accuracy"]
    return scores


# Lesson 08.


def recall_with_support(y_true, y_pred):
    from iotlab.evaluation import per_class_report

    report = per_class_report(y_true, y_pred)
    return report.loc[report["support"] > 0, ["recall", "support"]]


def group_permutation_drop(model, X_test, y_test, columns, seed):
    from sklearn.metrics import accuracy_score, f1_score

    from iotlab.pitfalls import shuffle_columns

    before = model.predict(X_test)
    after = model.predict(shuffle_columns(X_test, columns, seed))
    f1_before = f1_score(y_test, before, average="macro", zero_division=0)
    f1_after = f1_score(y_test, after, average="macro", zero_division=0)
    return {
        "accuracy": accuracy_score(y_test, before) - accuracy_score(y_test, after),
        "macro_f1": f1_before - f1_after,
    }


def duplicated_in_train(train, test, columns):
    from iotlab.pitfalls import duplicated_in_train as reference

    return reference(train, test, columns)


def latest_share_mask(flows, test_size):
    from iotlab.pitfalls import time_split_mask

    return time_split_mask(flows, test_size)


def _earliest_share_mask(flows, test_size):
    # Marks the earliest rows of each class instead of the latest.
    reversed_time = flows.assign(
        Timestamp=flows["Timestamp"].max() - flows["Timestamp"]
    )
    return latest_share_mask(reversed_time, test_size)


def _scores_after_shuffle(model, X_test, y_test, columns, seed):
    # Returns the scores of the shuffled copy instead of their drop.
    drop = group_permutation_drop(model, X_test, y_test, columns, seed)
    return {key: 1.0 - value for key, value in drop.items()}


def make_classical_models(seed, n_trees):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    return {
        "LR": LogisticRegression(max_iter=1000),
        "DT": DecisionTreeClassifier(random_state=seed),
        "RF": RandomForestClassifier(n_estimators=n_trees, random_state=seed, n_jobs=1),
    }


def fit_power_law(sizes, seconds):
    slope, intercept = np.polyfit(np.log(sizes), np.log(seconds), 1)
    return slope, np.exp(intercept)


def make_nystroem_svm(n_components, gamma, seed):
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        Nystroem(gamma=gamma, n_components=n_components, random_state=seed),
        SGDClassifier(loss="hinge", alpha=1e-5, random_state=seed),
    )


def as_sequences(X):
    values = np.asarray(X, dtype=np.float32)
    return values[:, :, np.newaxis]


def _sequential(n_features, *hidden):
    import keras

    return keras.Sequential([keras.Input(shape=(n_features, 1)), *hidden])


def build_cnn(n_features, n_classes):
    from keras import layers

    return _sequential(
        n_features,
        layers.Conv1D(64, 3, activation="relu"),
        layers.MaxPooling1D(2),
        layers.Conv1D(128, 3, activation="relu"),
        layers.MaxPooling1D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(n_classes, activation="softmax"),
    )


def build_lstm(n_features, n_classes):
    from keras import layers

    return _sequential(
        n_features,
        layers.LSTM(128, return_sequences=True),
        layers.LSTM(64),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(n_classes, activation="softmax"),
    )


def build_cnn_lstm(n_features, n_classes):
    from keras import layers

    return _sequential(
        n_features,
        layers.Conv1D(64, 3, activation="relu"),
        layers.MaxPooling1D(2),
        layers.Conv1D(128, 3, activation="relu"),
        layers.MaxPooling1D(2),
        layers.LSTM(128, return_sequences=True),
        layers.LSTM(64),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(n_classes, activation="softmax"),
    )


def _lstm_without_sequences(n_features, n_classes):
    from keras import layers

    return _sequential(
        n_features,
        layers.Conv1D(64, 3, activation="relu"),
        layers.MaxPooling1D(2),
        layers.Conv1D(128, 3, activation="relu"),
        layers.MaxPooling1D(2),
        layers.LSTM(128),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(n_classes, activation="softmax"),
    )


def timesteps_after_conv(n_features):
    steps = n_features
    for _ in range(2):
        if steps < 3:
            return 0
        steps = (steps - 2) // 2
    return steps


def weighted_cross_entropy(y_true, y_prob, class_weight):
    y_true = np.asarray(y_true)
    true_prob = np.asarray(y_prob)[np.arange(len(y_true)), y_true]
    weights = np.array([class_weight[label] for label in y_true])
    return float(np.mean(weights * -np.log(true_prob)))


def _weighted_mean_cross_entropy(y_true, y_prob, class_weight):
    y_true = np.asarray(y_true)
    true_prob = np.asarray(y_prob)[np.arange(len(y_true)), y_true]
    weights = np.array([class_weight[label] for label in y_true])
    return float(np.sum(weights * -np.log(true_prob)) / weights.sum())


def make_early_stopping(patience):
    import keras

    return keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=patience, restore_best_weights=True
    )


def per_class_from_confusion(matrix):
    from sklearn.metrics import precision_recall_fscore_support

    # Rebuild the rows from the counts and let scikit-learn do the ratios.
    true, predicted = [], []
    for true_name in matrix.index:
        for predicted_name in matrix.columns:
            count = int(matrix.loc[true_name, predicted_name])
            true += [true_name] * count
            predicted += [predicted_name] * count
    precision, recall, f1, support = precision_recall_fscore_support(
        true, predicted, labels=list(matrix.index), zero_division=0
    )
    return pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=matrix.index,
    )


def _per_class_without_zero_division(matrix):
    counts = matrix.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.diag(counts) / counts.sum(axis=0)
        recall = np.diag(counts) / counts.sum(axis=1)
    return pd.DataFrame(
        {
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall),
            "support": counts.sum(axis=1),
        },
        index=matrix.index,
    )


def top_confusions(matrix, k):
    cells = matrix.stack().rename("rows")
    cells.index.names = ["true", "predicted"]
    cells = cells.reset_index()
    mistakes = cells[(cells["true"] != cells["predicted"]) & (cells["rows"] > 0)]
    return mistakes.nlargest(k, "rows").reset_index(drop=True)


def micro_macro_auc(y_true, y_score):
    from sklearn.metrics import roc_auc_score

    present = np.unique(y_true)
    onehot = np.asarray(y_true)[:, None] == present
    macro = np.mean(
        [
            roc_auc_score(onehot[:, j], y_score[:, code])
            for j, code in enumerate(present)
        ]
    )
    micro = roc_auc_score(onehot.ravel(), y_score[:, present].ravel())
    return {"micro": micro, "macro": macro}


def _auc_weighted_as_macro(y_true, y_score):
    from sklearn.metrics import roc_auc_score

    present, support = np.unique(y_true, return_counts=True)
    onehot = np.asarray(y_true)[:, None] == present
    aucs = [
        roc_auc_score(onehot[:, j], y_score[:, code]) for j, code in enumerate(present)
    ]
    micro = roc_auc_score(onehot.ravel(), y_score[:, present].ravel())
    return {"micro": micro, "macro": np.average(aucs, weights=support)}


def _cnn_with_one_pool(n_features, n_classes):
    from keras import layers

    return _sequential(
        n_features,
        layers.Conv1D(64, 3, activation="relu"),
        layers.Conv1D(128, 3, activation="relu"),
        layers.MaxPooling1D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(n_classes, activation="softmax"),
    )


def _lstm_without_sequences_between(n_features, n_classes):
    from keras import layers

    return _sequential(
        n_features,
        layers.LSTM(128),
        layers.LSTM(64),
        layers.Dense(n_classes, activation="softmax"),
    )


def _top_cells_with_diagonal(matrix, k):
    cells = matrix.stack().rename("rows")
    cells.index.names = ["true", "predicted"]
    return cells.reset_index().nlargest(k, "rows").reset_index(drop=True)


# Lesson 09.


def latency_ms(predict, X, n_calls):
    import time

    seconds = []
    for i in range(n_calls):
        start = i % len(X)
        began = time.perf_counter()
        predict(X[start : start + 1])
        seconds.append(time.perf_counter() - began)
    return {
        "median": 1000 * float(np.median(seconds)),
        "p95": 1000 * float(np.percentile(seconds, 95)),
    }


def update_confusion(matrix, y_true, y_pred):
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def scores_from_confusion(matrix):
    from iotlab.deployment import scores_from_confusion as reference

    return reference(matrix)


def _latency_in_seconds(predict, X, n_calls):
    summary = latency_ms(predict, X, n_calls)
    return {key: value / 1000 for key, value in summary.items()}


def _update_without_repeats(matrix, y_true, y_pred):
    # Fancy-index assignment counts a repeated (true, predicted) pair once.
    matrix[np.asarray(y_true), np.asarray(y_pred)] += 1
    return matrix


def _macro_f1_over_all_classes(matrix):
    scores = scores_from_confusion(matrix)
    present = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    scores["macro_f1"] *= present.sum() / len(matrix)
    return scores


CORRECT = {
    ("00", "environment_report"): environment_report,
    ("00", "describe_frame"): describe_frame,
    ("00", "scale_to_full"): scale_to_full,
    ("01", "class_counts"): class_counts,
    ("01", "imbalance_ratio"): imbalance_ratio,
    ("01", "non_finite_counts"): non_finite_counts,
    ("01", "parse_capture_time"): parse_capture_time,
    ("02", "split"): split,
    ("02", "min_max"): (fit_min_max, min_max_scale),
    ("02", "class_weights"): class_weights,
    ("03", "correlated_columns"): correlated_columns,
    ("03", "rfe_select"): rfe_select,
    ("03", "score_columns"): score_columns,
    ("04", "classical_models"): make_classical_models,
    ("04", "power_law"): fit_power_law,
    ("04", "nystroem_svm"): make_nystroem_svm,
    ("05", "as_sequences"): as_sequences,
    ("05", "build_cnn"): build_cnn,
    ("05", "build_lstm"): build_lstm,
    ("06", "timesteps_after_conv"): timesteps_after_conv,
    ("06", "build_cnn_lstm"): build_cnn_lstm,
    ("06", "weighted_cross_entropy"): weighted_cross_entropy,
    ("06", "early_stopping"): make_early_stopping,
    ("07", "per_class_from_confusion"): per_class_from_confusion,
    ("07", "top_confusions"): top_confusions,
    ("07", "micro_macro_auc"): micro_macro_auc,
    ("08", "recall_with_support"): recall_with_support,
    ("08", "group_permutation_drop"): group_permutation_drop,
    ("08", "duplicated_in_train"): duplicated_in_train,
    ("08", "latest_share_mask"): latest_share_mask,
    ("09", "latency_ms"): latency_ms,
    ("09", "update_confusion"): update_confusion,
    ("09", "scores_from_confusion"): scores_from_confusion,
}

# Plausible mistakes, one per exercise.
WRONG = {
    ("00", "environment_report"): lambda: {"python": "3"},
    ("00", "describe_frame"): lambda df: {
        "rows": len(df),
        "columns": df.shape[1],
        "classes": df["Label"].value_counts().size,
        "source": "twin",
    },
    ("00", "scale_to_full"): lambda seconds, sample_rows, full_rows: seconds,
    ("01", "class_counts"): lambda labels: labels.value_counts(),
    ("01", "imbalance_ratio"): lambda counts: counts.max() / counts.min(),
    ("01", "non_finite_counts"): lambda df: df.isna().sum(),
    ("01", "parse_capture_time"): lambda text: pd.to_datetime(text, format="mixed"),
    ("02", "split"): lambda X, y, test_size, seed: tuple(
        __import__("sklearn.model_selection").model_selection.train_test_split(
            X, y, test_size=test_size, random_state=seed
        )
    ),
    ("02", "min_max"): (
        lambda X: (X.min(), X.max()),
        lambda X, minimum, maximum: (X - X.min()) / (X.max() - X.min()),
    ),
    ("02", "class_weights"): lambda y: {
        label: 1 / count for label, count in pd.Series(y).value_counts().items()
    },
    ("03", "correlated_columns"): _correlated_keeping_constants,
    ("03", "rfe_select"): lambda X, y, n_features, seed: list(X.columns[:n_features]),
    ("03", "score_columns"): _score_with_accuracy_as_f1,
    ("04", "classical_models"): lambda seed, n_trees: {
        "LR": __import__("sklearn.linear_model").linear_model.LogisticRegression(),
        "DT": __import__("sklearn.tree").tree.DecisionTreeClassifier(),
        "RF": __import__("sklearn.ensemble").ensemble.RandomForestClassifier(n_trees),
    },
    ("04", "power_law"): lambda sizes, seconds: tuple(np.polyfit(sizes, seconds, 1)),
    ("04", "nystroem_svm"): lambda n_components, gamma, seed: make_nystroem_svm(
        n_components, None, seed
    ),
    ("05", "as_sequences"): lambda X: np.asarray(X)[:, np.newaxis, :],
    ("05", "build_cnn"): _cnn_with_one_pool,
    ("05", "build_lstm"): _lstm_without_sequences_between,
    ("06", "timesteps_after_conv"): lambda n_features: ((n_features - 2) // 2 - 2) // 2,
    ("06", "build_cnn_lstm"): _lstm_without_sequences,
    ("06", "weighted_cross_entropy"): _weighted_mean_cross_entropy,
    ("06", "early_stopping"): lambda patience: __import__(
        "keras"
    ).callbacks.EarlyStopping(patience=patience),
    ("07", "per_class_from_confusion"): _per_class_without_zero_division,
    ("07", "top_confusions"): _top_cells_with_diagonal,
    ("07", "micro_macro_auc"): _auc_weighted_as_macro,
    ("08", "recall_with_support"): lambda y_true, y_pred: __import__(
        "iotlab.evaluation"
    ).evaluation.per_class_report(y_true, y_pred)[["recall", "support"]],
    ("08", "group_permutation_drop"): _scores_after_shuffle,
    ("08", "duplicated_in_train"): lambda train, test, columns: duplicated_in_train(
        train, test, list(train.columns)
    ),
    ("08", "latest_share_mask"): _earliest_share_mask,
    ("09", "latency_ms"): _latency_in_seconds,
    ("09", "update_confusion"): _update_without_repeats,
    ("09", "scores_from_confusion"): _macro_f1_over_all_classes,
}


def test_every_check_has_cases():
    registered = {
        (lesson, exercise)
        for lesson, exercises in checks.available_checks().items()
        for exercise in exercises
    }
    assert registered == set(CORRECT)
    assert registered == set(WRONG)


@pytest.mark.parametrize("key", sorted(CORRECT), ids="-".join)
def test_correct_answer_passes(key, capsys):
    result = checks.run_check(*key, CORRECT[key])
    assert result.problems == ()
    assert result.status == checks.PASS


@pytest.mark.parametrize("key", sorted(WRONG), ids="-".join)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_wrong_answer_fails_with_hint(key):
    result = checks.run_check(*key, WRONG[key])
    assert result.status == checks.FAIL
    assert result.problems
    assert result.hint
    assert "Hint:" in result.report()


@pytest.mark.parametrize("key", sorted(CORRECT), ids="-".join)
def test_stub_reports_todo(key):
    answer = (not_done, not_done) if isinstance(CORRECT[key], tuple) else not_done
    result = checks.run_check(*key, answer)
    assert result.status == checks.TODO
    assert "NotImplementedError" in result.report()


def test_check_prints_report(capsys):
    assert checks.check("02", "class_weights", class_weights) is None
    assert capsys.readouterr().out.startswith("PASS  lesson 02, class_weights")
    checks.check("02_preprocessing", "class_weights", not_done)
    assert capsys.readouterr().out.startswith("TODO")


def test_lesson_given_as_number():
    assert checks.run_check(2, "class_weights", class_weights).passed


def test_student_error_is_reported():
    def broken(y):
        raise KeyError("Label")

    result = checks.run_check("02", "class_weights", broken)
    assert result.status == checks.FAIL
    assert "KeyError" in result.problems[0]


def test_unknown_exercise_names_known_ones():
    with pytest.raises(checks.UnknownCheckError, match="class_weights"):
        checks.run_check("02", "no_such_exercise", class_weights)
