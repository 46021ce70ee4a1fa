"""lessons/ is what nbgrader generates from solutions/, and every lesson
follows the course's notebook conventions."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from iotlab.lessons import (
    LESSON_NAME,
    LESSONS_DIRECTORY,
    SOLUTIONS_DIRECTORY,
    generate_lessons,
    lesson_notebook,
    list_lessons,
    stale_lessons,
)

ROOT = Path(__file__).resolve().parents[1]
LESSONS = list_lessons(ROOT)
MIN_GRADED_CELLS = 3
TIME_ESTIMATE = re.compile(r"\b\d+\s*(min|minutes|hours?)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def generated():
    return generate_lessons(ROOT)


def _folders(directory: str) -> list[str]:
    base = ROOT / directory
    # Hidden folders such as .ipynb_checkpoints belong to Jupyter, not the course.
    return sorted(
        path.name
        for path in base.iterdir()
        if path.is_dir() and not path.name.startswith(".")
    )


def _read(name: str, directory: str) -> nbformat.NotebookNode:
    return nbformat.read(lesson_notebook(ROOT, name, directory), as_version=4)


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


#: The course's lessons in order; a lesson added or renamed must appear here.
EXPECTED_LESSONS = [
    "00_setup",
    "01_dataset",
    "02_preprocessing",
    "03_feature_selection",
    "04_classical_baselines",
    "05_deep_baselines",
    "06_cnn_lstm",
    "07_evaluation",
    "08_pitfalls",
    "09_deployment",
]


def test_course_has_lessons():
    assert LESSONS, f"no lessons in {SOLUTIONS_DIRECTORY}/"


def test_course_has_expected_lessons():
    assert LESSONS == EXPECTED_LESSONS


def test_lessons_match_fresh_generation(generated):
    stale = stale_lessons(ROOT, generated)
    assert stale == [], "run `iotlab build-lessons` and commit lessons/"


def test_solutions_and_lessons_same_folders():
    assert _folders(SOLUTIONS_DIRECTORY) == _folders(LESSONS_DIRECTORY)


def test_lesson_folders_named_nn_name():
    bad = [
        name for name in _folders(SOLUTIONS_DIRECTORY) if not LESSON_NAME.match(name)
    ]
    assert bad == []
    assert _folders(SOLUTIONS_DIRECTORY) == LESSONS, "a folder without NN_name.ipynb"


def test_lesson_numbers_contiguous():
    numbers = [int(name[:2]) for name in LESSONS]
    assert numbers == list(range(len(numbers)))


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_has_graded_cells(name):
    nb = _read(name, LESSONS_DIRECTORY)
    graded = [cell for cell in nb.cells if _nbgrader(cell).get("grade")]
    with_points = [cell for cell in graded if _nbgrader(cell).get("points", 0) > 0]
    assert len(with_points) >= MIN_GRADED_CELLS
    assert all(_nbgrader(cell).get("locked") for cell in graded), "unlocked test cell"


@pytest.mark.parametrize("name", LESSONS)
def test_solution_cells_marked(name):
    nb = _read(name, SOLUTIONS_DIRECTORY)
    solutions = [cell for cell in nb.cells if _nbgrader(cell).get("solution")]
    assert len(solutions) >= MIN_GRADED_CELLS
    for cell in solutions:
        assert "### BEGIN SOLUTION" in cell.source, cell.id
        assert "### END SOLUTION" in cell.source, cell.id


@pytest.mark.parametrize("name", LESSONS)
def test_grade_ids_are_cell_ids(name):
    nb = _read(name, SOLUTIONS_DIRECTORY)
    for cell in nb.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id is not None:
            assert grade_id == cell.id


@pytest.mark.parametrize("name", LESSONS)
def test_student_copy_hides_solutions(name):
    nb = _read(name, LESSONS_DIRECTORY)
    text = "\n".join(cell.source for cell in nb.cells)
    assert "### BEGIN SOLUTION" not in text
    assert "BEGIN HIDDEN TESTS" not in text
    assert "raise NotImplementedError()" in text


@pytest.mark.parametrize("name", LESSONS)
def test_first_cell_has_objectives_and_time(name):
    first = _read(name, SOLUTIONS_DIRECTORY).cells[0]
    assert first.cell_type == "markdown"
    assert first.source.startswith("# ")
    assert "learning objectives" in first.source.lower()
    assert TIME_ESTIMATE.search(first.source), "no time estimate such as '45 min'"


@pytest.mark.parametrize("name", LESSONS)
def test_parameters_cell_then_derived_values(name):
    cells = _read(name, SOLUTIONS_DIRECTORY).cells
    tagged = [
        index
        for index, cell in enumerate(cells)
        if "parameters" in cell.metadata.get("tags", [])
    ]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    parameters = cells[tagged[0]]
    assert parameters.cell_type == "code"
    for name_in_cell in ("DATA_SOURCE", "ROWS", "SEED"):
        assert name_in_cell in parameters.source
    derived = cells[tagged[0] + 1]
    assert derived.cell_type == "code"
    assert "NBGRADER_EXECUTION" in derived.source


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_offers_self_checks(name):
    nb = _read(name, SOLUTIONS_DIRECTORY)
    calls = [cell for cell in nb.cells if "checks.check" in cell.source]
    assert calls, "no iotlab.checks call for the student"


@pytest.mark.parametrize("name", LESSONS)
def test_last_code_cell_prints_results(name):
    nb = _read(name, SOLUTIONS_DIRECTORY)
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert 'print("RESULTS"' in code_cells[-1].source
    assert nb.cells[-1].cell_type == "markdown", "the lesson ends with a summary"
