"""Benchmark loading, preprocessing, training, whole runs and the notebooks.

Usage::

    python -m benchmarks.run --stage all --rows 1231411 --repeat 3

Stages (``--stage``, several allowed):

``load``
    On a twin written as CSV in the published text layout: the first
    ``iotlab.data.load_flows`` of the CSV next to ``pandas.read_csv`` with
    default arguments, then ``load_flows`` of the Parquet cache that
    ``data_fetch.py --source file`` builds from that CSV, twice in a row.
    Time, peak memory and the frames' memory, measured in one run.
``preprocess``
    ``iotlab.preprocessing.make_preprocessor`` fitted on 80 % of the rows and
    applied to the other 20 %, for both feature sets.
``train``
    CNN-LSTM training throughput on the CPU at each ``--batch-sizes``, over
    a fixed number of steps. It compares the ``tf.data`` pipeline of
    ``iotlab.models.train`` with ``fit`` on NumPy arrays, and shows an
    estimate of the FLOPs per sample and the share of the CPU's peak.
``reproduce``
    ``iotlab reproduce --quick`` on the whole twin, per stage. Then the
    settings of Reddy et al. 2025 (batch 32, up to 50 epochs): the four
    baselines run in full, and each deep model trains for a fixed number of
    steps, from which the time of one epoch and of 50 epochs is
    extrapolated.
``notebooks``
    ``pytest tests/test_notebooks_execute.py``, which executes every lesson
    notebook with papermill on its default parameters (independent of
    ``--rows``).

Every measurement runs in a fresh process (``benchmarks.measure``), and a
table shows the median over ``--repeat`` runs. The expensive measurements
(the reproduce run with the paper's settings, the deep-model extrapolation
and the notebooks) run ``--repeat-expensive`` times, once by default. The
data files go to ``--data-dir`` (``data/bench`` by default, ignored by git)
and are built once per row count. The tables are printed and written to
``--out``/results.md, with every run's figures in ``--out``/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.flops import cpu_model_name, cpu_peak, read_cpuinfo

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("load", "preprocess", "train", "reproduce", "notebooks")
FEATURE_SETS = ("paper", "flow")
DEEP_MODELS = ("CNN", "LSTM", "CNN-LSTM")
BASELINES = ("LR", "SVM", "DT", "RF")
FULL_ROWS = 1_231_411
#: Epochs and batch of Table 2 of Reddy et al. 2025.
PAPER_EPOCHS = 50
PAPER_BATCH = 32
#: Share of the training rows that ``iotlab reproduce`` holds out to
#: validate the deep models.
VALIDATION_SHARE = 0.1
#: 3 GB, the preprocessing memory target, in MiB.
PREPROCESS_LIMIT_MIB = 3e9 / 2**20


class BenchmarkError(RuntimeError):
    """A measurement process failed."""


# --------------------------------------------------------------------------
# Running measurements
# --------------------------------------------------------------------------


class Runner:
    """Start measurement processes with a fixed thread count and collect runs."""

    def __init__(self, threads: int, verbose: bool = True) -> None:
        self.threads = threads
        self.verbose = verbose
        self.env = dict(os.environ)
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            self.env[name] = str(threads)
        self.env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        )

    def measure(self, name: str, **options) -> dict:
        """Run ``benchmarks.measure NAME`` in a new process and return its figures."""
        command = [
            sys.executable,
            "-m",
            "benchmarks.measure",
            name,
            json.dumps(options),
        ]
        started = time.perf_counter()
        completed = subprocess.run(
            command,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
            raise BenchmarkError(
                f"measurement {name} {options} failed with exit code "
                f"{completed.returncode}:\n{tail}"
            )
        lines = completed.stdout.strip().splitlines()
        figures = json.loads(lines[-1])
        if self.verbose:
            print(
                f"  {name} {_short(options)}: done in "
                f"{time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        return figures


def _short(options: dict) -> str:
    shown = {
        key: Path(value).name if key == "path" else value
        for key, value in options.items()
        if key not in ("threads", "root")
    }
    return json.dumps(shown)


def median(runs: list[dict], key: str) -> float:
    """Return the median of ``key`` over runs."""
    return statistics.median(run[key] for run in runs)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def prepare_data(rows: int, data_dir: Path) -> tuple[Path, Path]:
    """Build the twin CSV and its Parquet cache once, and return both paths.

    The CSV is ``data_fetch.py --source twin --format csv`` (the published
    text layout); the cache is ``data_fetch.py --source file --subset`` of
    that CSV, as a user who downloaded the file would build it.
    """
    from iotlab.fetch import fetch

    folder = data_dir / str(rows)
    csv_result = fetch("twin", rows=rows, file_format="csv", data_dir=folder)
    print(csv_result.message, file=sys.stderr)
    cache = fetch("file", path=csv_result.path, subset=True, data_dir=folder)
    print(cache.message, file=sys.stderr)
    return Path(csv_result.path), Path(cache.path)


# --------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------


def bench_load(runner: Runner, csv_path: Path, parquet_path: Path, repeat: int):
    """Measure plain pandas, the first load of the CSV and the cached load."""
    steps = {
        "pandas.read_csv(csv)": ("read_csv", csv_path),
        "load_flows(csv)": ("load_flows", csv_path),
        "load_flows(parquet cache)": ("load_flows", parquet_path),
        "load_flows(parquet cache), next process": ("load_flows", parquet_path),
    }
    runs: dict[str, list[dict]] = {label: [] for label in steps}
    # Alternate the steps, so that the page cache and other jobs on the
    # machine affect each step alike. The cached load runs twice in a row.
    # On a virtual machine, a process that starts right after the large CSV
    # load can spend more kernel time getting fresh memory than one that
    # starts right after a similar process. The targets use the first run.
    for _ in range(repeat):
        for label, (name, path) in steps.items():
            runs[label].append(runner.measure(name, path=str(path)))

    lines = [
        (
            "| step | median s | runs (s) | CPU s | peak RSS MiB | RSS before MiB "
            "| frame MiB |"
        ),
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for label, step_runs in runs.items():
        lines.append(
            f"| `{label}` | {median(step_runs, 'seconds'):.2f} | "
            f"{_run_list(step_runs, 'seconds')} | "
            f"{median(step_runs, 'cpu_seconds'):.2f} | "
            f"{median(step_runs, 'peak_mib'):,.0f} | "
            f"{median(step_runs, 'base_mib'):,.0f} | "
            f"{median(step_runs, 'frame_mib'):,.0f} |"
        )
    plain = runs["pandas.read_csv(csv)"]
    first = runs["load_flows(csv)"]
    cached = runs["load_flows(parquet cache)"]
    first_ratio = median(first, "seconds") / median(plain, "seconds")
    speedup = median(plain, "seconds") / median(cached, "seconds")
    memory_share = median(first, "frame_mib") / median(plain, "frame_mib")
    targets = [
        ("first load <= 1.5 x plain read", f"{first_ratio:.2f} x", first_ratio <= 1.5),
        ("cached load >= 5 x faster than plain read", f"{speedup:.1f} x", speedup >= 5),
        (
            "loaded frame <= 60 % of plain frame",
            f"{memory_share:.0%}",
            memory_share <= 0.6,
        ),
    ]
    rows = median(first, "rows")
    title = f"Loading {rows:,.0f} rows x {first[0]['columns']} columns"
    object_mib = median(plain, "object_strings_mib")
    note = (
        f"With its text columns stored as Python objects (the pandas 2 default) "
        f"the plain frame would take {object_mib:,.0f} MiB, and the loaded frame "
        f"is {median(first, 'frame_mib') / object_mib:.0%} of that."
    )
    return {
        "title": title,
        "lines": lines + ["", note, ""] + _target_lines(targets),
        "runs": runs,
        "targets": _target_records(targets),
    }


def bench_preprocess(runner: Runner, parquet_path: Path, repeat: int):
    """Measure ``make_preprocessor`` fit and transform for both feature sets."""
    runs: dict[str, list[dict]] = {name: [] for name in FEATURE_SETS}
    for _ in range(repeat):
        for feature_set in FEATURE_SETS:
            runs[feature_set].append(
                runner.measure(
                    "preprocess", path=str(parquet_path), feature_set=feature_set
                )
            )
    lines = [
        (
            "| feature set | columns out | fit_transform s (train) | transform s (test) "
            "| CPU s | peak RSS MiB (step) | RSS before MiB | process peak MiB |"
        ),
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    targets = []
    for feature_set, step_runs in runs.items():
        peak = median(step_runs, "process_peak_mib")
        lines.append(
            f"| {feature_set} | {step_runs[0]['output_columns']} | "
            f"{median(step_runs, 'fit_transform_seconds'):.2f} | "
            f"{median(step_runs, 'transform_seconds'):.2f} | "
            f"{median(step_runs, 'cpu_seconds'):.2f} | "
            f"{median(step_runs, 'peak_mib'):,.0f} | "
            f"{median(step_runs, 'base_mib'):,.0f} | {peak:,.0f} |"
        )
        targets.append(
            (
                f"'{feature_set}' process peak < 3 GB ({PREPROCESS_LIMIT_MIB:,.0f} MiB)",
                f"{peak:,.0f} MiB",
                peak < PREPROCESS_LIMIT_MIB,
            )
        )
    first = runs[FEATURE_SETS[0]][0]
    title = (
        f"Preprocessing: fit on {first['train_rows']:,} training rows, "
        f"transform {first['test_rows']:,} test rows"
    )
    return {
        "title": title,
        "lines": lines + [""] + _target_lines(targets),
        "runs": runs,
        "targets": _target_records(targets),
    }


def bench_train(
    runner: Runner,
    batch_sizes: list[int],
    steps_per_batch_size: list[int],
    n_features: int,
    repeat: int,
    peak_gflops: float,
    peak_how: str,
):
    """Measure CNN-LSTM training samples/s through tf.data and NumPy input."""
    runs: dict[tuple[int, str], list[dict]] = {}
    for _ in range(repeat):
        for batch_size, steps in zip(batch_sizes, steps_per_batch_size, strict=True):
            for input_kind in ("tf.data", "numpy"):
                runs.setdefault((batch_size, input_kind), []).append(
                    runner.measure(
                        "train",
                        model="CNN-LSTM",
                        batch_size=batch_size,
                        steps=steps,
                        input_kind=input_kind,
                        n_features=n_features,
                        threads=runner.threads,
                    )
                )
    first = next(iter(runs.values()))[0]
    flops = first["training_flops_per_sample"]
    lines = [
        (
            "| batch | input | timed steps | samples/s | runs (samples/s) "
            "| CPU s per 1k samples | GFLOP/s | share of peak |"
        ),
        "| ---: | --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    targets = []
    for (batch_size, input_kind), step_runs in runs.items():
        rate = median(step_runs, "samples_per_second")
        gflops = rate * flops / 1e9
        lines.append(
            f"| {batch_size} | {input_kind} | {step_runs[0]['steps']} | {rate:,.0f} | "
            f"{_run_list(step_runs, 'samples_per_second', '{:,.0f}')} | "
            f"{median(step_runs, 'cpu_seconds_per_1k'):.2f} | {gflops:.1f} | "
            f"{gflops / peak_gflops:.1%} |"
        )
    for batch_size in batch_sizes:
        pipeline = median(runs[(batch_size, "tf.data")], "samples_per_second")
        arrays = median(runs[(batch_size, "numpy")], "samples_per_second")
        ratio = pipeline / arrays
        targets.append(
            (
                f"batch {batch_size}: tf.data not slower than NumPy input",
                f"{ratio:.2f} x",
                ratio >= 1.0,
            )
        )
    notes = [
        (
            f"FLOPs per training sample (estimate): {flops / 1e6:.2f} M = 3 x the "
            "forward pass's 2 x multiply-adds of the Conv1D, LSTM and Dense layers "
            f"for {n_features} input features (`benchmarks/flops.py`)."
        ),
        f"CPU peak (estimate): {peak_gflops:.0f} GFLOP/s FP32 = {peak_how}.",
        (
            "Rows are random features in [0, 1] with labels in the full file's "
            "class mix and balanced class weights; the speed does not depend on "
            "the values. Each run trains two epochs of the given steps in a new "
            "process and times the second, so graph tracing is excluded."
        ),
    ]
    return {
        "title": f"CNN-LSTM training throughput on {runner.threads} CPU threads",
        "lines": lines
        + [""]
        + [f"- {note}" for note in notes]
        + [""]
        + _target_lines(targets),
        "runs": {f"{batch} {kind}": value for (batch, kind), value in runs.items()},
        "targets": _target_records(targets),
    }


def bench_reproduce(
    runner: Runner,
    parquet_path: Path,
    repeat: int,
    repeat_expensive: int,
    paper_steps: int,
    eval_steps: int,
):
    """Time ``iotlab reproduce --quick`` and the paper's settings per stage."""
    threads = ["--threads", str(runner.threads)]
    with tempfile.TemporaryDirectory(prefix="bench-reproduce-") as work:
        quick_runs = [
            runner.measure(
                "reproduce",
                argv=[
                    "--quick",
                    "--data",
                    str(parquet_path),
                    "--out",
                    f"{work}/quick{index}",
                    *threads,
                ],
            )
            for index in range(repeat)
        ]
        paper_runs = [
            runner.measure(
                "reproduce",
                argv=[
                    "--data",
                    str(parquet_path),
                    "--models",
                    *BASELINES,
                    "--out",
                    f"{work}/paper{index}",
                    *threads,
                ],
            )
            for index in range(repeat_expensive)
        ]
    n_features = paper_runs[0]["models"][0]["n_features"]
    n_train = paper_runs[0]["models"][0]["n_train"]
    deep_runs = {
        name: [
            runner.measure(
                "train",
                model=name,
                batch_size=PAPER_BATCH,
                steps=paper_steps,
                input_kind="tf.data",
                n_features=n_features,
                threads=runner.threads,
                eval_steps=eval_steps,
            )
            for _ in range(repeat_expensive)
        ]
        for name in DEEP_MODELS
    }

    lines = [f"`iotlab reproduce --quick`, {_runs(repeat)}:", ""]
    lines += _stage_table(quick_runs)
    lines += [
        "",
        (
            f"Settings of Reddy et al. 2025, {_runs(repeat_expensive)}. The "
            "baselines are measured and the deep models extrapolated:"
        ),
        "",
    ]
    lines += _stage_table(paper_runs)
    n_val = round(n_train * VALIDATION_SHARE)
    n_fit = n_train - n_val
    lines += [
        "",
        (
            f"Deep models at batch {PAPER_BATCH} on {n_features} features, "
            f"{paper_steps} timed training steps and {eval_steps} validation steps "
            f"per run; an epoch trains on {n_fit:,} rows and validates on "
            f"{n_val:,}:"
        ),
        "",
        (
            "| model | train samples/s | validation samples/s | one epoch (min, "
            f"estimate) | {PAPER_EPOCHS} epochs (h, estimate) |"
        ),
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    total_hours = 0.0
    for name, runs in deep_runs.items():
        train_rate = median(runs, "samples_per_second")
        eval_rate = median(runs, "eval_samples_per_second")
        epoch_seconds = n_fit / train_rate + n_val / eval_rate
        hours = PAPER_EPOCHS * epoch_seconds / 3600
        total_hours += hours
        lines.append(
            f"| {name} | {train_rate:,.0f} | {eval_rate:,.0f} | "
            f"{epoch_seconds / 60:.1f} | {hours:.1f} |"
        )
    baseline_hours = median(paper_runs, "seconds") / 3600
    lines += [
        "",
        (
            f"Estimated whole run with the paper's settings: {baseline_hours:.2f} h "
            f"measured (load, selection, baselines, outputs) + {total_hours:.1f} h "
            f"extrapolated for {PAPER_EPOCHS} epochs of the three deep models. Early "
            "stopping (patience 5) ends training sooner when the validation loss "
            "stops falling, so the deep-model figure is an upper bound; the test-set "
            "predictions and plots of the deep models are not included."
        ),
    ]
    return {
        "title": "The whole run: iotlab reproduce on the full twin",
        "lines": lines,
        "runs": {"quick": quick_runs, "paper_baselines": paper_runs, **deep_runs},
        "targets": [],
    }


def _stage_table(runs: list[dict]) -> list[str]:
    """Tabulate the median seconds and sampled peak RSS of each stage."""
    names = [row["stage"] for row in runs[0].get("stages", [])]
    lines = [
        "| stage | median s | runs (s) | peak RSS MiB in stage | peak RSS MiB so far |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for name in names:
        rows = [
            next(row for row in run["stages"] if row["stage"] == name) for run in runs
        ]
        lines.append(
            f"| {name} | {median(rows, 'seconds'):.1f} | "
            f"{_run_list(rows, 'seconds', '{:.1f}')} | "
            f"{median(rows, 'stage_peak_mib'):,.0f} | "
            f"{median(rows, 'peak_rss_mib'):,.0f} |"
        )
    lines.append(
        f"| **whole command** | {median(runs, 'seconds'):.1f} | "
        f"{_run_list(runs, 'seconds', '{:.1f}')} | | "
        f"{median(runs, 'process_peak_mib'):,.0f} |"
    )
    return lines


def bench_notebooks(runner: Runner, repeat: int, select: str | None):
    """Time the execution of every lesson notebook under pytest."""
    runs = [
        runner.measure("notebooks", root=str(ROOT), select=select)
        for _ in range(repeat)
    ]
    names = sorted(runs[0]["notebooks"])
    lines = [
        "| notebook | median s | runs (s) | kernel CPU s |",
        "| --- | ---: | --- | ---: |",
    ]
    for name in names:
        values = [run["notebooks"].get(name) for run in runs]
        shown = ", ".join("-" if value is None else f"{value:.0f}" for value in values)
        present = [value for value in values if value is not None]
        cpu = [
            run["kernel_cpu_seconds"][name]
            for run in runs
            if name in run["kernel_cpu_seconds"]
        ]
        cpu_shown = f"{statistics.median(cpu):.0f}" if cpu else ""
        lines.append(
            f"| {name} | {statistics.median(present):.0f} | {shown} | {cpu_shown} |"
        )
    lines.append(
        f"| **pytest, all of the above** | {median(runs, 'seconds'):.0f} | "
        f"{_run_list(runs, 'seconds', '{:.0f}')} | |"
    )
    lines += [
        "",
        (
            f"pytest: {runs[-1]['pytest_summary']} (exit code {runs[-1]['exit_code']}); "
            f"largest process {median(runs, 'peak_mib'):,.0f} MiB."
        ),
    ]
    return {
        "title": "CI: executing the lesson notebooks",
        "lines": lines,
        "runs": runs,
        "targets": [],
    }


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def _runs(count: int) -> str:
    return "1 run" if count == 1 else f"median of {count} runs"


def _run_list(runs: list[dict], key: str, style: str = "{:.2f}") -> str:
    return ", ".join(style.format(run[key]) for run in runs)


def _target_lines(targets: list[tuple[str, str, bool]]) -> list[str]:
    lines = ["| target | measured | met |", "| --- | ---: | --- |"]
    for name, measured, met in targets:
        lines.append(f"| {name} | {measured} | {'yes' if met else '**no**'} |")
    return lines


def _target_records(targets: list[tuple[str, str, bool]]) -> list[dict]:
    return [
        {"target": name, "measured": measured, "met": met}
        for name, measured, met in targets
    ]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def describe_machine(threads: int) -> dict:
    """Return the CPU, cores, memory and package versions of this machine."""
    info = read_cpuinfo()
    memory_kib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu_model_name(info),
        "cpu_mhz": info.get("cpu MHz"),
        "cpus_usable": usable,
        "threads": threads,
        "memory_gib": None if memory_kib is None else round(memory_kib / 2**20, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            package: _version(package)
            for package in (
                "tensorflow",
                "keras",
                "pandas",
                "pyarrow",
                "numpy",
                "scikit-learn",
            )
        },
    }


def _git_commit() -> str:
    try:
        completed = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return completed.stdout.strip()


def render(report: dict) -> str:
    """Return the markdown page of a benchmark report."""
    machine = report["machine"]
    versions = ", ".join(
        f"{name} {version}" for name, version in machine["versions"].items()
    )
    lines = [
        f"# iotlab benchmarks, {report['date']}",
        "",
        f"- Command: `{report['command']}` (commit {report['commit']})",
        (
            f"- CPU: {machine['cpu']}, {machine['cpus_usable']} usable cores at "
            f"{machine['cpu_mhz']} MHz; {machine['threads']} threads used; "
            f"{machine['memory_gib']} GiB RAM"
        ),
        f"- Software: Python {machine['python']}, {versions}; {machine['os']}",
        (
            f"- Load average (1 min) at start and end: "
            f"{report['load_start']:.2f}, {report['load_end']:.2f}"
        ),
        f"- Wall time of the benchmark: {report['seconds'] / 60:.1f} min",
        "",
        (
            "Times are medians over the runs listed; every run is a new process. "
            "Peak RSS is the peak resident memory of that process during the step "
            "(after a reset of the kernel's high-water mark on Linux); RSS before "
            "is what imports and setup already held."
        ),
    ]
    for section in report["sections"]:
        lines += ["", f"## {section['title']}", "", *section["lines"]]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Build the option parser of ``python -m benchmarks.run``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_run_options(parser.add_argument_group("what to run"))
    _add_size_options(parser.add_argument_group("sizes of the measurements"))
    _add_file_options(parser.add_argument_group("files"))
    return parser


def _add_run_options(group) -> None:
    group.add_argument(
        "--stage",
        nargs="+",
        choices=[*STAGES, "all"],
        default=["all"],
        help="stages to run",
    )
    group.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement (median shown)"
    )
    group.add_argument(
        "--repeat-expensive",
        type=int,
        default=1,
        help="runs of the reproduce run with the paper's settings, the deep-model "
        "extrapolation and the notebooks",
    )
    group.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="TensorFlow, BLAS, OpenMP and Arrow threads (all CPUs by default)",
    )
    group.add_argument(
        "--notebooks",
        metavar="EXPRESSION",
        help="pytest -k expression that selects notebooks (default: all)",
    )


