"""Measurements that ``benchmarks.run`` starts, each in a fresh process.

``python -m benchmarks.measure NAME '{"option": value}'`` runs one
measurement and prints its figures as one JSON line on stdout. A fresh
process per measurement keeps imports, caches and freed memory of one
measurement from changing the next, and makes the peak resident memory
(RSS) belong to one step.

Memory figures, in MiB:

- ``base_mib``: the RSS just before the measured step, after imports and
  setup;
- ``peak_mib``: the peak RSS while the step ran. On Linux the kernel's
  high-water mark is reset just before the step (``/proc/self/clear_refs``),
  so this is the step's own peak including what was resident before it.
  Elsewhere it is the process's peak since start (``peak_reset`` is False);
- ``process_peak_mib``: the peak RSS of the whole process, setup included.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from iotlab._memory import peak_rss_mib

MIB = 2**20
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _current_rss_mib() -> float:
    statm = Path("/proc/self/statm")
    if statm.is_file():
        return int(statm.read_text().split()[1]) * _PAGE_BYTES / MIB
    return peak_rss_mib()


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux 4.0 and later)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class StepMemory:
    """Record the RSS before a step and the peak RSS while it runs."""

    def __enter__(self) -> Self:
        self.setup_peak_mib = peak_rss_mib()
        self.base_mib = _current_rss_mib()
        self.peak_reset = _reset_peak()
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        return self

    def __exit__(self, *exc_info) -> None:
        self.seconds = time.perf_counter() - self.started
        self.cpu_seconds = time.process_time() - self.cpu_started
        self.peak_mib = peak_rss_mib()

    def figures(self) -> dict:
        """Return the step's wall and CPU seconds and its memory figures."""
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "base_mib": self.base_mib,
            "peak_mib": self.peak_mib,
            "process_peak_mib": max(self.setup_peak_mib, self.peak_mib),
            "peak_reset": self.peak_reset,
        }


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def measure_read_csv(path: str) -> dict:
    """Time ``pandas.read_csv(path)`` with default arguments.

    Also reports ``object_strings_mib``, the frame's memory with its text
    columns converted to Python objects afterwards. That is how pandas 2
    stores text by default, where pandas 3 stores it in Arrow arrays.
    """
    import pandas as pd

    with StepMemory() as step:
        frame = pd.read_csv(path)
    figures = _frame_figures(frame) | step.figures()
    text = frame.select_dtypes(include=["string", "str", "object"]).columns
    as_objects = frame.astype({name: object for name in text})
    figures["object_strings_mib"] = int(as_objects.memory_usage(deep=True).sum()) / MIB
    return figures


def measure_load_flows(path: str) -> dict:
    """Time ``iotlab.data.load_flows(path)`` (CSV or Parquet)."""
    from iotlab.data import load_flows

    with StepMemory() as step:
        frame = load_flows(path)
    return _frame_figures(frame) | step.figures()


def _frame_figures(frame) -> dict:
    return {
        "rows": len(frame),
        "columns": frame.shape[1],
        "frame_mib": int(frame.memory_usage(deep=True).sum()) / MIB,
    }


# --------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------


def measure_preprocess(path: str, feature_set: str, seed: int = 0) -> dict:
    """Fit ``make_preprocessor`` on 80 % of the rows and transform the rest.

    The flows are loaded and split 80/20 (stratified, as ``iotlab
    reproduce`` does) before the measured step, so ``process_peak_mib``
    includes the loaded frame and both halves of the split.
    """
    from iotlab.data import load_flows
    from iotlab.preprocessing import encode_labels, make_preprocessor, stratified_split
    from iotlab.schema import LABEL

    frame = load_flows(path)
    labels = encode_labels(frame[LABEL])
    X_train, X_test, _, _ = stratified_split(frame, labels, test_size=0.2, seed=seed)
    del frame
    pipeline = make_preprocessor(feature_set)
    with StepMemory() as step:
        fit_started = time.perf_counter()
        train_features = pipeline.fit_transform(X_train)
        fit_seconds = time.perf_counter() - fit_started
        test_features = pipeline.transform(X_test)
    return {
        "feature_set": feature_set,
        "train_rows": len(train_features),
        "test_rows": len(test_features),
        "output_columns": train_features.shape[1],
        "fit_transform_seconds": fit_seconds,
        "transform_seconds": step.seconds - fit_seconds,
    } | step.figures()


# --------------------------------------------------------------------------
# Training throughput
# --------------------------------------------------------------------------


