"""iotlab.lessons: cleaning notebooks and generating lessons with nbgrader,
on a small course built in a temporary folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from iotlab import lessons

ROOT = Path(__file__).resolve().parents[1]


def _solution_cell(cell_id: str, source: str):
    cell = new_code_cell(source)
    cell.id = cell_id
    cell.metadata = {
        "nbgrader": {
            "grade": False,
            "grade_id": cell_id,
            "locked": False,
            "schema_version": 3,
            "solution": True,
            "task": False,
        }
    }
    return cell


def _test_cell(cell_id: str, source: str, points: int = 1):
    cell = new_code_cell(source)
    cell.id = cell_id
    cell.metadata = {
        "nbgrader": {
            "grade": True,
            "grade_id": cell_id,
            "locked": True,
            "points": points,
            "schema_version": 3,
            "solution": False,
            "task": False,
        }
    }
    return cell


def _lesson_notebook() -> nbformat.NotebookNode:
    title = new_markdown_cell("# Double\n\nLearning objectives: doubling. 5 min.")
    title.id = "objectives"
    nb = new_notebook(
        cells=[
            title,
            _solution_cell(
                "ex-double-solution",
                "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                "    ### END SOLUTION",
            ),
            _test_cell("ex-double-test", "assert double(2) == 4"),
        ]
    )
    nb.metadata["kernelspec"] = dict(lessons.KERNELSPEC)
    return lessons.clean_notebook_node(nb)


def _make_course(root: Path) -> Path:
    (root / "solutions" / "00_double").mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    path = root / "solutions" / "00_double" / "00_double.ipynb"
    path.write_text(lessons.render_notebook(_lesson_notebook()), encoding="utf-8")
    return root


@pytest.fixture
def course(tmp_path) -> Path:
    return _make_course(tmp_path / "course")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A small course built once; tests that change it work on a copy."""
    root = _make_course(tmp_path_factory.mktemp("built") / "course")
    generated = lessons.generate_lessons(root)
    lessons.build_lessons(root, generated)
    return root, generated


@pytest.fixture
def built_copy(built, tmp_path) -> tuple[Path, dict[str, str]]:
    root, generated = built
    copy = tmp_path / "course"
    shutil.copytree(root, copy)
    return copy, generated


def _dirty_notebook() -> nbformat.NotebookNode:
    first = new_code_cell("print(1)", execution_count=3)
    first.outputs = [new_output("stream", name="stdout", text="1\n")]
    first.metadata = {"execution": {"iopub.status.idle": "2024"}, "tags": ["keep"]}
    second = new_markdown_cell("text")
    second.id = "same"
    third = new_code_cell("x = 2")
    nb = new_notebook(cells=[first, second, third])
    # new_notebook repairs ids, so break them afterwards.
    third.id = "same"
    del first["id"]
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nb.metadata["papermill"] = {"duration": 1.0}
    return nb


def test_clean_strips_outputs_and_counts():
    nb = lessons.clean_notebook_node(_dirty_notebook())
    assert nb.cells[0].outputs == []
    assert nb.cells[0].execution_count is None
    assert "execution" not in nb.cells[0].metadata
    assert nb.cells[0].metadata["tags"] == ["keep"]
    assert "papermill" not in nb.metadata


def test_clean_sets_kernel_python3():
    nb = lessons.clean_notebook_node(_dirty_notebook())
    assert nb.metadata["kernelspec"] == lessons.KERNELSPEC
    assert nb.metadata["language_info"] == {"name": "python"}


def test_clean_keeps_ids_and_fixes_duplicates():
    nb = lessons.clean_notebook_node(_dirty_notebook())
    ids = [cell.id for cell in nb.cells]
    assert ids[1] == "same"
    assert ids[0] not in {None, "same"}
    assert ids[2] not in {None, "same", ids[0]}
    nbformat.validate(nb)


def test_clean_ids_deterministic():
    first = lessons.clean_notebook_node(_dirty_notebook())
    second = lessons.clean_notebook_node(_dirty_notebook())
    assert [cell.id for cell in first.cells] == [cell.id for cell in second.cells]


def test_read_notebook_rejects_other_formats(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "worksheets": []}))
    with pytest.raises(lessons.LessonError, match="nbformat 4"):
        lessons.read_notebook(path)


def test_clean_notebook_rewrites_once(tmp_path):
    path = tmp_path / "dirty.ipynb"
    path.write_text(json.dumps(_dirty_notebook()))
    assert lessons.clean_notebook(path) is True
    text = path.read_text()
    assert lessons.clean_notebook(path) is False
    assert path.read_text() == text
    assert lessons.cleaned_text(path) == text


def test_list_lessons_skips_other_folders(course):
    (course / "solutions" / "notes").mkdir()
    (course / "solutions" / "01_empty").mkdir()
    assert lessons.list_lessons(course) == ["00_double"]
    assert lessons.list_lessons(course, "lessons") == []


def test_find_course_root_from_subfolder(course):
    assert lessons.find_course_root(course / "solutions" / "00_double") == course


def test_find_course_root_missing(tmp_path):
    with pytest.raises(lessons.LessonError, match="--root"):
        lessons.find_course_root(tmp_path)


def test_build_generates_student_copy(built):
    root, _ = built
    student = nbformat.read(root / "lessons" / "00_double" / "00_double.ipynb", 4)
    solution_cell = student.cells[1]
    assert "raise NotImplementedError()" in solution_cell.source
    assert "return 2 * x" not in solution_cell.source
    assert student.cells[2].metadata["nbgrader"]["locked"] is True
    assert not (root / "gradebook.db").exists()


def test_generation_is_repeatable(built):
    root, generated = built
    assert lessons.generate_lessons(root) == generated
    assert lessons.stale_lessons(root, generated) == []


def test_build_writes_only_changes(built_copy):
    root, generated = built_copy
    path = root / "lessons" / "00_double" / "00_double.ipynb"
    text = path.read_text()
    assert lessons.build_lessons(root, generated) == []
    assert path.read_text() == text


def test_check_names_stale_lesson(built_copy, capsys):
    root, _ = built_copy
    solution = root / "solutions" / "00_double" / "00_double.ipynb"
    nb = nbformat.read(solution, 4)
    nb.cells[0].source += "\nA new sentence."
    solution.write_text(lessons.render_notebook(nb))
    assert lessons.main(["--check", "--root", str(root)]) == 1
    assert "00_double" in capsys.readouterr().err


def test_build_removes_orphan_lesson(built_copy):
    root, generated = built_copy
    orphan = root / "lessons" / "05_orphan"
    orphan.mkdir(parents=True)
    (orphan / "05_orphan.ipynb").write_text("{}")
    assert lessons.stale_lessons(root, generated) == ["05_orphan"]
    assert lessons.build_lessons(root, generated) == ["05_orphan"]
    assert not orphan.exists()


def test_generate_unknown_lesson(course):
    with pytest.raises(lessons.LessonError, match="99_missing"):
        lessons.generate_lessons(course, ["99_missing"])


def test_generate_reports_nbgrader_failure(course):
    solution = course / "solutions" / "00_double" / "00_double.ipynb"
    nb = nbformat.read(solution, 4)
    # Two graded cells with one grade_id make nbgrader stop.
    nb.cells.append(_test_cell("ex-double-test-2", "assert double(3) == 6"))
    nb.cells[-1].metadata["nbgrader"]["grade_id"] = "ex-double-test"
    solution.write_text(lessons.render_notebook(nb))
    with pytest.raises(lessons.LessonError, match="generate_assignment failed"):
        lessons.generate_lessons(course)
