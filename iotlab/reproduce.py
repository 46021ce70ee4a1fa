"""``iotlab reproduce``: run the experiment of Reddy et al. 2025 end to end.

Reddy et al. 2025 (doi:10.5281/zenodo.17376640) compare seven models on
ACI-IoT-2023: LR, SVM, DT and RF baselines, a CNN, an LSTM and their CNN-LSTM
hybrid (Table 2), and report accuracy, precision, recall and F1 (Table 3).
This command runs the same steps on whatever data is at hand:

1. load flows (``--data`` file, else the cached real data, else the twin);
2. split 80/20 stratified by class;
3. fit clean -> min-max scale -> correlation filter (|r| > 0.9) -> RFE on
   the training rows only, keeping at least 10 features for the conv models;
4. fit the four baselines and train the three deep models (class-weighted,
   early stopping on a validation share of the training rows);
5. evaluate on the test rows and write ``results.csv``, ``results.md``,
   ``per_class.csv``, figures and the time of each stage (``stages.csv``)
   into ``--out``.

API summary
-----------
``main(argv=None) -> int``
    Command-line entry point; returns the exit code.
``build_parser() -> argparse.ArgumentParser``
``Settings``
    Resolved options (``Settings.from_args``).
``run_experiment(df, settings, progress=print) -> Experiment``
    Steps 2-5 without writing files; ``Experiment.results`` is the frame of
    ``results.csv``.
``write_outputs(experiment, out_dir) -> list[Path]``
``StageTimes``
    Wall time and peak memory per stage; ``main`` writes them to
    ``stages.csv``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from iotlab import schema
from iotlab._cli import prepare_output_dir, remove_created_dirs
from iotlab._memory import peak_rss_mib
from iotlab.evaluation import METRIC_NAMES, MODEL_NAMES
from iotlab.features import MIN_CONV_FEATURES
from iotlab.preprocessing import FEATURE_SETS
from iotlab.twin import MIN_ROWS as MIN_SAMPLE_ROWS

logger = logging.getLogger(__name__)

#: Values that ``--quick`` sets, unless an option sets them explicitly.
QUICK = {
    "sample": 4000,
    "epochs": 20,
    "batch_size": 64,
    "patience": 3,
    "svm_samples": 2000,
    "trees": 50,
    "rfe_samples": 5000,
}
#: Values without ``--quick``: Table 2's batch 32 and up to 50 epochs.
FULL = {
    "sample": None,
    "epochs": 50,
    "batch_size": 32,
    "patience": 5,
    "svm_samples": 20_000,
    "trees": 100,
    "rfe_samples": 50_000,
}

ROWS_WITHOUT_DATA = 50_000


class ReproduceError(ValueError):
    """An option or input that the experiment cannot run with."""


@dataclass
class Settings:
    """Resolved options of one ``reproduce`` run."""

    data: Path | None = None
    source: str = "auto"
    features: str = "paper"
    out: Path = Path("runs/reproduce")
    quick: bool = False
    seed: int = 0
    sample: int | None = None
    epochs: int = 50
    batch_size: int = 32
    patience: int = 5
    svm: str = "subsample"
    svm_samples: int | None = 20_000
    trees: int = 100
    n_features: int = 20
    threshold: float = 0.9
    rfe_samples: int | None = 50_000
    class_weight: str = "balanced"
    test_size: float = 0.2
    validation_size: float = 0.1
    drop_duplicates: bool = False
    threads: int | None = None
    models: tuple[str, ...] = MODEL_NAMES

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        """Resolve parsed options, filling unset ones from ``QUICK`` or ``FULL``."""
        preset = QUICK if args.quick else FULL
        values = {}
        for name, default in preset.items():
            given = getattr(args, name)
            values[name] = default if given is None else given
        models = tuple(args.models) if args.models else MODEL_NAMES
        unknown = [name for name in models if name not in MODEL_NAMES]
        if unknown:
            raise ReproduceError(
                f"Unknown model(s) {unknown}; choose from {list(MODEL_NAMES)}."
            )
        settings = cls(
            data=args.data,
            source=args.source,
            features=args.features,
            out=args.out,
            quick=args.quick,
            seed=args.seed,
            svm=args.svm,
            n_features=args.n_features,
            threshold=args.threshold,
            class_weight=args.class_weight,
            drop_duplicates=args.drop_duplicates,
            threads=args.threads,
            models=tuple(name for name in MODEL_NAMES if name in models),
            **values,
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ``ReproduceError`` for values the experiment cannot use."""
        positive = {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "trees": self.trees,
        }
        for name, value in positive.items():
            if value < 1:
                raise ReproduceError(
                    f"--{name.replace('_', '-')} must be >= 1, got {value}."
                )
        if self.n_features < MIN_CONV_FEATURES:
            # Every model gets the same selected features, and the feature
            # pipeline keeps at least MIN_CONV_FEATURES columns for all of them.
            raise ReproduceError(
                f"--n-features must be at least {MIN_CONV_FEATURES}, got "
                f"{self.n_features}: the CNN and CNN-LSTM apply two Conv1D "
                f"(kernel 3) + MaxPool(2) blocks, which need at least "
                f"{MIN_CONV_FEATURES} input features, and all models use the same "
                "selected features."
            )
        if self.sample is not None and self.sample < MIN_SAMPLE_ROWS:
            raise ReproduceError(
                f"--sample must be at least {MIN_SAMPLE_ROWS} rows, got "
                f"{self.sample}: the smallest twin has 5 rows of each of the 12 "
                "classes, and a sample of real rows needs a few rows per class "
                "to split."
            )
        if not 0 <= self.threshold <= 1:
            raise ReproduceError(
                f"--threshold must lie in [0, 1], got {self.threshold}."
            )