def _add_size_options(group) -> None:
    group.add_argument(
        "--rows", type=int, default=FULL_ROWS, help="rows of the twin data files"
    )
    group.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=[32, 1024],
        help="training batch sizes of the train stage",
    )
    group.add_argument(
        "--train-steps",
        type=int,
        nargs="+",
        default=[1024, 128],
        help="timed training steps at each of --batch-sizes, in the same order",
    )
    group.add_argument(
        "--n-features",
        type=int,
        default=20,
        help="input features of the train stage (iotlab reproduce keeps 20)",
    )
    group.add_argument(
        "--paper-steps",
        type=int,
        default=500,
        help="timed batch-32 training steps per deep model for the extrapolation",
    )
    group.add_argument(
        "--eval-steps",
        type=int,
        default=200,
        help="timed validation steps (batch 128) per deep model",
    )
    group.add_argument(
        "--cpu-ghz",
        type=float,
        help="CPU clock for the peak FLOP/s estimate (default: 'cpu MHz' of "
        "/proc/cpuinfo)",
    )


def _add_file_options(group) -> None:
    group.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT / "data" / "bench",
        help="folder for the twin CSV and Parquet files, one subfolder per row count",
    )
    group.add_argument(
        "--out",
        type=Path,
        default=ROOT / "benchmarks" / "results",
        help="folder for results.md and results.json",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the selected stages, print the tables and write the results."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("rows", "repeat", "repeat_expensive", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1.")
    if len(args.train_steps) != len(args.batch_sizes):
        parser.error(
            f"--train-steps has {len(args.train_steps)} values but --batch-sizes has "
            f"{len(args.batch_sizes)}; give one step count per batch size."
        )
    if min(args.train_steps + args.batch_sizes) < 1:
        parser.error("--train-steps and --batch-sizes must be at least 1.")
    stages = STAGES if "all" in args.stage else tuple(args.stage)
    started = time.perf_counter()
    runner = Runner(args.threads)
    report = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m benchmarks.run "
        + shlex.join(sys.argv[1:] if argv is None else argv),
        "commit": _git_commit(),
        "machine": describe_machine(args.threads),
        "load_start": os.getloadavg()[0],
        "sections": [],
    }
    peak = cpu_peak(cores=min(args.threads, os.cpu_count() or 1), ghz=args.cpu_ghz)

    paths = None
    if {"load", "preprocess", "reproduce"} & set(stages):
        paths = prepare_data(args.rows, args.data_dir)
    try:
        for stage in stages:
            print(f"Stage {stage} ...", file=sys.stderr, flush=True)
            if stage == "load":
                section = bench_load(runner, *paths, args.repeat)
            elif stage == "preprocess":
                section = bench_preprocess(runner, paths[1], args.repeat)
            elif stage == "train":
                section = bench_train(
                    runner,
                    args.batch_sizes,
                    args.train_steps,
                    args.n_features,
                    args.repeat,
                    peak.gflops,
                    peak.how,
                )
            elif stage == "reproduce":
                section = bench_reproduce(
                    runner,
                    paths[1],
                    args.repeat,
                    args.repeat_expensive,
                    args.paper_steps,
                    args.eval_steps,
                )
            else:
                section = bench_notebooks(runner, args.repeat_expensive, args.notebooks)
            report["sections"].append(section)
    except BenchmarkError as error:
        print(f"benchmarks.run: error: {error}", file=sys.stderr)
        return 1
    report["load_end"] = os.getloadavg()[0]
    report["seconds"] = time.perf_counter() - started
    page = render(report)
    print(page)
    args.out.mkdir(parents=True, exist_ok=True)
    _write_text(args.out / "results.md", page)
    _write_text(args.out / "results.json", json.dumps(report, indent=1) + "\n")
    return 0


def _write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


if __name__ == "__main__":
    sys.exit(main())
