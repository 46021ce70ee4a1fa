"""iotlab.grading on a small made-up course: submission checks and test
submissions."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from iotlab import grading
from iotlab.lessons import LessonError

LESSON = "01_demo"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

SQUARE_SOLUTION = '''def square(x):
    """Return x squared."""
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION


checks.check("01", "square", square)'''

BOUNDS_SOLUTION = """def low(values):
    ### BEGIN SOLUTION
    return min(values)
    ### END SOLUTION


def high(values):
    ### BEGIN SOLUTION
    return max(values)
    ### END SOLUTION"""

WHOLE_CELL_SOLUTION = "answer = 42"
TEXT_SOLUTION = "The minority classes."


def _metadata(grade_id: str, solution: bool, points: int | None = None) -> dict:
    metadata = {
        "grade": points is not None,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        metadata["points"] = points
    return {"nbgrader": metadata}


def _cells(released: bool) -> list:
    def source(text: str) -> str:
        if not released:
            return text
        return grading.SOLUTION_REGION.sub(
            lambda match: "\n".join(
                match.group("indent") + line for line in STUB.splitlines()
            ),
            text,
        )

    return [
        new_markdown_cell("# 01 · Demo", id="objectives"),
        new_code_cell(
            source(SQUARE_SOLUTION),
            id="ex-square-solution",
            metadata=_metadata("ex-square-solution", True),
        ),
        new_code_cell(
            "assert square(3) == 9",
            id="ex-square-test",
            metadata=_metadata("ex-square-test", False, 2),
        ),
        new_code_cell(
            source(BOUNDS_SOLUTION),
            id="ex-bounds-solution",
            metadata=_metadata("ex-bounds-solution", True),
        ),
        new_code_cell(
            STUB if released else WHOLE_CELL_SOLUTION,
            id="ex-answer-solution",
            metadata=_metadata("ex-answer-solution", True),
        ),
        new_markdown_cell(
            "YOUR ANSWER HERE" if released else TEXT_SOLUTION,
            id="ex-text-solution",
            metadata=_metadata("ex-text-solution", True),
        ),
    ]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    for directory, released in (("solutions", False), ("lessons", True)):
        folder = tmp_path / directory / LESSON
        folder.mkdir(parents=True)
        notebook = new_notebook(cells=_cells(released))
        nbformat.write(notebook, folder / f"{LESSON}.ipynb")
    return tmp_path


def _run_cells(*sources: str) -> dict:
    """Run cell sources as the kernel would and return the namespace."""
    namespace = {"checks": type("Checks", (), {"check": staticmethod(print)})}
    for source in sources:
        # Running the submitted code is what the test checks.
        exec(source, namespace)  # noqa: S102
    return namespace


def _solution_sources(notebook) -> dict[str, str]:
    return {
        cell.id: cell.source
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


# --------------------------------------------------------------------------
# make_submission and write_submission


def test_make_submission_fills_solutions(course):
    sources = _solution_sources(grading.make_submission(course, LESSON))
    assert "return x * x" in sources["ex-square-solution"]
    assert 'checks.check("01", "square", square)' in sources["ex-square-solution"]
    assert "return max(values)" in sources["ex-bounds-solution"]
    assert sources["ex-answer-solution"] == WHOLE_CELL_SOLUTION
    assert sources["ex-text-solution"] == TEXT_SOLUTION
    for text in sources.values():
        assert "SOLUTION" not in text
        assert "NotImplementedError" not in text


def test_make_submission_solved_code_runs(course):
    sources = _solution_sources(grading.make_submission(course, LESSON))
    namespace = _run_cells(sources["ex-square-solution"], sources["ex-bounds-solution"])
    assert namespace["square"](4) == 16
    assert namespace["low"]([3, 1, 2]) == 1
    assert namespace["high"]([3, 1, 2]) == 3


def test_make_submission_untouched_keeps_stubs(course):
    submission = grading.make_submission(course, LESSON, solved=False)
    released = nbformat.read(
        course / "lessons" / LESSON / f"{LESSON}.ipynb", as_version=4
    )
    assert _solution_sources(submission) == _solution_sources(released)


def test_make_submission_wrong_region_becomes_pass(course):
    wrong = ["ex-square-solution", "ex-bounds-solution", "ex-answer-solution"]
    sources = _solution_sources(grading.make_submission(course, LESSON, wrong=wrong))
    assert "    pass\n" in sources["ex-square-solution"]
    assert "return x * x" not in sources["ex-square-solution"]
    assert 'checks.check("01", "square", square)' in sources["ex-square-solution"]
    assert sources["ex-bounds-solution"].count("    pass") == 2
    assert sources["ex-answer-solution"] == grading.WRONG_CODE_ANSWER
    assert sources["ex-text-solution"] == TEXT_SOLUTION

    namespace = _run_cells(sources["ex-square-solution"])
    assert namespace["square"](3) is None


def test_make_submission_wrong_text_cell(course):
    submission = grading.make_submission(course, LESSON, wrong=["ex-text-solution"])
    sources = _solution_sources(submission)
    assert sources["ex-text-solution"] == grading.WRONG_TEXT_ANSWER


def test_make_submission_rejects_unknown_cell(course):
    with pytest.raises(LessonError, match="ex-square-test"):
        grading.make_submission(course, LESSON, wrong=["ex-square-test"])


def test_make_submission_needs_released_lesson(course):
    (course / "lessons" / LESSON / f"{LESSON}.ipynb").unlink()
    with pytest.raises(LessonError, match="build-lessons"):
        grading.make_submission(course, LESSON)


def test_solution_cell_ids_in_order(course):
    notebook = nbformat.read(
        course / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4
    )
    assert grading.solution_cell_ids(notebook) == [
        "ex-square-solution",
        "ex-bounds-solution",
        "ex-answer-solution",
        "ex-text-solution",
    ]


def test_write_submission_path_and_json(course):
    submission = grading.make_submission(course, LESSON)
    path = grading.write_submission(course, "alice", LESSON, submission)
    assert path == course / "submitted" / "alice" / LESSON / f"{LESSON}.ipynb"
    assert json.loads(path.read_text())["nbformat"] == 4
    assert [p.name for p in path.parent.iterdir()] == [path.name]


# --------------------------------------------------------------------------
# check_submission and check_submissions


def _submit(course: Path, student: str, filename: str | None = None) -> Path:
    submission = grading.make_submission(course, LESSON)
    return grading.write_submission(course, student, LESSON, submission, filename)


def test_check_submission_ok(course):
    _submit(course, "alice")
    check = grading.check_submission(course, "alice", LESSON)
    assert check.ok
    assert check.expected == (f"{LESSON}.ipynb",)
    assert check.found == (f"{LESSON}.ipynb",)
    assert check.describe() == f"submitted/alice/{LESSON}: OK ({LESSON}.ipynb)."


def test_check_submission_renamed(course):
    _submit(course, "bob", f"{LESSON}-Copy1.ipynb")
    check = grading.check_submission(course, "bob", LESSON)
    assert not check.ok
    assert check.missing == (f"{LESSON}.ipynb",)
    assert check.unexpected == (f"{LESSON}-Copy1.ipynb",)
    message = check.describe()
    assert f"expected {LESSON}.ipynb, found {LESSON}-Copy1.ipynb." in message
    assert f"rename submitted/bob/{LESSON}/{LESSON}-Copy1.ipynb to {LESSON}.ipynb" in (
        message
    )


def test_check_submission_two_renamed(course):
    _submit(course, "bea", f"{LESSON}-Copy1.ipynb")
    _submit(course, "bea", f"{LESSON}-Copy2.ipynb")
    check = grading.check_submission(course, "bea", LESSON)
    assert not check.ok
    message = check.describe()
    assert f"found {LESSON}-Copy1.ipynb, {LESSON}-Copy2.ipynb." in message
    assert "none of the found notebooks is graded" in message
    assert f"rename the student's work to submitted/bea/{LESSON}/{LESSON}.ipynb" in (
        message
    )


def test_check_submission_extra_notebook_ok(course):
    _submit(course, "carol")
    _submit(course, "carol", "scratch.ipynb")
    check = grading.check_submission(course, "carol", LESSON)
    assert check.ok
    assert "Not graded: scratch.ipynb" in check.describe()


def test_check_submission_empty_folder(course):
    (course / "submitted" / "dave" / LESSON).mkdir(parents=True)
    check = grading.check_submission(course, "dave", LESSON)
    assert not check.ok
    assert f"expected {LESSON}.ipynb, found no notebook." in check.describe()
    assert f"Copy the student's notebook to submitted/dave/{LESSON}/" in (
        check.describe()
    )


def test_check_submission_no_folder(course):
    check = grading.check_submission(course, "erin", LESSON)
    assert not check.ok
    assert not check.folder_exists
    assert f"expected {LESSON}.ipynb, found no folder." in check.describe()


def test_check_submission_nested_notebook(course):
    path = _submit(course, "frank")
    nested = path.parent / LESSON / path.name
    nested.parent.mkdir()
    path.rename(nested)
    check = grading.check_submission(course, "frank", LESSON)
    assert not check.ok
    assert check.found == (f"{LESSON}/{LESSON}.ipynb",)
    assert f"move it to submitted/frank/{LESSON}/{LESSON}.ipynb" in check.describe()


def test_check_submission_skips_checkpoints(course):
    path = _submit(course, "gina")
    checkpoints = path.parent / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / f"{LESSON}-checkpoint.ipynb").write_text(path.read_text())
    assert grading.check_submission(course, "gina", LESSON).found == (
        f"{LESSON}.ipynb",
    )


def test_check_submission_invalid_json(course):
    path = _submit(course, "hank")
    path.write_text("{not json")
    check = grading.check_submission(course, "hank", LESSON)
    assert not check.ok
    assert check.unreadable == (f"{LESSON}.ipynb",)
    assert "is not a valid notebook" in check.describe()


def test_check_submission_unknown_lesson(course):
    folder = course / "submitted" / "ivy" / "01-demo"
    folder.mkdir(parents=True)
    check = grading.check_submission(course, "ivy", "01-demo")
    assert not check.known_assignment
    assert not check.ok
    assert "'01-demo' is not a lesson of this course" in check.describe()
    assert f"Did you mean {LESSON}?" in check.describe()


def test_check_submissions_existing_folders(course):
    _submit(course, "alice")
    _submit(course, "bob", f"{LESSON}-Copy1.ipynb")
    checks = grading.check_submissions(course)
    assert [(check.student, check.ok) for check in checks] == [
        ("alice", True),
        ("bob", False),
    ]


def test_check_submissions_lists_absent_student(course):
    _submit(course, "alice")
    (course / "submitted" / "zoe").mkdir()
    assert grading.check_submissions(course) == [
        grading.check_submission(course, "alice", LESSON)
    ]
    checks = grading.check_submissions(course, assignment=LESSON)
    assert [(check.student, check.ok) for check in checks] == [
        ("alice", True),
        ("zoe", False),
    ]


# --------------------------------------------------------------------------
# iotlab check-submissions


def test_command_exit_zero_when_ok(course, capsys):
    _submit(course, "alice")
    assert grading.main(["--root", str(course)]) == 0
    output = capsys.readouterr().out
    assert f"submitted/alice/{LESSON}: OK" in output
    assert "1 submissions checked, 0 with problems." in output


def test_command_exit_one_on_problem(course, capsys):
    _submit(course, "alice")
    _submit(course, "bob", f"{LESSON}-Copy1.ipynb")
    assert grading.main(["--root", str(course), "--quiet"]) == 1
    output = capsys.readouterr().out
    assert "submitted/alice" not in output
    assert f"submitted/bob/{LESSON}: expected {LESSON}.ipynb" in output
    assert "2 submissions checked, 1 with problems." in output


def test_command_exit_two_without_submissions(course, capsys):
    assert grading.main(["--root", str(course)]) == 2
    assert "no submitted/ folder" in capsys.readouterr().err


def test_command_exit_two_without_course(tmp_path, capsys):
    assert grading.main(["--root", str(tmp_path)]) == 2
    assert "No course root found" in capsys.readouterr().err
