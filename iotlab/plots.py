"""Figures for the course: classes, confusion matrices, metrics, training, ROC.

Every function draws with matplotlib and seaborn, returns the
``matplotlib.figure.Figure``, and saves a PNG when given ``path=`` (written
under a temporary name, then renamed). Figures are built with
``matplotlib.figure.Figure`` rather than ``pyplot``, so they need no display
and pyplot does not keep them open. A notebook shows a returned figure as
its cell's output.

API summary
-----------
``plot_class_distribution(y, log=True, path=None)``
``plot_confusion_matrix(matrix, title=None, path=None)``
    ``matrix`` from ``iotlab.evaluation.confusion``; counts or shares.
``plot_per_class_metrics(report, title=None, path=None)``
    ``report`` from ``iotlab.evaluation.per_class_report``.
``plot_training_curves(history, title=None, path=None)``
    A Keras ``History`` or its ``history`` dict.
``plot_roc_curves(curves, title=None, path=None)``
    One model's ``iotlab.evaluation.roc_curves`` result, or a dict of model
    name -> such a result (micro-average curves side by side).
``save_figure(figure, path, dpi=120) -> Path``
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from iotlab.preprocessing import CLASS_NAMES, encode_labels


def save_figure(figure: Figure, path, dpi: int = 120) -> Path:
    """Write ``figure`` as a PNG at ``path``, replacing it only when complete.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    path : str or Path
        Destination ending in ``.png``; the folder must exist.
    dpi : int, default 120

    Returns
    -------
    Path
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"Figure path {str(path)!r} must end in .png.")
    temporary = path.with_name(f".{path.stem}.partial.png")
    try:
        figure.savefig(temporary, dpi=dpi, format="png")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _finish(figure: Figure, path) -> Figure:
    if path is not None:
        save_figure(figure, path)
    return figure


def plot_class_distribution(y, log: bool = True, title: str | None = None, path=None):
    """Draw rows per class as horizontal bars, largest class on top.

    Parameters
    ----------
    y : array-like
        Class names or indices of the rows.
    log : bool, default True
        Log-scale axis: the largest class has about 88,000 times the rows of
        the smallest in the full file, so a linear axis hides the rare ones.
    title : str, optional
    path : str or Path, optional
        Save the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    codes = encode_labels(y)
    counts = pd.Series(np.bincount(codes, minlength=len(CLASS_NAMES)), CLASS_NAMES)
    counts = counts[counts > 0].sort_values(ascending=False)
    figure = Figure(figsize=(7, 0.35 * len(counts) + 1.2), layout="constrained")
    ax = figure.subplots()
    sns.barplot(x=counts.to_numpy(), y=list(counts.index), ax=ax, color="tab:blue")
    if log:
        ax.set_xscale("log")
    for position, count in enumerate(counts.to_numpy()):
        ax.text(count, position, f" {count:,}", va="center", fontsize=8)
    ax.set_xlabel("rows (log scale)" if log else "rows")
    ax.set_ylabel("")
    ax.set_title(title or f"Rows per class ({len(codes):,} rows)")
    return _finish(figure, path)


def plot_confusion_matrix(matrix: pd.DataFrame, title: str | None = None, path=None):
    """Draw a confusion matrix as an annotated heat map.

    Parameters
    ----------
    matrix : pandas.DataFrame
        From ``iotlab.evaluation.confusion``: rows true, columns predicted.
        Whole numbers are written as counts, others as shares.
    title : str, optional
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = matrix.to_numpy(dtype=float)
    is_count = np.allclose(values, np.round(values))
    size = 1.6 + 0.6 * len(matrix)
    figure = Figure(figsize=(size + 1.5, size), layout="constrained")
    ax = figure.subplots()
    sns.heatmap(
        matrix,
        annot=True,
        fmt=".0f" if is_count else ".2f",
        cmap="Blues",
        cbar=True,
        ax=ax,
        annot_kws={"fontsize": 7},
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(
        title or ("Confusion matrix (counts)" if is_count else "Confusion matrix")
    )
    return _finish(figure, path)


def plot_per_class_metrics(report: pd.DataFrame, title: str | None = None, path=None):
    """Draw precision, recall and F1 per class as grouped bars.

    Parameters
    ----------
    report : pandas.DataFrame
        From ``iotlab.evaluation.per_class_report``; class labels show the
        support, because a score on 1 test row means little.
    title : str, optional
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    frame = report.copy()
    frame.index = [
        f"{name} (n={int(n)})" for name, n in zip(frame.index, frame["support"])
    ]
    long = (
        frame[["precision", "recall", "f1"]]
        .rename_axis("class")
        .reset_index()
        .melt(id_vars="class", var_name="metric", value_name="score")
    )
    figure = Figure(figsize=(8, 0.5 * len(frame) + 1.5), layout="constrained")
    ax = figure.subplots()
    sns.barplot(data=long, y="class", x="score", hue="metric", ax=ax)
    ax.set_xlim(0, 1.05)
    ax.set_ylabel("")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(title or "Per-class precision, recall and F1")
    return _finish(figure, path)


def plot_training_curves(history, title: str | None = None, path=None):
    """Draw loss and accuracy per epoch, training and validation.

    Parameters
    ----------
    history : keras.callbacks.History or dict
        ``History`` returned by ``iotlab.models.train``, or its ``history``
        dict of metric name -> list of per-epoch values.
    title : str, optional
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    logs = getattr(history, "history", history)
    if "loss" not in logs:
        raise ValueError(
            f"history has no 'loss' entry (keys: {sorted(logs)}); pass the History "
            "that iotlab.models.train returns."
        )
    figure = Figure(figsize=(10, 3.5), layout="constrained")
    axes = figure.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, label in (("", "training"), ("val_", "validation")):
            values = logs.get(prefix + metric)
            if values:
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        if ax.get_lines():
            ax.legend()
    figure.suptitle(title or "Training curves")
    return _finish(figure, path)


def plot_roc_curves(curves: dict, title: str | None = None, path=None):
    """Draw one-vs-rest ROC curves.

    Parameters
    ----------
    curves : dict
        Either one model's ``iotlab.evaluation.roc_curves`` result (drawn as
        one curve per class plus the micro and macro averages), or a dict of
        model name -> such a result (one micro-average curve per model).
    title : str, optional
    path : str or Path, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure = Figure(figsize=(6.5, 5.5), layout="constrained")
    ax = figure.subplots()
    if "per_class" in curves:
        for name, (fpr, tpr, auc) in curves["per_class"].items():
            ax.plot(fpr, tpr, linewidth=1, alpha=0.7, label=f"{name} ({auc:.3f})")
        for average in ("micro", "macro"):
            fpr, tpr, auc = curves[average]
            ax.plot(
                fpr, tpr, linewidth=2.5, linestyle="--", label=f"{average} ({auc:.3f})"
            )
    else:
        for model, result in curves.items():
            fpr, tpr, auc = result["micro"]
            ax.plot(fpr, tpr, linewidth=1.5, label=f"{model} (micro AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title or "ROC curves (one-vs-rest)")
    return _finish(figure, path)