class StageTimes:
    """Wall time and peak memory of each stage of a run, in the order run.

    Each row has the ``stage`` name, ``start_s`` (seconds from the start
    of the run), ``seconds`` (its wall time) and ``peak_rss_mib``. That is
    the peak resident memory of the process from its start to the end of
    the stage, in MiB, or NaN where the ``resource`` module is missing
    (Windows). A stage whose ``peak_rss_mib`` is higher than the previous
    row's set a new peak.
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.rows: list[dict] = []

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the ``with`` block as stage ``name``, also when it raises."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.rows.append(
                {
                    "stage": name,
                    "start_s": round(start - self.started, 3),
                    "seconds": round(time.perf_counter() - start, 3),
                    "peak_rss_mib": round(peak_rss_mib(), 1),
                }
            )

    def summary(self) -> str:
        """Return one line listing each stage's wall time."""
        return "; ".join(f"{row['stage']} {row['seconds']:.1f} s" for row in self.rows)

    def write_csv(self, out_dir) -> Path:
        """Write the rows to ``out_dir/stages.csv`` (under a temporary name first)."""
        path = Path(out_dir) / "stages.csv"
        temporary = path.with_name(".stages.csv.partial")
        pd.DataFrame(
            self.rows, columns=["stage", "start_s", "seconds", "peak_rss_mib"]
        ).to_csv(temporary, index=False)
        os.replace(temporary, path)
        return path


@dataclass
class ModelRun:
    """One model's predictions and timing on the test rows."""

    name: str
    y_pred: np.ndarray
    y_score: np.ndarray
    fit_seconds: float
    metrics: dict = field(default_factory=dict)
    history: dict | None = None
    epochs_run: int | None = None


