"""Fidelity report of the offline twin: how closely it matches real rows.

``python -m iotlab twin-report [--real PATH] [--out DIR] [--rows N]`` writes
``DIR/twin-report.md`` and PNG figures with four measures:

1. per class, quantiles of the main features, twin against real;
2. a random forest trained on the twin and scored on the real rows;
3. a random forest trained on the real rows and scored on the twin;
4. a discriminator, a random forest that tells real rows from twin rows of
   the same class mix, with cross-validated accuracy and ROC AUC (0.5 is
   chance, and the closer to it, the better the twin).

The forests use every numeric column except the identifiers (ports) and the
two rate columns, which hold inf and NaN. Because the packaged figures were
derived from the same real rows, those scores are in-sample; the report adds
a held-out check that derives figures from one stratified half of the real
rows and scores the twin on the other half.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from iotlab import schema
from iotlab._cli import OutputDirError, prepare_output_dir, remove_created_dirs
from iotlab._errors import SchemaError
from iotlab.calibration.derive import (
    MAIN_FEATURES,
    CalibrationError,
    derive_figures,
    read_real_rows,
    stratified_halves,
)
from iotlab.twin import MAX_ROWS, MIN_ROWS, TwinError, check_n_rows, make_twin

logger = logging.getLogger(__name__)

CALIBRATION_NAME = "aci-iot-2023-calibration.csv"
#: Features of every forest in the report.
FEATURES: tuple[str, ...] = tuple(
    name
    for name in schema.NUMERIC_COLUMNS
    if name not in schema.IDENTIFIER_COLUMNS and name not in schema.RATE_COLUMNS
)
#: Twin samples the discriminator is averaged over.
DISCRIMINATOR_REPEATS = 5
N_TREES = 200


def default_real_path() -> Path | None:
    """Locate the real calibration rows, or return None.

    Looks in ``$IOTLAB_SHARED_DATA``, then in ``../shared/data`` next to the
    current folder and next to the repository that holds this package.
    """
    candidates = []
    if os.environ.get("IOTLAB_SHARED_DATA"):
        candidates.append(Path(os.environ["IOTLAB_SHARED_DATA"]) / CALIBRATION_NAME)
    candidates.append(Path.cwd().parent / "shared" / "data" / CALIBRATION_NAME)
    repository = Path(__file__).resolve().parents[1]
    candidates.append(repository.parent / "shared" / "data" / CALIBRATION_NAME)
    for path in candidates:
        if path.is_file():
            return path
    return None


def _matrix(frame: pd.DataFrame) -> np.ndarray:
    return frame[list(FEATURES)].to_numpy(np.float64)


def _labels(frame: pd.DataFrame) -> np.ndarray:
    return frame["Label"].astype(str).to_numpy()


def _forest(seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=N_TREES, random_state=seed, n_jobs=2)


def forest_transfer(train: pd.DataFrame, test: pd.DataFrame, seed: int = 0) -> dict:
    """Train a forest on ``train`` and score it on ``test``.

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1`` (over the classes present in ``test``),
        ``recall`` per class and the ``predicted`` labels.
    """
    model = _forest(seed).fit(_matrix(train), _labels(train))
    truth = _labels(test)
    predicted = model.predict(_matrix(test))
    present = sorted(set(truth))
    recall = {
        label: float((predicted[truth == label] == label).mean()) for label in present
    }
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(
            f1_score(truth, predicted, labels=present, average="macro", zero_division=0)
        ),
        "recall": recall,
        "predicted": predicted,
    }


def _matched_twin_rows(real: pd.DataFrame, twin: pd.DataFrame, rng) -> pd.DataFrame:
    """Twin rows with the class counts of ``real``."""
    picks = []
    twin_labels = _labels(twin)
    for label, count in pd.Series(_labels(real)).value_counts().items():
        pool = np.flatnonzero(twin_labels == label)
        picks.append(rng.choice(pool, size=min(count, pool.size), replace=False))
    return twin.iloc[np.concatenate(picks)]


def discriminator(
    real: pd.DataFrame, twin: pd.DataFrame, seed: int = 0, repeats: int = 5
) -> dict:
    """Cross-validated real-vs-twin forest on rows of the same class mix.

    Each repeat draws a fresh twin sample with the class counts of ``real``
    and runs 5-fold stratified cross-validation.

    Returns
    -------
    dict
        Mean and standard deviation over repeats of ``accuracy`` and ``auc``,
        and the ``top_features`` of a forest fitted on all rows of the last
        repeat.
    """
    rng = np.random.default_rng(seed)
    accuracies, aucs = [], []
    folds = min(5, len(real))
    for repeat in range(repeats):
        sample = _matched_twin_rows(real, twin, rng)
        x = np.vstack([_matrix(real), _matrix(sample)])
        y = np.r_[np.ones(len(real)), np.zeros(len(sample))]
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed + repeat)
        score = cross_val_predict(
            _forest(seed + repeat), x, y, cv=cv, method="predict_proba"
        )[:, 1]
        accuracies.append(accuracy_score(y, score > 0.5))
        aucs.append(roc_auc_score(y, score))
    model = _forest(seed).fit(x, y)
    order = np.argsort(-model.feature_importances_)[:5]
    return {
        "accuracy": float(np.mean(accuracies)),
        "accuracy_sd": float(np.std(accuracies)),
        "auc": float(np.mean(aucs)),
        "auc_sd": float(np.std(aucs)),
        "top_features": [
            (FEATURES[i], float(model.feature_importances_[i])) for i in order
        ],
    }


def quantile_table(real: pd.DataFrame, twin: pd.DataFrame) -> pd.DataFrame:
    """Median and 10th/90th percentiles of the main features per class.

    Returns
    -------
    pandas.DataFrame
        One row per (class, feature) with ``real_p10``, ``real_p50``,
        ``real_p90``, ``twin_p10``, ``twin_p50``, ``twin_p90``.
    """
    records = []
    for label in schema.LABELS:
        real_rows = real[_labels(real) == label]
        twin_rows = twin[_labels(twin) == label]
        if real_rows.empty:
            continue
        for name in MAIN_FEATURES:
            record = {"class": label, "feature": name}
            for source, rows in (("real", real_rows), ("twin", twin_rows)):
                values = rows[name].to_numpy(np.float64)
                for q in (10, 50, 90):
                    record[f"{source}_p{q}"] = float(np.percentile(values, q))
            records.append(record)
    return pd.DataFrame.from_records(records)


def plot_quantiles(table: pd.DataFrame, path: Path) -> Path:
    """Draw twin against real 10-50-90 % ranges per class and feature."""
    features = list(dict.fromkeys(table["feature"]))
    classes = list(dict.fromkeys(table["class"]))
    columns = 3
    rows = int(np.ceil(len(features) / columns))
    figure = Figure(figsize=(5.2 * columns, 3.6 * rows), layout="constrained")
    for index, name in enumerate(features):
        axis = figure.add_subplot(rows, columns, index + 1)
        part = table[table["feature"] == name].set_index("class").loc[classes]
        y = np.arange(len(classes))
        for source, offset, color in (("real", -0.17, "black"), ("twin", 0.17, "C1")):
            low = np.log10(1 + part[f"{source}_p10"])
            mid = np.log10(1 + part[f"{source}_p50"])
            high = np.log10(1 + part[f"{source}_p90"])
            axis.hlines(y + offset, low, high, color=color, linewidth=2)
            axis.plot(mid, y + offset, "o", color=color, markersize=4, label=source)
        axis.set_yticks(y, classes, fontsize=7)
        axis.invert_yaxis()
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("log10(1 + value)", fontsize=8)
        if index == 0:
            axis.legend(fontsize=7)
    figure.suptitle("Main features per class: 10th, 50th and 90th percentile")
    figure.savefig(path, dpi=100)
    return path


def plot_confusion(truth, predicted, title: str, path: Path) -> Path:
    """Draw a confusion matrix of counts with the classes of ``truth``."""
    labels = [label for label in schema.LABELS if label in set(truth)]
    predicted_labels = [label for label in schema.LABELS if label in set(predicted)]
    shown = [
        label for label in schema.LABELS if label in labels or label in predicted_labels
    ]
    matrix = pd.crosstab(
        pd.Categorical(truth, categories=shown),
        pd.Categorical(predicted, categories=shown),
        dropna=False,
    ).to_numpy()
    figure = Figure(figsize=(7.5, 6.5), layout="constrained")
    axis = figure.add_subplot()
    axis.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            axis.text(j, i, str(count), ha="center", va="center", fontsize=7)
    axis.set_xticks(range(len(shown)), shown, rotation=60, ha="right", fontsize=7)
    axis.set_yticks(range(len(shown)), shown, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true (real rows)")
    axis.set_title(title, fontsize=9)
    figure.savefig(path, dpi=100)
    return path


def _format_quantiles(table: pd.DataFrame) -> list[str]:
    lines = [
        "| class | feature | real p10 / p50 / p90 | twin p10 / p50 / p90 |",
        "| --- | --- | ---: | ---: |",
    ]
    for record in table.itertuples(index=False):
        real = f"{record.real_p10:.4g} / {record.real_p50:.4g} / {record.real_p90:.4g}"
        twin = f"{record.twin_p10:.4g} / {record.twin_p50:.4g} / {record.twin_p90:.4g}"
        lines.append(f"| {record[0]} | {record[1]} | {real} | {twin} |")
    return lines


def build_report(real_path: Path, out: Path, rows: int, seed: int) -> dict:
    """Measure the twin against real rows and write the report.

    Parameters
    ----------
    real_path : Path
        Real rows in the published CSV layout.
    out : Path
        Folder for ``twin-report.md`` and the PNG figures; created if needed.
    rows : int
        Size of each twin.
    seed : int
        Seed of the twins, the forests and the held-out split.

    Returns
    -------
    dict
        The measured numbers (see the keys in the written report).
    """
    started = time.perf_counter()
    real = read_real_rows(real_path)
    out.mkdir(parents=True, exist_ok=True)
    twin = make_twin(rows, seed=seed)
    results: dict = {"rows": rows, "seed": seed, "real_rows": len(real)}

    table = quantile_table(real, twin)
    plot_quantiles(table, out / "twin-quantiles.png")
    results["twin_to_real"] = forest_transfer(twin, real, seed)
    plot_confusion(
        _labels(real),
        results["twin_to_real"]["predicted"],
        "Forest trained on the twin, scored on real rows",
        out / "twin-to-real-confusion.png",
    )
    results["real_to_twin"] = forest_transfer(real, twin, seed)
    results["discriminator"] = discriminator(
        real, twin, seed, repeats=DISCRIMINATOR_REPEATS
    )

    # Held-out: figures from half A only, scored on half B.
    half_a, half_b = stratified_halves(real, seed)
    figures = derive_figures(half_a, source="stratified half A")
    held_twin = make_twin(rows, seed=seed, calibration=figures)
    results["held_out_rows"] = (len(half_a), len(half_b))
    results["held_out_twin_to_real"] = forest_transfer(held_twin, half_b, seed)
    results["held_out_discriminator"] = discriminator(
        half_b, held_twin, seed, repeats=DISCRIMINATOR_REPEATS
    )
    results["seconds"] = time.perf_counter() - started
    markdown = _markdown(results, table, real_path)
    temporary = out / "twin-report.md.tmp"
    temporary.write_text(markdown)
    temporary.replace(out / "twin-report.md")
    return results


def _markdown(results: dict, table: pd.DataFrame, real_path: Path) -> str:
    forward = results["twin_to_real"]
    backward = results["real_to_twin"]
    disc = results["discriminator"]
    held = results["held_out_twin_to_real"]
    held_disc = results["held_out_discriminator"]
    a_rows, b_rows = results["held_out_rows"]
    lines = [
        "# Fidelity of the offline twin",
        "",
        (
            f"Real rows: `{real_path.name}`, {results['real_rows']} rows. Twin: "
            f"{results['rows']:,} rows, seed {results['seed']}. Forests: "
            f"{N_TREES} trees on {len(FEATURES)} features (every numeric column "
            "except ports and the two rate columns)."
        ),
        "",
        "| measure | in-sample | held-out |",
        "| --- | ---: | ---: |",
        (
            f"| forest trained on twin, accuracy on real rows | "
            f"{forward['accuracy']:.3f} | {held['accuracy']:.3f} |"
        ),
        (
            f"| same, macro-F1 over classes present | {forward['macro_f1']:.3f} | "
            f"{held['macro_f1']:.3f} |"
        ),
        (
            f"| forest trained on real rows, accuracy on twin | "
            f"{backward['accuracy']:.3f} | |"
        ),
        (
            f"| discriminator accuracy (0.5 = chance) | {disc['accuracy']:.3f} "
            f"± {disc['accuracy_sd']:.3f} | {held_disc['accuracy']:.3f} "
            f"± {held_disc['accuracy_sd']:.3f} |"
        ),
        (
            f"| discriminator ROC AUC (0.5 = chance) | {disc['auc']:.3f} "
            f"± {disc['auc_sd']:.3f} | {held_disc['auc']:.3f} ± {held_disc['auc_sd']:.3f} |"
        ),
        "",
        (
            "In-sample: the packaged figures were derived from these same real rows, "
            "and the twin's domain priors were written after reading them, so these "
            f"numbers are optimistic. Held-out: figures derived from a stratified "
            f"half ({a_rows} rows, seed {results['seed']}) and the twin scored on the "
            f"other half ({b_rows} rows); the priors still saw every row, so even this "
            "check is not fully independent."
        ),
        "",
        "The discriminator is a forest told to separate real rows from twin rows "
        "with the same class counts, 5-fold cross-validated, averaged over "
        f"{DISCRIMINATOR_REPEATS} twin samples (± is the standard deviation). Its "
        "most used features: "
        + ", ".join(f"{name} ({weight:.3f})" for name, weight in disc["top_features"])
        + ".",
        "",
        "## Recall per class, forest trained on the twin",
        "",
        "| class | in-sample | held-out |",
        "| --- | ---: | ---: |",
    ]
    for label in schema.LABELS:
        if label in forward["recall"]:
            held_recall = held["recall"].get(label)
            held_text = "" if held_recall is None else f"{held_recall:.2f}"
            lines.append(f"| {label} | {forward['recall'][label]:.2f} | {held_text} |")
    lines += [
        "",
        "![confusion](twin-to-real-confusion.png)",
        "",
        "## Main features per class",
        "",
        "![quantiles](twin-quantiles.png)",
        "",
        *_format_quantiles(table),
        "",
        (
            f"Built in {results['seconds']:.0f} s by `python -m iotlab twin-report "
            f"--rows {results['rows']} --seed {results['seed']}`."
        ),
        "",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Build the option parser of ``iotlab twin-report``."""
    parser = argparse.ArgumentParser(
        prog="iotlab twin-report",
        description="Measure how closely the offline twin matches real rows.",
    )
    parser.add_argument(
        "--real",
        type=Path,
        metavar="PATH",
        help="real rows in the published CSV layout (default: the real "
        f"calibration rows, {CALIBRATION_NAME}, if found; set "
        "IOTLAB_SHARED_DATA to the folder that contains them)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        default=Path("twin-report"),
        help="output folder for twin-report.md and the PNG figures, created if "
        "needed (default: twin-report)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=50_000,
        help=f"rows per twin, from {MIN_ROWS} to {MAX_ROWS:,} (default: 50,000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``iotlab twin-report`` with ``argv`` and return the exit code.

    Exit codes: 0 when the report was written, 2 for invalid options, unusable
    real rows or an output folder that cannot be written (the message
    explains why).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_n_rows(args.rows, name="--rows")
    except TwinError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    real_path = args.real or default_real_path()
    if real_path is None:
        print(
            f"{parser.prog}: error: no real rows given and {CALIBRATION_NAME} was not found; "
            "pass --real PATH with a CSV in the published ACI-IoT-2023 layout, "
            "or set IOTLAB_SHARED_DATA to the folder that contains "
            f"{CALIBRATION_NAME}.",
            file=sys.stderr,
        )
        return 2
    if not real_path.is_file():
        what = "is a folder" if real_path.is_dir() else "does not exist"
        print(
            f"{parser.prog}: error: --real {real_path} {what}; pass a CSV file in the published "
            "ACI-IoT-2023 layout.",
            file=sys.stderr,
        )
        return 2
    created: list[Path] = []
    try:
        created = prepare_output_dir(args.out, "choose another --out")
        results = build_report(real_path, args.out, args.rows, args.seed)
    except (CalibrationError, SchemaError, TwinError, OutputDirError) as error:
        remove_created_dirs(created)
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    forward = results["twin_to_real"]
    disc = results["discriminator"]
    held = results["held_out_twin_to_real"]
    print(f"wrote {args.out / 'twin-report.md'}")
    print(
        f"forest twin -> real: accuracy {forward['accuracy']:.3f} "
        f"(held-out {held['accuracy']:.3f}); discriminator accuracy "
        f"{disc['accuracy']:.3f}, AUC {disc['auc']:.3f} (0.5 = chance)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
