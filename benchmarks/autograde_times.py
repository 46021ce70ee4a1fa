"""Measure how long ``nbgrader autograde`` takes for one submission per lesson.

The script copies ``nbgrader_config.py`` and ``solutions/`` to a temporary
course and runs ``nbgrader generate_assignment``. It then writes one solved
submission per lesson (``iotlab.grading.make_submission``) and times
``nbgrader autograde LESSON --student bench``, one process per lesson, as an
instructor who grades one submission runs it. The table lists:

* ``wall s``: the whole command, including nbgrader's start-up and the kernel;
* ``cpu s``: user and system CPU time of nbgrader and its kernel together,
  which depends less than wall time on other jobs sharing the machine;
* ``cells s``: from the first cell's start to the last cell's end, read from
  the execution times that nbclient stores in the autograded notebook;
* ``slowest cell``: its id and seconds, to compare with the per-cell time
  limit in ``nbgrader_config.py``;
* ``score``: points from the gradebook, out of the lesson's maximum.

The notebooks run on the offline twin unless ``--data-dir`` names a folder
with the real data cache, because autograding runs each notebook in
``autograded/<student>/<lesson>/``, where no ``data/`` folder exists.

Usage::

    python benchmarks/autograde_times.py [--lessons 05_deep_baselines ...]
        [--data-dir data] [--json autograde_times.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from iotlab.grading import make_submission, write_submission
from iotlab.lessons import NBGRADER_CONFIG, SOLUTIONS_DIRECTORY, list_lessons

ROOT = Path(__file__).resolve().parents[1]
NBGRADER = [sys.executable, "-m", "nbgrader"]
STUDENT = "bench"


def _environment(data_dir: Path) -> dict[str, str]:
    environment = dict(os.environ)
    # nbgrader creates the gradebook with the `alembic` executable beside
    # this interpreter.
    bin_directory = str(Path(sys.executable).parent)
    environment["PATH"] = bin_directory + os.pathsep + environment.get("PATH", "")
    environment["IOTLAB_DATA"] = str(data_dir)
    environment["MPLBACKEND"] = "Agg"
    environment["TF_CPP_MIN_LOG_LEVEL"] = "2"
    environment.pop("NBGRADER_EXECUTION", None)
    return environment


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(
    args: list[str], course: Path, environment: dict[str, str]
) -> tuple[float, float]:
    """Run a command and return its wall time and CPU time in seconds."""
    started, cpu_started = time.perf_counter(), _children_cpu_seconds()
    completed = subprocess.run(
        args, cwd=course, env=environment, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    cpu_seconds = _children_cpu_seconds() - cpu_started
    if completed.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(args)}` failed with exit status {completed.returncode}:\n"
            f"{completed.stdout[-4000:]}{completed.stderr[-4000:]}"
        )
    return seconds, cpu_seconds


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def cell_times(path: Path) -> tuple[float, str, float]:
    """Return the cells' total span, the slowest cell's id and its seconds.

    nbclient stores ``iopub.execute_input`` and ``shell.execute_reply`` in
    each executed cell's ``metadata.execution``.
    """
    notebook = nbformat.read(path, as_version=4)
    spans = []
    for cell in notebook.cells:
        execution = cell.metadata.get("execution", {})
        if "iopub.execute_input" in execution and "shell.execute_reply" in execution:
            start = _timestamp(execution["iopub.execute_input"])
            end = _timestamp(execution["shell.execute_reply"])
            spans.append((cell.get("id", "?"), start, end))
    if not spans:
        return 0.0, "-", 0.0
    total = (
        max(end for _, _, end in spans) - min(start for _, start, _ in spans)
    ).total_seconds()
    slowest = max(spans, key=lambda span: span[2] - span[1])
    return total, slowest[0], (slowest[2] - slowest[1]).total_seconds()


def score(course: Path, lesson: str) -> tuple[float, float]:
    """Return the bench student's score and the maximum for a lesson."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "iotlab") as gradebook:
        notebook = gradebook.find_submission_notebook(lesson, lesson, STUDENT)
        return notebook.score, notebook.max_score


def measure(lessons: list[str], data_dir: Path | None) -> list[dict]:
    """Autograde one solved submission of each lesson and return the figures."""
    with tempfile.TemporaryDirectory(prefix="iotlab-autograde-") as temporary:
        course = Path(temporary) / "course"
        course.mkdir()
        shutil.copy2(ROOT / NBGRADER_CONFIG, course / NBGRADER_CONFIG)
        shutil.copytree(ROOT / SOLUTIONS_DIRECTORY, course / SOLUTIONS_DIRECTORY)
        environment = _environment(data_dir or Path(temporary) / "no-data")
        _run([*NBGRADER, "generate_assignment", "[0-9][0-9]_*"], course, environment)

        rows = []
        for lesson in lessons:
            write_submission(course, STUDENT, lesson, make_submission(course, lesson))
            args = [*NBGRADER, "autograde", lesson, "--student", STUDENT]
            wall, cpu = _run(args, course, environment)
            graded = course / "autograded" / STUDENT / lesson / f"{lesson}.ipynb"
            cells, slowest_id, slowest_seconds = cell_times(graded)
            points, max_points = score(course, lesson)
            rows.append(
                {
                    "lesson": lesson,
                    "wall_seconds": round(wall, 1),
                    "cpu_seconds": round(cpu, 1),
                    "cells_seconds": round(cells, 1),
                    "slowest_cell": slowest_id,
                    "slowest_cell_seconds": round(slowest_seconds, 1),
                    "score": points,
                    "max_score": max_points,
                }
            )
            print(_format_row(rows[-1]), flush=True)
    return rows


def _format_row(row: dict) -> str:
    return (
        f"{row['lesson']:<24} {row['wall_seconds']:>7.1f} {row['cpu_seconds']:>6.1f} "
        f"{row['cells_seconds']:>8.1f}  "
        f"{row['slowest_cell']:<28} {row['slowest_cell_seconds']:>6.1f}  "
        f"{row['score']:g}/{row['max_score']:g}"
    )


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one row per lesson."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lessons", nargs="+", help="lessons to grade (default: every lesson)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="data folder with the real data cache (default: none, so the twin)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    arguments = parser.parse_args(argv)

    available = list_lessons(ROOT)
    lessons = arguments.lessons or available
    unknown = sorted(set(lessons) - set(available))
    if unknown:
        parser.error(
            f"not a lesson: {', '.join(unknown)} (lessons: {', '.join(available)})"
        )
    data_dir = arguments.data_dir.resolve() if arguments.data_dir else None

    print(
        f"{os.cpu_count()} CPUs ({_cpu_model()}), Python {platform.python_version()}, "
        f"data: {data_dir or 'offline twin'}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    print(
        f"{'lesson':<24} {'wall s':>7} {'cpu s':>6} {'cells s':>8}  {'slowest cell':<28} {'s':>6}  score"
    )
    started = time.perf_counter()
    rows = measure(lessons, data_dir)
    print(
        f"total wall time including generate_assignment: "
        f"{time.perf_counter() - started:.0f} s, load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    if arguments.json:
        arguments.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