@dataclass
class Experiment:
    """Everything a run produced, before it is written to files."""

    settings: Settings
    source: str
    source_detail: str
    class_counts: pd.Series
    n_train: int
    n_test: int
    y_test: np.ndarray
    selected_features: list[str]
    selection_report: dict
    runs: list[ModelRun]
    duplicates_removed: int | None = None
    notes: list[str] = field(default_factory=list)
    stages: StageTimes = field(default_factory=StageTimes)

    @property
    def results(self) -> pd.DataFrame:
        """One row per model, the columns of ``results.csv``."""
        rows = []
        for run in self.runs:
            row = {"model": run.name, **run.metrics}
            row.update(
                fit_seconds=round(run.fit_seconds, 3),
                epochs_run=run.epochs_run,
                data_source=self.source,
                feature_set=self.settings.features,
                n_features=len(self.selected_features),
                n_train=self.n_train,
                n_test=self.n_test,
                seed=self.settings.seed,
                quick=self.settings.quick,
            )
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def per_class(self) -> pd.DataFrame:
        """Per-class precision, recall, F1 and support of every model (long form)."""
        from iotlab.evaluation import per_class_report

        frames = []
        for run in self.runs:
            report = per_class_report(self.y_test, run.y_pred).reset_index()
            report.insert(0, "model", run.name)
            frames.append(report)
        return pd.concat(frames, ignore_index=True)


def build_parser() -> argparse.ArgumentParser:
    """Build the option parser of ``iotlab reproduce``."""
    quick = ", ".join(
        f"{name.replace('_', '-')} {value}" for name, value in QUICK.items()
    )
    parser = argparse.ArgumentParser(
        prog="iotlab reproduce",
        description=(
            "Run the seven models of Reddy et al. 2025 (LR, SVM, DT, RF, CNN, LSTM, "
            "CNN-LSTM) on ACI-IoT-2023 flows and compare with its Table 3. Without "
            "--data it uses the real data cached by data_fetch.py if present, else "
            "the offline twin, and says which."
        ),
        epilog=(
            f"--quick sets: {quick} (rows, epochs, batch rows, early-stopping "
            "epochs, SVC rows, trees, RFE rows); options given explicitly win. It "
            "runs in under 3 minutes on 2 CPU cores, and its deep-model scores "
            "only show that the pipeline works. Without --quick the deep models "
            "train with batch 32 for up to 50 epochs on every training row, which "
            "takes hours on the full file on CPUs."
        ),
    )
    _add_data_options(parser.add_argument_group("data and output"))
    _add_selection_options(parser.add_argument_group("feature selection"))
    _add_model_options(parser.add_argument_group("models and training"))
    return parser


def _add_data_options(group) -> None:
    group.add_argument(
        "--data", type=Path, metavar="PATH", help="flow file (CSV or Parquet) to use"
    )
    group.add_argument(
        "--source",
        choices=["auto", "real", "twin"],
        default="auto",
        help="without --data: 'real' needs the data cached by data_fetch.py, "
        "'twin' builds the offline twin, 'auto' takes the cache if present, else "
        "the twin (default: auto)",
    )
    group.add_argument(
        "--sample",
        type=int,
        metavar="ROWS",
        help=f"use a class-stratified sample of this many rows, at least "
        f"{MIN_SAMPLE_ROWS}; with the twin, build a twin of this many rows "
        f"(default: all rows, or {ROWS_WITHOUT_DATA:,} when the twin is built)",
    )
    group.add_argument(
        "--drop-duplicates",
        action="store_true",
        help="remove rows that repeat the feature set's columns and label before "
        "splitting",
    )
    group.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        default=Path("runs/reproduce"),
        help="output folder for results and figures (default: runs/reproduce)",
    )
    group.add_argument("--quick", action="store_true", help="a small, fast run")
    group.add_argument(
        "--seed", type=int, default=0, metavar="N", help="random seed (default: 0)"
    )
    group.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="TensorFlow CPU threads per pool and random-forest jobs (default: "
        "TensorFlow takes every core, the forest one)",
    )


def _add_selection_options(group) -> None:
    group.add_argument(
        "--features",
        choices=sorted(FEATURE_SETS),
        default="paper",
        help="feature set: 'paper' keeps IPs and ports as Reddy et al. 2025 do, "
        "'flow' keeps behaviour only (default: paper)",
    )
    group.add_argument(
        "--threshold",
        type=float,
        metavar="R",
        default=0.9,
        help="drop one column of each pair with |Pearson r| above this (default: 0.9)",
    )
    group.add_argument(
        "--n-features",
        type=int,
        metavar="N",
        default=20,
        help=f"features RFE keeps, at least {MIN_CONV_FEATURES} (default: 20)",
    )
    group.add_argument(
        "--rfe-samples",
        type=int,
        metavar="ROWS",
        help="training rows RFE is fitted on (default: 50000)",
    )