def _training_arrays(n_rows: int, n_features: int, seed: int):
    """Return uniform features in [0, 1] and labels in the full file's class mix.

    Training speed does not depend on the values, so random rows of the
    right shape stand in for preprocessed flows.
    """
    import numpy as np

    from iotlab.schema import FULL_CLASS_COUNTS

    rng = np.random.default_rng(seed)
    shares = np.array(list(FULL_CLASS_COUNTS.values()), dtype=np.float64)
    labels = rng.choice(len(shares), size=n_rows, p=shares / shares.sum())
    features = rng.random((n_rows, n_features), dtype=np.float32)
    return features, labels.astype(np.int64)


def measure_train(
    model: str = "CNN-LSTM",
    batch_size: int = 32,
    steps: int = 200,
    input_kind: str = "tf.data",
    n_features: int = 20,
    threads: int | None = None,
    eval_steps: int = 0,
    seed: int = 0,
) -> dict:
    """Measure training samples/s over a fixed number of steps.

    Runs two epochs of ``steps`` batches each: the first traces the graph
    and warms the caches, the second is timed. ``input_kind="tf.data"`` feeds
    ``iotlab.models.make_dataset``, the pipeline that
    ``iotlab.models.train`` uses (shuffle, batch, prefetch, class weights
    as sample weights). ``input_kind="numpy"`` passes the arrays to ``fit`` with
    ``class_weight``. With ``eval_steps`` > 0 it also times ``evaluate`` on
    batches of 4 * ``batch_size`` rows, as the validation pass of ``train``
    uses.
    """
    from benchmarks.flops import model_flops
    from iotlab import models
    from iotlab.preprocessing import class_weights

    models.configure_threads(threads)
    X, y = _training_arrays(steps * batch_size, n_features, seed)
    weights = class_weights(y)
    network = models.BUILDERS[model](n_features, seed=seed)
    models.compile_model(network)
    timer = _epoch_timer()
    with StepMemory() as step:
        if input_kind == "tf.data":
            dataset = models.make_dataset(X, y, batch_size, weights, seed=seed)
            network.fit(dataset, epochs=2, verbose=0, callbacks=[timer])
        elif input_kind == "numpy":
            network.fit(
                X,
                y,
                batch_size=batch_size,
                epochs=2,
                class_weight=weights,
                shuffle=True,
                verbose=0,
                callbacks=[timer],
            )
        else:
            raise ValueError(
                f"input_kind must be 'tf.data' or 'numpy', got {input_kind!r}."
            )
    seconds = timer.seconds[-1]
    samples = steps * batch_size
    figures = {
        "model": model,
        "batch_size": batch_size,
        "input_kind": input_kind,
        "steps": steps,
        "n_features": n_features,
        "threads": threads,
        "timed_seconds": seconds,
        "samples_per_second": samples / seconds,
        "cpu_seconds_per_1k": 1000 * timer.cpu_seconds[-1] / samples,
        "first_epoch_seconds": timer.seconds[0],
        "training_flops_per_sample": model_flops(network)["training"],
    } | step.figures()
    if eval_steps:
        eval_batch = 4 * batch_size
        X_eval, y_eval = _training_arrays(eval_steps * eval_batch, n_features, seed + 1)
        dataset = models.make_dataset(X_eval, y_eval, eval_batch, shuffle=False)
        network.evaluate(dataset, verbose=0)
        started = time.perf_counter()
        network.evaluate(dataset, verbose=0)
        elapsed = time.perf_counter() - started
        figures["eval_samples_per_second"] = len(y_eval) / elapsed
    return figures


def _epoch_timer():
    """Return a Keras callback that records each epoch's wall and CPU time.

    ``seconds`` lists the wall times, ``cpu_seconds`` the CPU time of all
    threads of the process (user and system), which shows the work of the
    input pipeline's threads as well as the training step's.
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []
            self.cpu_seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._started = time.perf_counter()
            self._cpu_started = time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._started)
            self.cpu_seconds.append(time.process_time() - self._cpu_started)

    return EpochTimer()


# --------------------------------------------------------------------------
# Whole runs
# --------------------------------------------------------------------------


class RssSampler:
    """Sample this process's RSS every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), _current_rss_mib()))
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> float:
        """Return the largest sample from ``start`` to the first one after ``end``.

        The first sample after ``end`` is included so that a stage shorter
        than the interval still gets a figure.
        """
        inside = [rss for moment, rss in self.samples if start <= moment <= end]
        after = [rss for moment, rss in self.samples if moment > end][:1]
        return max(inside + after, default=float("nan"))


