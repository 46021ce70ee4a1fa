"""Metrics, per-class reports, confusion matrices, ROC curves and Table 3.

Class indices follow ``iotlab.preprocessing.CLASS_NAMES`` (the 12 labels of
``iotlab.schema.LABELS``). Averages run over the classes present in the true
or predicted labels, so a class with no test rows does not count as a zero.

API summary
-----------
``evaluate(y_true, y_pred, y_score=None) -> dict``
    accuracy, balanced_accuracy, precision/recall/f1 macro and weighted, and
    with scores roc_auc micro/macro/weighted.
``per_class_report(y_true, y_pred) -> DataFrame``
    precision, recall, f1 and support per class, indexed by class name.
``confusion(y_true, y_pred, normalize=None) -> DataFrame``
    Counts, or shares with ``normalize="true"``, ``"pred"`` or ``"all"``.
``roc_curves(y_true, y_score) -> dict``
    One-vs-rest curves per class present in ``y_true``, plus micro and macro
    curves and micro/macro/weighted AUC.
``PAPER_TABLE3`` and ``compare_with_paper(results) -> DataFrame``
    Table 3 of Reddy et al. 2025 (doi:10.5281/zenodo.17376640) as fractions,
    side by side with measured results.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics

from iotlab.preprocessing import CLASS_NAMES, encode_labels

#: Model names in the order of Table 3 of Reddy et al. 2025.
MODEL_NAMES: tuple[str, ...] = ("LR", "SVM", "DT", "RF", "CNN", "LSTM", "CNN-LSTM")

#: Table 3 of Reddy et al. 2025 as fractions. The paper does not say how its
#: precision, recall and F1 are averaged over classes; that they track the
#: accuracy suggests weighted averages. "CNN-LSTM" is the paper's "Proposed".
PAPER_TABLE3 = pd.DataFrame(
    {
        "accuracy": [0.912, 0.931, 0.925, 0.943, 0.9865, 0.9823, 0.9999],
        "precision": [0.912, 0.931, 0.925, 0.943, 0.9860, 0.9820, 0.9998],
        "recall": [0.912, 0.931, 0.925, 0.943, 0.9870, 0.9825, 0.9998],
        "f1": [0.912, 0.931, 0.925, 0.943, 0.9865, 0.9823, 0.9998],
    },
    index=pd.Index(MODEL_NAMES, name="model"),
)

#: Keys of ``evaluate``'s result, in report order.
METRIC_NAMES: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "precision_weighted",
    "recall_weighted",
    "f1_weighted",
)


def _codes(y) -> np.ndarray:
    return encode_labels(y)


def evaluate(y_true, y_pred, y_score=None) -> dict[str, float]:
    """Compute the summary metrics of one model on test rows.

    Parameters
    ----------
    y_true, y_pred : array-like
        True and predicted classes (names or indices).
    y_score : ndarray of shape (n_rows, 12), optional
        Class scores (probabilities or decision values) for the ROC AUCs.

    Returns
    -------
    dict of str to float
        ``METRIC_NAMES``, plus ``roc_auc_micro``, ``roc_auc_macro`` and
        ``roc_auc_weighted`` when ``y_score`` is given (NaN where undefined).
    """
    true, pred = _codes(y_true), _codes(y_pred)
    if true.size != pred.size:
        raise ValueError(
            f"y_true has {true.size} rows but y_pred has {pred.size}; pass "
            "predictions for the same rows."
        )
    if true.size == 0:
        raise ValueError("y_true is empty; evaluate needs at least one test row.")
    result = {
        "accuracy": metrics.accuracy_score(true, pred),
        # sklearn warns when a predicted class has no true rows; the
        # balanced accuracy ignores such classes, as intended.
        "balanced_accuracy": _balanced_accuracy(true, pred),
    }
    for average in ("macro", "weighted"):
        precision, recall, f1, _ = metrics.precision_recall_fscore_support(
            true, pred, average=average, zero_division=0
        )
        result[f"precision_{average}"] = precision
        result[f"recall_{average}"] = recall
        result[f"f1_{average}"] = f1
    if y_score is not None:
        curves = roc_curves(true, y_score)
        for average in ("micro", "macro", "weighted"):
            result[f"roc_auc_{average}"] = curves["auc"][average]
    return {name: float(value) for name, value in result.items()}


def _balanced_accuracy(true: np.ndarray, pred: np.ndarray) -> float:
    # Mean recall over the classes with test rows.
    recalls = [np.mean(pred[true == code] == code) for code in np.unique(true)]
    return float(np.mean(recalls))


def per_class_report(y_true, y_pred) -> pd.DataFrame:
    """Tabulate precision, recall, F1 and support per class.

    Parameters
    ----------
    y_true, y_pred : array-like
        True and predicted classes (names or indices).

    Returns
    -------
    pandas.DataFrame
        Indexed by class name (classes present in either input, in class
        order), columns ``precision``, ``recall``, ``f1``, ``support`` (true
        rows of the class). A class never predicted has precision 0.
    """
    true, pred = _codes(y_true), _codes(y_pred)
    present = np.union1d(true, pred)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        true, pred, labels=present, zero_division=0
    )
    return pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index([CLASS_NAMES[code] for code in present], name="class"),
    )


def confusion(y_true, y_pred, normalize: str | None = None) -> pd.DataFrame:
    """Build the confusion matrix with class names, rows true, columns predicted.

    Parameters
    ----------
    y_true, y_pred : array-like
        True and predicted classes (names or indices).
    normalize : {None, "true", "pred", "all"}, default None
        None gives counts. "true" divides each row by its true rows, so the
        diagonal contains the recalls. "pred" divides each column by its
        predictions, and "all" divides by the total.

    Returns
    -------
    pandas.DataFrame
        Square, over the classes present in either input, in class order.
    """
    if normalize not in {None, "true", "pred", "all"}:
        raise ValueError(
            f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}."
        )
    true, pred = _codes(y_true), _codes(y_pred)
    present = np.union1d(true, pred)
    matrix = metrics.confusion_matrix(true, pred, labels=present, normalize=normalize)
    names = [CLASS_NAMES[code] for code in present]
    return pd.DataFrame(
        matrix,
        index=pd.Index(names, name="true"),
        columns=pd.Index(names, name="predicted"),
    )


def roc_curves(y_true, y_score) -> dict:
    """Compute one-vs-rest ROC curves and their micro, macro and weighted AUC.

    Only classes with test rows get a curve: a class absent from ``y_true``
    has no positives, so its true-positive rate is undefined. The micro
    average pools the (row, class) decisions of those classes. The macro
    average is the mean of their AUCs, and its curve interpolates their TPRs
    on a common FPR grid. The weighted average weights each AUC by support.

    Parameters
    ----------
    y_true : array-like
        True classes (names or indices).
    y_score : ndarray of shape (n_rows, 12)
        Class scores, column i for class index i.

    Returns
    -------
    dict
        ``"per_class"``: class name -> (fpr, tpr, auc); ``"micro"`` and
        ``"macro"``: (fpr, tpr, auc); ``"auc"``: {"micro", "macro",
        "weighted"} -> float. AUCs are NaN when fewer than two classes have
        test rows.
    """
    true = _codes(y_true)
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != true.size:
        raise ValueError(
            f"y_score must have shape ({true.size}, {len(CLASS_NAMES)}), got "
            f"{scores.shape}."
        )
    if scores.shape[1] <= true.max():
        raise ValueError(
            f"y_score has {scores.shape[1]} columns but y_true contains class index "
            f"{int(true.max())}; pass one column per class index."
        )
    present, support = np.unique(true, return_counts=True)
    nan = float("nan")
    if present.size < 2:
        empty = (np.array([0.0, 1.0]), np.array([0.0, 1.0]), nan)
        return {
            "per_class": {},
            "micro": empty,
            "macro": empty,
            "auc": {"micro": nan, "macro": nan, "weighted": nan},
        }

    per_class = {}
    aucs = []
    for code in present:
        positive = true == code
        fpr, tpr, _ = metrics.roc_curve(positive, scores[:, code])
        auc = metrics.auc(fpr, tpr)
        per_class[CLASS_NAMES[code]] = (fpr, tpr, auc)
        aucs.append(auc)
    aucs = np.asarray(aucs)

    onehot = true[:, None] == present[None, :]
    micro_fpr, micro_tpr, _ = metrics.roc_curve(
        onehot.ravel(), scores[:, present].ravel()
    )
    micro_auc = metrics.auc(micro_fpr, micro_tpr)

    grid = np.unique(np.concatenate([curve[0] for curve in per_class.values()]))
    mean_tpr = np.mean(
        [np.interp(grid, fpr, tpr) for fpr, tpr, _ in per_class.values()], axis=0
    )
    return {
        "per_class": per_class,
        "micro": (micro_fpr, micro_tpr, float(micro_auc)),
        "macro": (grid, mean_tpr, float(aucs.mean())),
        "auc": {
            "micro": float(micro_auc),
            "macro": float(aucs.mean()),
            "weighted": float(np.average(aucs, weights=support)),
        },
    }


def compare_with_paper(results) -> pd.DataFrame:
    """Put measured results next to Table 3 of Reddy et al. 2025.

    Parameters
    ----------
    results : pandas.DataFrame or dict
        Measured metrics per model: a frame indexed by model name (or with a
        ``model`` column), or a dict model -> ``evaluate`` result.

    Returns
    -------
    pandas.DataFrame
        One row per model in Table 3 order (models missing on either side are
        kept with NaN), columns ``accuracy``, ``paper_accuracy``, ``f1_macro``,
        ``f1_weighted``, ``paper_f1``, ``balanced_accuracy``.
    """
    if isinstance(results, dict):
        measured = pd.DataFrame.from_dict(results, orient="index")
    else:
        measured = results.set_index("model") if "model" in results else results
    measured = measured.copy()
    measured.index.name = "model"
    table = pd.DataFrame(index=pd.Index(MODEL_NAMES, name="model"))
    extra = [name for name in measured.index if name not in table.index]
    table = table.reindex(list(table.index) + extra)
    for column in ("accuracy", "f1_macro", "f1_weighted", "balanced_accuracy"):
        table[column] = measured.get(column, np.nan)
    table.insert(1, "paper_accuracy", PAPER_TABLE3["accuracy"])
    table.insert(4, "paper_f1", PAPER_TABLE3["f1"])
    return table