def _add_model_options(group) -> None:
    group.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        help=f"run only these models, from {' '.join(MODEL_NAMES)} (default: all)",
    )
    group.add_argument(
        "--svm",
        choices=["subsample", "nystroem"],
        default="subsample",
        help="'subsample': exact RBF SVC on --svm-samples stratified training rows; "
        "'nystroem': Nystroem RBF features + linear SVM on all training rows "
        "(default: subsample)",
    )
    group.add_argument(
        "--svm-samples",
        type=int,
        metavar="ROWS",
        help="training rows for the exact SVC (default: 20000)",
    )
    group.add_argument(
        "--trees", type=int, metavar="N", help="random forest trees (default: 100)"
    )
    group.add_argument(
        "--epochs", type=int, metavar="N", help="maximum training epochs (default: 50)"
    )
    group.add_argument(
        "--batch-size",
        type=int,
        metavar="ROWS",
        help="rows per training batch (default: 32)",
    )
    group.add_argument(
        "--patience",
        type=int,
        metavar="EPOCHS",
        help="epochs without validation-loss improvement before stopping (default: 5)",
    )
    group.add_argument(
        "--class-weight",
        choices=["balanced", "sqrt", "none"],
        default="balanced",
        help="deep-model class weights: N/(C*N_i), its square root, or none "
        "(default: balanced)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run ``iotlab reproduce`` with ``argv`` and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    # Keras retraces its step functions for every new model and the last,
    # smaller batch; TensorFlow warns about it, but it is expected here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    created: list[Path] = []
    try:
        settings = Settings.from_args(args)
        # Check --out before hours of training, not when writing the results.
        created = prepare_output_dir(settings.out, "choose another --out")
        stages = StageTimes()
        if settings.threads is not None:
            # Before TensorFlow starts its thread pools.
            with stages.stage("import TensorFlow"):
                from iotlab.models import configure_threads

                configure_threads(settings.threads)
        with stages.stage("load"):
            df, source, detail = load_flows_for(settings)
        print(f"Data: {detail}")
        split = _split_flows(df, settings, print, stages)
        # The split contains copies of the rows, so releasing the loaded frame
        # lowers the memory of every later stage by its size (about 700 MiB
        # on the full file). Calling run_experiment(df) instead would keep
        # the frame alive for the whole run through this function's variable.
        del df
        experiment = _select_fit_evaluate(
            split, settings, source, detail, print, stages
        )
        with stages.stage("write outputs"):
            written = write_outputs(experiment, settings.out)
        stages.write_csv(settings.out)
    except (ValueError, FileNotFoundError, IsADirectoryError) as error:
        remove_created_dirs(created)
        print(f"iotlab reproduce: error: {error}", file=sys.stderr)
        return 2
    except BaseException:
        remove_created_dirs(created)
        raise
    print()
    print(format_comparison(experiment))
    print()
    print(
        "Stage wall times (a model's stage includes building, fitting and "
        f"predicting on the test rows): {stages.summary()}."
    )
    print(
        f"Wrote {len(written) + 1} files to {settings.out} in "
        f"{time.perf_counter() - stages.started:.0f} s."
    )
    return 0


def load_flows_for(settings: Settings) -> tuple[pd.DataFrame, str, str]:
    """Load the flows a run uses and describe where they came from.

    Returns
    -------
    (DataFrame, str, str)
        The flows, the source ("real", "twin" or "file") and a sentence.
    """
    from iotlab.preprocessing import stratified_sample

    if settings.data is not None:
        from iotlab.data import load_flows

        path = settings.data
        df = load_flows(path)
        source = df.attrs.get("source", "file")
        detail = df.attrs.get("source_detail") or f"{len(df):,} rows from {path}"
        if settings.sample is not None and len(df) > settings.sample:
            df = stratified_sample(df, settings.sample, seed=settings.seed)
            detail += f"; a stratified sample of {len(df):,} rows"
        return df, source, detail

    from iotlab.fetch import cache_status, load_dataset
    from iotlab.twin import check_n_rows

    builds_twin = settings.source == "twin" or (
        settings.source == "auto" and not cache_status().present
    )
    if builds_twin and settings.sample is not None:
        check_n_rows(settings.sample, name="--sample")
    # With rows=None, load_dataset returns all cached real rows or a twin of
    # ROWS_WITHOUT_DATA rows.
    df = load_dataset(source=settings.source, rows=settings.sample, seed=settings.seed)
    source = df.attrs.get("source", "unknown")
    detail = df.attrs.get("source_detail") or f"{len(df):,} {source} rows"
    if source == "twin" and settings.source == "auto":
        detail += (
            ". No cached real data was found, so this run uses the offline twin. "
            "Fetch the real file with `python data_fetch.py --source kaggle` "
            "(needs a Kaggle API token) or `python data_fetch.py --source file "
            "--path ACI-IoT-2023.csv` (a local copy)."
        )
    return df, source, detail


def run_experiment(
    df: pd.DataFrame,
    settings: Settings,
    source: str | None = None,
    source_detail: str | None = None,
    progress: Callable[[str], None] = print,
    stages: StageTimes | None = None,
) -> Experiment:
    """Split, select features, fit all models and evaluate them on test rows.

    Parameters
    ----------
    df : pandas.DataFrame
        Flows in the ``iotlab.data.load_flows`` schema.
    settings : Settings
    source, source_detail : str, optional
        Where the rows came from; ``df.attrs`` by default.
    progress : callable, default print
        Receives one line per step.
    stages : StageTimes, optional
        Where to record the time of each stage; a new one by default.
        ``Experiment.stages`` is this object.

    Returns
    -------
    Experiment
    """
    source = source or df.attrs.get("source", "unknown")
    source_detail = source_detail or df.attrs.get("source_detail", "")
    stages = StageTimes() if stages is None else stages
    split = _split_flows(df, settings, progress, stages)
    return _select_fit_evaluate(
        split, settings, source, source_detail, progress, stages
    )


@dataclass
class _SplitFlows:
    """The training and test rows of a run and the notes made while splitting."""

    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    class_counts: pd.Series
    duplicates_removed: int | None
    notes: list[str]


def _split_flows(
    df: pd.DataFrame,
    settings: Settings,
    progress: Callable[[str], None],
    stages: StageTimes,
) -> _SplitFlows:
    """Drop duplicates if asked, encode the labels and split 80/20 by class.

    The training and test rows are copies, so the caller can release ``df``
    afterwards.
    """
    from iotlab.preprocessing import (
        drop_duplicates,
        encode_labels,
        feature_columns,
        stratified_split,
    )

    if schema.LABEL not in df.columns:
        raise ReproduceError(
            "The flows have no 'Label' column; load them with iotlab.data.load_flows."
        )
    notes: list[str] = []
    removed = None
    if settings.drop_duplicates:
        with stages.stage("drop duplicates"):
            df, removed = drop_duplicates(
                df, subset=[*feature_columns(settings.features), schema.LABEL]
            )
        progress(f"Removed {removed:,} duplicate rows; {len(df):,} remain.")

    y = encode_labels(df[schema.LABEL])
    counts = pd.Series(df[schema.LABEL].astype(str)).value_counts()
    if counts.size < 2:
        raise ReproduceError(
            f"The flows hold {counts.size} class(es); a classifier needs at least 2."
        )
    with stages.stage("split"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X_train, X_test, y_train, y_test = stratified_split(
            df, y, test_size=settings.test_size, seed=settings.seed
        )
    notes += _warning_notes(caught, "test split")
    progress(
        f"Split {len(df):,} rows into {len(y_train):,} training and {len(y_test):,} "
        f"test rows (stratified, seed {settings.seed})."
    )
    return _SplitFlows(X_train, X_test, y_train, y_test, counts, removed, notes)


def _select_fit_evaluate(
    split: _SplitFlows,
    settings: Settings,
    source: str,
    source_detail: str,
    progress: Callable[[str], None],
    stages: StageTimes,
) -> Experiment:
    """Select features on the training rows, then fit and evaluate each model."""
    from iotlab import baselines
    from iotlab.evaluation import evaluate
    from iotlab.features import make_feature_pipeline
    from iotlab.preprocessing import feature_columns

    X_train, X_test = split.X_train, split.X_test
    y_train, y_test = split.y_train, split.y_test
    notes = list(split.notes)
    started = time.perf_counter()
    pipeline = make_feature_pipeline(
        settings.features,
        threshold=settings.threshold,
        n_features=settings.n_features,
        seed=settings.seed,
        rfe_max_samples=settings.rfe_samples,
    )
    with stages.stage("feature selection"):
        train_features = pipeline.fit_transform(X_train, y_train)
        test_features = pipeline.transform(X_test)
    selected = list(train_features.columns)
    report = _selection_report(pipeline)
    progress(
        f"Selected {len(selected)} of {len(feature_columns(settings.features))} "
        f"'{settings.features}' features on training rows "
        f"({report['n_constant']} constant, {report['n_correlated']} correlated, "
        f"{report['n_rfe_removed']} removed by RFE) in "
        f"{time.perf_counter() - started:.1f} s."
    )
    X_train_array = train_features.to_numpy(dtype=np.float32)
    X_test_array = test_features.to_numpy(dtype=np.float32)

    runs: list[ModelRun] = []
    names = settings.models
    total = len(names)
    models = baselines.make_baselines(
        seed=settings.seed,
        svm=settings.svm,
        svm_max_samples=settings.svm_samples,
        n_estimators=settings.trees,
        n_jobs=settings.threads,
    )
    for name in [name for name in names if name in models]:
        position = names.index(name) + 1
        progress(f"[{position}/{total}] {name}: fitting on {len(y_train):,} rows ...")
        with stages.stage(name), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, seconds = baselines.fit_timed(models[name], X_train_array, y_train)
            scores = baselines.predict_scores(model, X_test_array)
            y_pred = np.asarray(model.predict(X_test_array), dtype=np.int64)
        notes += _warning_notes(caught, name)
        run = ModelRun(name, y_pred, scores, seconds)
        run.metrics = evaluate(y_test, y_pred, scores)
        runs.append(run)
        progress(_summary_line(position, total, run))

    deep_names = [name for name in names if name not in models]
    if deep_names:
        runs += _run_deep_models(
            deep_names,
            names,
            X_train_array,
            y_train,
            X_test_array,
            y_test,
            settings,
            progress,
            notes,
            stages,
        )

    return Experiment(
        settings=settings,
        source=source,
        source_detail=source_detail,
        class_counts=split.class_counts,
        n_train=len(y_train),
        n_test=len(y_test),
        y_test=np.asarray(y_test),
        selected_features=selected,
        selection_report=report,
        runs=runs,
        duplicates_removed=split.duplicates_removed,
        notes=_unique(notes),
        stages=stages,
    )


def _run_deep_models(
    deep_names,
    names,
    X_train,
    y_train,
    X_test,
    y_test,
    settings,
    progress,
    notes,
    stages,
) -> list[ModelRun]:
    import keras

    from iotlab import models as deep
    from iotlab.evaluation import evaluate
    from iotlab.features import check_conv_features
    from iotlab.preprocessing import class_weights, stratified_split

    if any(name != "LSTM" for name in deep_names):
        check_conv_features(X_train.shape[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X_fit, X_val, y_fit, y_val = stratified_split(
            X_train, y_train, test_size=settings.validation_size, seed=settings.seed
        )
    notes += _warning_notes(caught, "validation split")
    weights = None
    if settings.class_weight != "none":
        weights = class_weights(y_fit, mode=settings.class_weight)

    runs = []
    total = len(names)
    for name in deep_names:
        position = names.index(name) + 1
        progress(
            f"[{position}/{total}] {name}: training on {len(y_fit):,} rows, "
            f"validating on {len(y_val):,}, batch {settings.batch_size}, "
            f"up to {settings.epochs} epochs ..."
        )
        with stages.stage(name):
            # Free the previous model's graph state before building the next.
            keras.backend.clear_session()
            model = deep.BUILDERS[name](X_train.shape[1], seed=settings.seed)
            started = time.perf_counter()
            history = deep.train(
                model,
                X_fit,
                y_fit,
                X_val,
                y_val,
                epochs=settings.epochs,
                batch_size=settings.batch_size,
                class_weight=weights,
                patience=settings.patience,
                seed=settings.seed,
                verbose=2,
            )
            seconds = time.perf_counter() - started
            scores = deep.predict_proba(model, X_test)
            y_pred = scores.argmax(axis=1).astype(np.int64)
        run = ModelRun(
            name,
            y_pred,
            scores,
            seconds,
            history={
                key: list(map(float, values)) for key, values in history.history.items()
            },
            epochs_run=len(history.history["loss"]),
        )
        run.metrics = evaluate(y_test, y_pred, scores)
        runs.append(run)
        progress(_summary_line(position, total, run))
    return runs


def _summary_line(position: int, total: int, run: ModelRun) -> str:
    metrics = run.metrics
    return (
        f"[{position}/{total}] {run.name}: fit {run.fit_seconds:.1f} s, accuracy "
        f"{metrics['accuracy']:.4f}, balanced accuracy {metrics['balanced_accuracy']:.4f}, "
        f"macro-F1 {metrics['f1_macro']:.4f}"
    )


def _warning_notes(caught, step: str) -> list[str]:
    notes = []
    for warning in caught:
        text = str(warning.message).strip().splitlines()[0]
        notes.append(f"{step}: {text}")
    return notes


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _selection_report(pipeline) -> dict:
    correlation = pipeline.named_steps["correlation"]
    rfe = pipeline.named_steps["rfe"]
    return {
        "constant": list(correlation.constant_),
        "correlated": {
            name: {"kept": partner, "r": round(r, 4)}
            for name, (partner, r) in correlation.partner_.items()
        },
        "rfe_removed": list(rfe.removed_),
        "selected": list(rfe.kept_),
        "n_constant": len(correlation.constant_),
        "n_correlated": len(correlation.dropped_),
        "n_rfe_removed": len(rfe.removed_),
    }


def format_comparison(experiment: Experiment) -> str:
    """Return the text table of measured results next to Table 3."""
    from iotlab.evaluation import compare_with_paper

    table = compare_with_paper(experiment.results)
    header = (
        f"Results on {experiment.n_test:,} test rows ({experiment.source} data, "
        f"'{experiment.settings.features}' features) next to Table 3 of "
        "Reddy et al. 2025:"
    )
    return header + "\n" + table.to_string(float_format=lambda value: f"{value:.4f}")


def _markdown_table(frame: pd.DataFrame) -> str:
    columns = [str(column) for column in frame.columns]
    lines = [
        "| " + " | ".join(columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append("" if np.isnan(value) else f"{value:.4f}")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _results_markdown(experiment: Experiment) -> str:
    from iotlab.evaluation import compare_with_paper

    settings = experiment.settings
    comparison = compare_with_paper(experiment.results).reset_index()
    results = experiment.results[["model", *METRIC_NAMES, "fit_seconds"]]
    svm = (
        f"exact RBF SVC on {settings.svm_samples:,} stratified training rows"
        if settings.svm == "subsample"
        else "Nystroem RBF features + linear SVM on all training rows"
    )
    lines = [
        "# iotlab reproduce: results",
        "",
        f"- Data: {experiment.source_detail}",
        (
            f"- Split: stratified {1 - settings.test_size:.0%}/"
            f"{settings.test_size:.0%}, seed {settings.seed}: "
            f"{experiment.n_train:,} training and {experiment.n_test:,} test rows."
        ),
        (
            f"- Features: '{settings.features}' set, "
            f"{len(experiment.selected_features)} selected on training rows: "
            f"{', '.join(experiment.selected_features)}."
        ),
        (
            f"- Deep models: up to {settings.epochs} epochs, batch "
            f"{settings.batch_size}, early-stopping patience {settings.patience}, "
            f"class weights '{settings.class_weight}'."
        ),
        f"- SVM: {svm}; random forest: {settings.trees} trees.",
        f"- Quick run: {'yes' if settings.quick else 'no'}.",
        "",
        "## Measured next to Table 3 of Reddy et al. 2025",
        "",
        (
            "Table 3 does not say how its precision, recall and F1 average over "
            "classes; `paper_f1` is its F1 column."
        ),
        "",
        _markdown_table(comparison),
        "",
        "## All metrics",
        "",
        _markdown_table(results),
        "",
    ]
    if experiment.notes:
        lines += ["## Warnings during the run", ""]
        lines += [f"- {note}" for note in experiment.notes]
        lines.append("")
    return "\n".join(lines)


def write_outputs(experiment: Experiment, out_dir) -> list[Path]:
    """Write results, per-class metrics, notes and figures into ``out_dir``.

    Files are written into a temporary folder next to ``out_dir`` and moved
    in at the end, so a failed run leaves earlier results as they were.

    Returns
    -------
    list of Path
        The files written, relative to ``out_dir``.
    """
    import json

    from iotlab import plots
    from iotlab.evaluation import confusion, per_class_report, roc_curves
    from iotlab.preprocessing import CLASS_NAMES

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".reproduce-", dir=out_dir))
    try:
        experiment.results.to_csv(staging / "results.csv", index=False)
        experiment.per_class.to_csv(staging / "per_class.csv", index=False)
        (staging / "results.md").write_text(
            _results_markdown(experiment), encoding="utf-8"
        )
        selection = {
            "settings": {
                key: (str(value) if isinstance(value, Path) else value)
                for key, value in asdict(experiment.settings).items()
            },
            **experiment.selection_report,
        }
        (staging / "features.json").write_text(
            json.dumps(selection, indent=2, default=str), encoding="utf-8"
        )

        figures = staging / "figures"
        figures.mkdir()
        counts = experiment.class_counts
        labels = np.repeat(
            [CLASS_NAMES.index(name) for name in counts.index], counts.to_numpy()
        )
        plots.plot_class_distribution(
            labels,
            title="Rows per class (all rows used)",
            path=figures / "class_distribution.png",
        )
        curves = {}
        for run in experiment.runs:
            slug = run.name.lower()
            plots.plot_confusion_matrix(
                confusion(experiment.y_test, run.y_pred),
                title=f"{run.name}: confusion matrix (test rows)",
                path=figures / f"confusion_{slug}.png",
            )
            plots.plot_per_class_metrics(
                per_class_report(experiment.y_test, run.y_pred),
                title=f"{run.name}: per-class metrics (test rows)",
                path=figures / f"per_class_{slug}.png",
            )
            if run.history:
                plots.plot_training_curves(
                    run.history,
                    title=f"{run.name}: training curves",
                    path=figures / f"training_{slug}.png",
                )
            curves[run.name] = roc_curves(experiment.y_test, run.y_score)
        if curves:
            plots.plot_roc_curves(
                curves,
                title="Micro-average ROC curves (test rows)",
                path=figures / "roc.png",
            )
            best = experiment.runs[-1].name
            plots.plot_roc_curves(
                curves[best],
                title=f"{best}: one-vs-rest ROC curves",
                path=figures / f"roc_{best.lower()}.png",
            )

        written = sorted(
            path.relative_to(staging) for path in staging.rglob("*") if path.is_file()
        )
        for relative in written:
            target = out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written
