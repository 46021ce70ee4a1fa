"""The instructor workflow with the real nbgrader command line, end to end.

The slow tests copy ``nbgrader_config.py`` and ``solutions/`` to a temporary
course. There they run each nbgrader 0.9.6 step once, on every lesson in
``solutions/``: ``generate_assignment``, ``validate`` on the solutions,
``validate --invert`` on the generated lessons, ``autograde`` for five
students, ``generate_feedback`` and ``export``. The students are:

* ``solved``: every exercise solved, saved with a kernel name that does not
  exist on the grading machine (nbgrader_config.py forces ``python3``);
* ``untouched``: the generated lesson as released;
* ``one_wrong``: every exercise solved except the first, answered wrongly;
* ``renamed``: the first lesson only, saved as ``<lesson>-Copy1.ipynb``;
* ``missing``: the first lesson only, a folder without a notebook.

Every lesson executes five times (two validations, three autogrades), so the
slow tests take several minutes. ``IOTLAB_NBGRADER_LESSONS=07_evaluation``
(comma-separated names) limits them to some lessons while writing one.

nbgrader sets ``NBGRADER_EXECUTION`` while it validates or autogrades, and
the lessons shrink their data and training when it is set. ``IOTLAB_DATA``
points at an empty folder, so the notebooks run on the offline twin even
where the real data is cached.

The fast tests check ``nbgrader_config.py``, the git-ignored grading folders
and that JupyterLab has the nbgrader extension after the README's install.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat
import pytest

from iotlab.grading import (
    check_submission,
    make_submission,
    solution_cell_ids,
    write_submission,
)
from iotlab.lessons import (
    LESSONS_DIRECTORY,
    NBGRADER_CONFIG,
    SOLUTIONS_DIRECTORY,
    lesson_notebook,
    list_lessons,
)

ROOT = Path(__file__).resolve().parents[1]
ALL_LESSONS = list_lessons(ROOT)
#: Lessons named in IOTLAB_NBGRADER_LESSONS, else every lesson.
SELECTED_LESSONS = [
    name.strip()
    for name in os.environ.get("IOTLAB_NBGRADER_LESSONS", "").split(",")
    if name.strip()
]
LESSONS = [
    name for name in ALL_LESSONS if name in SELECTED_LESSONS or not SELECTED_LESSONS
]
BIN = Path(sys.executable).parent
NBGRADER = [sys.executable, "-m", "nbgrader"]
COURSE_ID = "iotlab"

SOLVED, UNTOUCHED, ONE_WRONG = "solved", "untouched", "one_wrong"
RENAMED, MISSING = "renamed", "missing"
GRADED_STUDENTS = (SOLVED, UNTOUCHED, ONE_WRONG)
#: A kernel name that no grading machine has, so nbgrader must run python3.
STUDENT_KERNEL = "conda-env-student-laptop-py"

VALIDATING = re.compile(
    r"^\[ValidateApp \| INFO\] Validating '(?P<path>[^']+)'", re.MULTILINE
)
PASSES_ALL = "Success! Your notebook passes all the tests."
PASSES_NONE = "Success! The notebook does not pass any tests."
FEEDBACK_SCORE = re.compile(r"Score: (?P<score>[0-9.]+) / (?P<max>[0-9.]+)")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


# --------------------------------------------------------------------------
# What the lessons should score, read from the instructor notebooks


@dataclass(frozen=True)
class GradedCell:
    """An autograder test cell and the solution cell of its exercise."""

    grade_id: str
    points: float
    exercise: str | None


def graded_cells(name: str) -> list[GradedCell]:
    """List the autograder tests of a lesson in notebook order.

    A test belongs to the nearest solution cell above it.
    """
    notebook = nbformat.read(lesson_notebook(ROOT, name), as_version=4)
    cells, exercise = [], None
    for cell in notebook.cells:
        metadata = cell.metadata.get("nbgrader", {})
        if metadata.get("solution"):
            exercise = metadata["grade_id"]
        if metadata.get("grade") and not metadata.get("solution"):
            points = float(metadata.get("points", 0))
            cells.append(GradedCell(metadata["grade_id"], points, exercise))
    return cells


def first_exercise(name: str) -> str:
    notebook = nbformat.read(lesson_notebook(ROOT, name), as_version=4)
    return solution_cell_ids(notebook)[0]


def max_points(name: str) -> float:
    return sum(cell.points for cell in graded_cells(name))


def expected_points(name: str, student: str) -> dict[str, float]:
    """Points each autograder test of ``name`` should give ``student``."""
    wrong = first_exercise(name)
    expected = {}
    for cell in graded_cells(name):
        if student == SOLVED:
            expected[cell.grade_id] = cell.points
        elif student == UNTOUCHED:
            expected[cell.grade_id] = 0.0
        else:
            expected[cell.grade_id] = 0.0 if cell.exercise == wrong else cell.points
    return expected


# --------------------------------------------------------------------------
# Running nbgrader on a temporary course


@dataclass
class Run:
    """One finished command: its arguments, exit status, output and wall time."""

    args: list[str]
    returncode: int
    output: str
    seconds: float

    def explain(self) -> str:
        return (
            f"`{' '.join(self.args)}` exited with {self.returncode} after "
            f"{self.seconds:.0f} s; output:\n{self.output[-6000:]}"
        )


@dataclass
class Workflow:
    """The temporary course and every nbgrader run made on it."""

    course: Path
    generate: Run
    validate_solutions: Run
    validate_lessons: Run
    autograde: dict[str, Run] = field(default_factory=dict)
    feedback: Run | None = None
    export: Run | None = None

    def scores(self, student: str, name: str) -> dict[str, float | None]:
        """Score of each graded cell of one autograded submission."""
        from nbgrader.api import Gradebook

        url = f"sqlite:///{self.course / 'gradebook.db'}"
        with Gradebook(url, COURSE_ID) as gradebook:
            notebook = gradebook.find_submission_notebook(name, name, student)
            return {grade.name: grade.score for grade in notebook.grades}

    def grades_csv(self) -> dict[tuple[str, str], dict[str, str]]:
        """Rows of the exported grades.csv by (lesson, student)."""
        with open(self.course / "grades.csv", newline="") as handle:
            return {
                (row["assignment"], row["student_id"]): row
                for row in csv.DictReader(handle)
            }


def _environment(home: Path) -> dict[str, str]:
    environment = dict(os.environ)
    # nbgrader creates the gradebook with the `alembic` executable beside
    # this interpreter.
    environment["PATH"] = str(BIN) + os.pathsep + environment.get("PATH", "")
    # An empty data folder makes load_dataset(source="auto") use the twin.
    environment["IOTLAB_DATA"] = str(home / "no-data")
    # Keep a user's ~/.jupyter/nbgrader_config.py out of the course.
    environment["JUPYTER_CONFIG_DIR"] = str(home / "jupyter-config")
    environment["PYTHONUNBUFFERED"] = "1"
    environment["MPLBACKEND"] = "Agg"
    environment["TF_CPP_MIN_LOG_LEVEL"] = "2"
    environment.pop("NBGRADER_EXECUTION", None)
    return environment


def _run(args: list[str], course: Path, environment: dict[str, str]) -> Run:
    started = time.perf_counter()
    completed = subprocess.run(
        args,
        cwd=course,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    return Run(
        args, completed.returncode, completed.stdout, time.perf_counter() - started
    )


def validation_sections(run: Run) -> dict[str, str]:
    """Split one ``nbgrader validate`` output into the part of each notebook."""
    matches = list(VALIDATING.finditer(run.output))
    sections = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else None
        sections[Path(match["path"]).stem] = run.output[match.end() : end]
    return sections


def _write_submissions(course: Path) -> None:
    for name in LESSONS:
        solved = make_submission(course, name)
        solved.metadata["kernelspec"]["name"] = STUDENT_KERNEL
        write_submission(course, SOLVED, name, solved)
        write_submission(
            course, UNTOUCHED, name, make_submission(course, name, solved=False)
        )
        one_wrong = make_submission(course, name, wrong=[first_exercise(name)])
        write_submission(course, ONE_WRONG, name, one_wrong)
    first = LESSONS[0]
    write_submission(
        course, RENAMED, first, make_submission(course, first), f"{first}-Copy1.ipynb"
    )
    (course / "submitted" / MISSING / first).mkdir(parents=True)


def _validate_all(course: Path, environment: dict[str, str]) -> tuple[Run, Run]:
    solutions = [str(lesson_notebook(course, name)) for name in LESSONS]
    lessons = [
        str(lesson_notebook(course, name, LESSONS_DIRECTORY)) for name in LESSONS
    ]
    return (
        _run([*NBGRADER, "validate", *solutions], course, environment),
        _run([*NBGRADER, "validate", "--invert", *lessons], course, environment),
    )


def _autograde_all(course: Path, environment: dict[str, str]) -> dict[str, Run]:
    runs = {}
    # One process per student, in turn: they share the SQLite gradebook.
    for student in GRADED_STUDENTS:
        args = [*NBGRADER, "autograde", "[0-9][0-9]_*", "--student", student]
        runs[student] = _run(args, course, environment)
    for student in (RENAMED, MISSING):
        args = [*NBGRADER, "autograde", LESSONS[0], "--student", student]
        runs[student] = _run(args, course, environment)
    return runs


@pytest.fixture(scope="module")
def workflow(tmp_path_factory) -> Workflow:
    if not LESSONS:
        pytest.skip(f"no lessons in {SOLUTIONS_DIRECTORY}/")
    home = tmp_path_factory.mktemp("nbgrader")
    course = home / "course"
    course.mkdir()
    shutil.copy2(ROOT / NBGRADER_CONFIG, course / NBGRADER_CONFIG)
    for name in LESSONS:
        shutil.copytree(
            ROOT / SOLUTIONS_DIRECTORY / name,
            course / SOLUTIONS_DIRECTORY / name,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
    environment = _environment(home)

    generate = _run(
        [*NBGRADER, "generate_assignment", "[0-9][0-9]_*"], course, environment
    )
    assert generate.returncode == 0, generate.explain()
    _write_submissions(course)

    # Validation does not use the gradebook, so it runs beside autograding
    # and the two share the machine's cores.
    with ThreadPoolExecutor(max_workers=1) as pool:
        validations = pool.submit(_validate_all, course, environment)
        autograde = _autograde_all(course, environment)
        validate_solutions, validate_lessons = validations.result()

    result = Workflow(course, generate, validate_solutions, validate_lessons, autograde)
    result.feedback = _run(
        [*NBGRADER, "generate_feedback", "[0-9][0-9]_*"], course, environment
    )
    result.export = _run(
        [*NBGRADER, "export", "--to", "grades.csv"], course, environment
    )

    runs = {
        "generate_assignment": generate,
        "validate solutions": validate_solutions,
        "validate --invert lessons": validate_lessons,
        **{f"autograde {student}": run for student, run in autograde.items()},
        "generate_feedback": result.feedback,
        "export": result.export,
    }
    print(f"\nnbgrader runs on {len(LESSONS)} lessons, {os.cpu_count()} CPUs:")
    for label, run in runs.items():
        print(f"  {label:<28} {run.seconds:6.1f} s  exit {run.returncode}")
    return result


# --------------------------------------------------------------------------
# Configuration


def test_selected_lessons_exist():
    unknown = sorted(set(SELECTED_LESSONS) - set(ALL_LESSONS))
    assert unknown == [], (
        f"IOTLAB_NBGRADER_LESSONS names lessons that do not exist: {unknown}"
    )


def _load_config():
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(NBGRADER_CONFIG, path=str(ROOT)).load_config()


def test_config_names_course_and_folders():
    config = _load_config()
    assert config.CourseDirectory.course_id == COURSE_ID
    assert config.CourseDirectory.source_directory == SOLUTIONS_DIRECTORY
    assert config.CourseDirectory.release_directory == LESSONS_DIRECTORY
    assert Path(config.CourseDirectory.root) == ROOT
    assert config.CourseDirectory.db_url == f"sqlite:///{ROOT / 'gradebook.db'}"


def test_config_runs_python3_with_cell_timeout():
    config = _load_config()
    assert config.ExecutePreprocessor.kernel_name == "python3"
    assert config.Execute.kernel_name == "python3"
    # nbgrader's default of 30 s is too short for a cell that trains a model.
    assert config.Execute.timeout >= 120
    assert config.ExecutePreprocessor.timeout == config.Execute.timeout


@pytest.mark.parametrize(
    "path",
    [
        "submitted/student/00_setup/00_setup.ipynb",
        "autograded/student/00_setup/00_setup.ipynb",
        "feedback/student/00_setup/00_setup.html",
        "gradebook.db",
        "gradebook.db-journal",
        "grades.csv",
    ],
)
def test_grading_output_ignored_by_git(path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of the repository")
    completed = subprocess.run(
        ["git", "check-ignore", "--quiet", "--no-index", path],
        cwd=ROOT,
        check=False,
    )
    assert completed.returncode == 0, f"{path} holds student data: add it to .gitignore"


# --------------------------------------------------------------------------
# JupyterLab


def _jupyter(*args: str) -> str:
    jupyter = BIN / "jupyter"
    if not jupyter.exists():
        pytest.skip(f"no jupyter executable beside {sys.executable}")
    completed = subprocess.run(
        [str(jupyter), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": str(BIN) + os.pathsep + os.environ.get("PATH", "")},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return ANSI_ESCAPE.sub("", completed.stdout + completed.stderr)


def test_lab_extension_enabled():
    listing = _jupyter("labextension", "list")
    lines = [line for line in listing.splitlines() if "@jupyter/nbgrader" in line]
    assert lines, f"@jupyter/nbgrader is not installed:\n{listing}"
    assert "enabled" in lines[0].split()
    assert "OK" in lines[0].split()
    disabled = listing.partition("Disabled extensions:")[2]
    assert "@jupyter/nbgrader" not in disabled, f"plugins disabled:\n{disabled}"


def test_formgrader_server_extension_enabled():
    listing = _jupyter("server", "extension", "list")
    line = next(
        (
            line
            for line in listing.splitlines()
            if "nbgrader.server_extensions.formgrader" in line and "enabled" in line
        ),
        None,
    )
    assert line is not None, f"the formgrader server extension is off:\n{listing}"


# --------------------------------------------------------------------------
# generate_assignment and validate


@pytest.mark.slow
def test_generate_assignment_every_lesson(workflow):
    assert workflow.generate.returncode == 0, workflow.generate.explain()
    for name in LESSONS:
        released = lesson_notebook(workflow.course, name, LESSONS_DIRECTORY).read_text()
        assert "### BEGIN SOLUTION" not in released, name
        assert "raise NotImplementedError()" in released, name
    assert (workflow.course / "gradebook.db").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_validate_passes_on_solution(workflow, name):
    run = workflow.validate_solutions
    assert run.returncode == 0, run.explain()
    section = validation_sections(run).get(name)
    assert section is not None, run.explain()
    assert PASSES_ALL in section, section[-6000:]


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_validate_invert_fails_on_lesson(workflow, name):
    # nbgrader 0.9.6 exits with 0 either way. With --invert it prints
    # PASSES_NONE when every graded test fails, else "NOTEBOOK PASSED ON n
    # CELL(S)!".
    run = workflow.validate_lessons
    assert run.returncode == 0, run.explain()
    section = validation_sections(run).get(name)
    assert section is not None, run.explain()
    assert "NOTEBOOK PASSED ON" not in section, section[-6000:]
    assert PASSES_NONE in section, section[-6000:]


# --------------------------------------------------------------------------
# autograde


@pytest.mark.slow
@pytest.mark.parametrize("student", GRADED_STUDENTS)
def test_autograde_run_succeeds(workflow, student):
    run = workflow.autograde[student]
    assert run.returncode == 0, run.explain()
    for name in LESSONS:
        path = workflow.course / "autograded" / student / name / f"{name}.ipynb"
        assert path.is_file(), f"no autograded {name} for {student}"


def _cell_seconds(path: Path) -> dict[str, float]:
    """Seconds each executed cell took, from the times nbclient stores."""
    notebook = nbformat.read(path, as_version=4)
    seconds = {}
    for cell in notebook.cells:
        execution = cell.metadata.get("execution", {})
        if "iopub.execute_input" in execution and "shell.execute_reply" in execution:
            start = datetime.fromisoformat(execution["iopub.execute_input"])
            end = datetime.fromisoformat(execution["shell.execute_reply"])
            seconds[cell.get("id", "?")] = (end - start).total_seconds()
    return seconds


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_autograde_cells_within_time_limit(workflow, name):
    limit = _load_config().Execute.timeout
    path = workflow.course / "autograded" / SOLVED / name / f"{name}.ipynb"
    seconds = _cell_seconds(path)
    assert seconds, f"{path} records no cell times"
    slowest = max(seconds, key=seconds.get)
    # Half the limit leaves room for a grading machine twice as slow.
    assert seconds[slowest] < limit / 2, (
        f"cell {slowest} of {name} took {seconds[slowest]:.0f} s while "
        f"autograding, against a limit of {limit} s per cell"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_autograde_solution_full_marks(workflow, name):
    # The submission names a kernel that does not exist here.
    assert workflow.scores(SOLVED, name) == expected_points(name, SOLVED)


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_autograde_untouched_scores_zero(workflow, name):
    assert workflow.scores(UNTOUCHED, name) == expected_points(name, UNTOUCHED)


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_autograde_one_wrong_scores_others(workflow, name):
    scores = workflow.scores(ONE_WRONG, name)
    expected = expected_points(name, ONE_WRONG)
    lost = sorted(cell for cell, points in expected.items() if points == 0)
    assert lost, f"no graded test follows {first_exercise(name)}"
    assert scores == expected, (
        f"only {', '.join(lost)} should fail when {first_exercise(name)} is "
        "wrong; a later test that fails depends on an earlier exercise"
    )


@pytest.mark.slow
def test_renamed_notebook_reported(workflow):
    first = LESSONS[0]
    run = workflow.autograde[RENAMED]
    assert run.returncode != 0, run.explain()
    assert "Skipping unknown notebook" in run.output, run.explain()
    assert f"{first}-Copy1.ipynb" in run.output, run.explain()

    check = check_submission(workflow.course, RENAMED, first)
    assert not check.ok
    assert check.found == (f"{first}-Copy1.ipynb",)
    message = check.describe()
    assert f"expected {first}.ipynb, found {first}-Copy1.ipynb" in message
    assert f"rename submitted/{RENAMED}/{first}/{first}-Copy1.ipynb" in message


@pytest.mark.slow
def test_missing_notebook_reported(workflow):
    first = LESSONS[0]
    run = workflow.autograde[MISSING]
    assert run.returncode != 0, run.explain()
    assert "No notebooks were matched" in run.output, run.explain()

    check = check_submission(workflow.course, MISSING, first)
    assert not check.ok
    assert check.missing == (f"{first}.ipynb",)
    assert f"expected {first}.ipynb, found no notebook" in check.describe()


@pytest.mark.slow
def test_check_submissions_command(workflow):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "iotlab",
            "check-submissions",
            "--root",
            str(workflow.course),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    first = LESSONS[0]
    assert f"submitted/{RENAMED}/{first}: expected {first}.ipynb" in output
    assert f"submitted/{MISSING}/{first}: expected {first}.ipynb" in output
    for name in LESSONS:
        assert f"submitted/{SOLVED}/{name}: OK" in output
    assert "2 with problems" in output


# --------------------------------------------------------------------------
# generate_feedback and export


@pytest.mark.slow
@pytest.mark.parametrize("student", GRADED_STUDENTS)
def test_feedback_html_states_score(workflow, student):
    assert workflow.feedback.returncode == 0, workflow.feedback.explain()
    for name in LESSONS:
        path = workflow.course / "feedback" / student / name / f"{name}.html"
        assert path.is_file(), f"no feedback for {student} on {name}"
        header = FEEDBACK_SCORE.search(path.read_text(encoding="utf-8"))
        assert header is not None, f"{path} states no score"
        score = sum(expected_points(name, student).values())
        assert float(header["score"]) == score, f"{student} on {name}"
        assert float(header["max"]) == max_points(name), f"{student} on {name}"


@pytest.mark.slow
def test_export_grades_csv(workflow):
    assert workflow.export.returncode == 0, workflow.export.explain()
    rows = workflow.grades_csv()
    for name in LESSONS:
        for student in GRADED_STUDENTS:
            row = rows[(name, student)]
            score = sum(expected_points(name, student).values())
            assert float(row["max_score"]) == max_points(name), (name, student)
            assert float(row["score"]) == score, (name, student)
    assert float(rows[(LESSONS[0], SOLVED)]["score"]) > 0
    # A failed autograde is exported as 0 points, and a folder without a
    # notebook is not in the gradebook at all. `iotlab check-submissions`
    # reports both before grading.
    assert float(rows[(LESSONS[0], RENAMED)]["score"]) == 0
    assert (LESSONS[0], MISSING) not in rows


# --------------------------------------------------------------------------
# The instructor's own course folder and the nbgrader exchange


@pytest.mark.slow
def test_release_and_collect_through_exchange(tmp_path):
    """Generate in a copy of the repository, then release, submit, collect."""
    if not LESSONS:
        pytest.skip(f"no lessons in {SOLUTIONS_DIRECTORY}/")
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(ROOT / NBGRADER_CONFIG, course / NBGRADER_CONFIG)
    for directory in (SOLUTIONS_DIRECTORY, LESSONS_DIRECTORY):
        shutil.copytree(ROOT / directory, course / directory)
    environment = _environment(tmp_path)
    exchange = f"--Exchange.root={tmp_path / 'exchange'}"
    (tmp_path / "exchange").mkdir()
    first = LESSONS[0]

    # Without --force nbgrader skips lessons that exist in lessons/ and
    # records nothing in the gradebook.
    generate = _run(
        [*NBGRADER, "generate_assignment", "[0-9][0-9]_*", "--force"],
        course,
        environment,
    )
    assert generate.returncode == 0, generate.explain()
    for name in LESSONS:
        committed = lesson_notebook(ROOT, name, LESSONS_DIRECTORY).read_bytes()
        generated = lesson_notebook(course, name, LESSONS_DIRECTORY).read_bytes()
        assert generated == committed, (
            f"generate_assignment made a different lessons/{name} from "
            f"solutions/{name}: run `iotlab build-lessons` and commit lessons/"
        )
    listing = _run([*NBGRADER, "db", "assignment", "list"], course, environment)
    assert f"There are {len(ALL_LESSONS)} assignments" in listing.output, (
        listing.explain()
    )

    release = _run(
        [*NBGRADER, "release_assignment", first, exchange], course, environment
    )
    assert release.returncode == 0, release.explain()

    student_home = tmp_path / "student"
    student_home.mkdir()
    student = [first, "--course", COURSE_ID, exchange]
    fetch = _run([*NBGRADER, "fetch_assignment", *student], student_home, environment)
    assert fetch.returncode == 0, fetch.explain()
    fetched = student_home / first / f"{first}.ipynb"
    assert fetched.is_file(), fetch.explain()

    # A renamed notebook: a strict submit rejects it and names both files.
    renamed = fetched.with_name(f"{first}-Copy1.ipynb")
    fetched.rename(renamed)
    strict = _run(
        [*NBGRADER, "submit", *student, "--ExchangeSubmit.strict=True"],
        student_home,
        environment,
    )
    assert strict.returncode != 0, strict.explain()
    assert f"{first}.ipynb: MISSING" in strict.output, strict.explain()
    assert f"{first}-Copy1.ipynb: EXTRA" in strict.output, strict.explain()
    renamed.rename(fetched)

    submit = _run([*NBGRADER, "submit", *student], student_home, environment)
    assert submit.returncode == 0, submit.explain()
    collect = _run([*NBGRADER, "collect", first, exchange], course, environment)
    assert collect.returncode == 0, collect.explain()

    collected = list((course / "submitted").glob(f"*/{first}/{first}.ipynb"))
    assert len(collected) == 1, collect.explain()
    student_id = collected[0].parents[1].name
    assert check_submission(course, student_id, first).ok