def measure_reproduce(argv: list[str]) -> dict:
    """Run ``iotlab reproduce ARGV`` in this process and time each stage.

    Reads the stages that ``reproduce`` writes to ``stages.csv`` in its
    ``--out`` folder. Their ``peak_rss_mib`` is the process's peak since it
    started. This adds ``stage_peak_mib``, the peak RSS within the stage,
    from samples taken every 20 ms, so a shorter spike can be missed. Stage
    start times count from just before ``reproduce.main`` runs, which is a
    few milliseconds earlier than ``reproduce`` counts them.
    """
    import csv

    from iotlab import reproduce

    with RssSampler() as sampler, StepMemory() as step:
        exit_code = reproduce.main(list(argv))
    if exit_code != 0:
        raise RuntimeError(
            f"iotlab reproduce {' '.join(argv)} exited with {exit_code}."
        )
    out = Path(argv[argv.index("--out") + 1])
    figures = {"argv": list(argv)} | step.figures()
    with (out / "stages.csv").open(encoding="utf-8") as handle:
        stages = [
            {key: _number_or_text(value) for key, value in row.items()}
            for row in csv.DictReader(handle)
        ]
    for row in stages:
        start = step.started + row["start_s"]
        row["stage_peak_mib"] = sampler.peak_between(start, start + row["seconds"])
    figures["stages"] = stages
    results = out / "results.csv"
    if results.is_file():
        with results.open(encoding="utf-8") as handle:
            figures["models"] = [
                {
                    "model": row["model"],
                    "fit_seconds": float(row["fit_seconds"]),
                    "epochs_run": row.get("epochs_run") or None,
                    "n_features": int(row["n_features"]),
                    "n_train": int(row["n_train"]),
                    "n_test": int(row["n_test"]),
                }
                for row in csv.DictReader(handle)
            ]
    return figures


def _number_or_text(value: str):
    try:
        return float(value)
    except ValueError:
        return value


def measure_notebooks(root: str, select: str | None = None) -> dict:
    """Run ``pytest tests/test_notebooks_execute.py`` and time it.

    The test executes every lesson notebook with papermill; pytest's
    ``--durations`` report gives each notebook's time (setup, execution
    and result checks). ``select`` is passed to pytest's ``-k``. The peak
    RSS is that of the largest process that pytest started and waited for,
    the notebook kernels included.
    """
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/test_notebooks_execute.py",
        "-q",
        "-p",
        "no:cacheprovider",
        "--durations=0",
        "--durations-min=0",
    ]
    if select:
        command += ["-k", select]
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=root, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    notebooks: dict[str, float] = {}
    for match in _DURATION_LINE.finditer(completed.stdout):
        duration, name = float(match.group(1)), match.group(2)
        notebooks[name] = notebooks.get(name, 0.0) + duration
    # The test also records each kernel's CPU time, which depends less than
    # wall time on other jobs sharing the machine.
    timings_path = Path(root) / "executed" / "timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    kernel_cpu = {
        name: timings[name]["kernel_cpu_seconds"]
        for name in notebooks
        if "kernel_cpu_seconds" in timings.get(name, {})
    }
    summary = completed.stdout.strip().splitlines()[-1:] or [""]
    return {
        "seconds": seconds,
        "exit_code": completed.returncode,
        "pytest_summary": summary[0],
        "notebooks": notebooks,
        "kernel_cpu_seconds": kernel_cpu,
        "peak_mib": children / 1024,
    }


#: A line of pytest's ``--durations`` report for one notebook, such as
#: ``51.10s call     tests/test_notebooks_execute.py::test_..._executes[05_x]``.
_DURATION_LINE = re.compile(
    r"^([0-9.]+)s (?:setup|call|teardown) +\S+::test_solution_notebook_executes"
    r"\[([^\]]+)\]",
    re.MULTILINE,
)


MEASUREMENTS: dict[str, Callable[..., dict]] = {
    "read_csv": measure_read_csv,
    "load_flows": measure_load_flows,
    "preprocess": measure_preprocess,
    "train": measure_train,
    "reproduce": measure_reproduce,
    "notebooks": measure_notebooks,
}


def main(argv: list[str] | None = None) -> int:
    """Run the measurement named by ``argv[0]`` with the JSON options ``argv[1]``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in MEASUREMENTS:
        print(
            f"usage: python -m benchmarks.measure {{{','.join(MEASUREMENTS)}}} "
            "'{\"option\": value}'",
            file=sys.stderr,
        )
        return 2
    options = json.loads(argv[1]) if len(argv) > 1 else {}
    figures = MEASUREMENTS[argv[0]](**options)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
