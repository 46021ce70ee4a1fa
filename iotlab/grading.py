"""Check student submissions before nbgrader grades them, and build test ones.

``nbgrader autograde`` grades ``submitted/<student>/<lesson>/<lesson>.ipynb``
and nothing else. nbgrader 0.9.6 handles a submission with another layout
badly:

* a renamed notebook (``01_dataset-Copy1.ipynb``) is skipped with the warning
  "Skipping unknown notebook", then the submission fails with "No notebooks
  found, did you forget to run 'nbgrader generate_assignment'?", and
  ``nbgrader export`` lists the student with a score of 0;
* a lesson folder without a notebook is skipped with only a warning, so the
  student is missing from the gradebook and from the export.

Neither message names the notebook that nbgrader expected.
:func:`check_submission` and ``iotlab check-submissions`` do: run the command
after collecting and before autograding.

:func:`make_submission` builds a submission from the released lesson and the
instructor solution: solved, untouched, or with chosen exercises answered
wrongly. The end-to-end test of the grading workflow and
``benchmarks/autograde_times.py`` grade such submissions.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import os
import re
import sys
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import nbformat

from iotlab.lessons import (
    LESSONS_DIRECTORY,
    SOLUTIONS_DIRECTORY,
    LessonError,
    find_course_root,
    lesson_notebook,
    list_lessons,
    read_notebook,
)

#: nbgrader's default folder for collected submissions, relative to the course.
SUBMITTED_DIRECTORY = "submitted"

#: Solution regions in an instructor cell, from the BEGIN line to the END line.
SOLUTION_REGION = re.compile(
    r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*$",
    re.MULTILINE | re.DOTALL,
)
SOLUTION_MARKER = re.compile(
    r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*(\n|\Z)", re.MULTILINE
)
#: What :func:`make_submission` puts in place of a wrongly answered region.
WRONG_CODE_ANSWER = "pass"
WRONG_TEXT_ANSWER = "I do not know."


@dataclass(frozen=True)
class SubmissionCheck:
    """Layout of one student's submission of one lesson.

    Attributes
    ----------
    student, assignment : str
        The student id and the lesson name (nbgrader's assignment id).
    folder : str
        The submission folder relative to the course root.
    expected : tuple of str
        Notebook file names that nbgrader grades for this lesson: those in
        ``solutions/<assignment>/``. Empty when the lesson does not exist.
    found : tuple of str
        Notebooks in the submission folder, relative to it, including those
        in subfolders, which nbgrader does not grade.
    unreadable : tuple of str
        Found notebooks that are not valid nbformat 4 JSON.
    lessons : tuple of str
        Every lesson of the course, to suggest a name for an unknown folder.
    folder_exists : bool
        False when the student has no folder for this lesson.
    """

    student: str
    assignment: str
    folder: str
    expected: tuple[str, ...]
    found: tuple[str, ...]
    unreadable: tuple[str, ...] = ()
    lessons: tuple[str, ...] = ()
    folder_exists: bool = True

    @property
    def known_assignment(self) -> bool:
        """True when the folder name is a lesson of the course."""
        return bool(self.expected)

    @property
    def missing(self) -> tuple[str, ...]:
        """Expected notebooks that are not in the submission folder."""
        return tuple(name for name in self.expected if name not in self.found)

    @property
    def unexpected(self) -> tuple[str, ...]:
        """Found notebooks that nbgrader does not grade."""
        return tuple(name for name in self.found if name not in self.expected)

    @property
    def ok(self) -> bool:
        """True when nbgrader can grade every expected notebook."""
        return self.known_assignment and not self.missing and not self.unreadable

    def describe(self) -> str:
        """Format the check as a message that names the problem and the fix."""
        head = f"{self.folder}:"
        if not self.known_assignment:
            close = difflib.get_close_matches(self.assignment, self.lessons, n=1)
            suggestion = f" Did you mean {close[0]}?" if close else ""
            return (
                f"{head} {self.assignment!r} is not a lesson of this course "
                f"(lessons: {', '.join(self.lessons) or 'none'}).{suggestion} "
                "nbgrader cannot grade this folder, so rename it to the lesson name."
            )
        if self.found:
            found = ", ".join(self.found)
        elif self.folder_exists:
            found = "no notebook"
        else:
            found = "no folder"
        lines = [f"{head} expected {', '.join(self.expected)}, found {found}."]
        for name in self.missing:
            lines.append(self._describe_missing(name))
        for name in self.unreadable:
            lines.append(
                f"  {name} is not a valid notebook (not nbformat 4 JSON): ask the "
                "student to download it again from JupyterLab (File > Download)."
            )
        if self.ok:
            lines[0] = f"{head} OK ({', '.join(self.expected)})."
            if self.unexpected:
                lines.append(
                    f"  Not graded: {', '.join(self.unexpected)} (nbgrader grades "
                    f"only {', '.join(self.expected)})."
                )
        return "\n".join(lines)

    def _describe_missing(self, name: str) -> str:
        nested = [path for path in self.found if Path(path).name == name]
        if nested:
            return (
                f"  {name} is in a subfolder ({nested[0]}): move it to "
                f"{self.folder}/{name}, where nbgrader looks for it."
            )
        top_level = [path for path in self.unexpected if "/" not in path]
        consequence = (
            "Until then, nbgrader autograde fails on this submission and "
            "nbgrader export gives it 0 points."
        )
        if len(top_level) == 1:
            return (
                f"  {name} is missing and {top_level[0]} is not graded: rename "
                f"{self.folder}/{top_level[0]} to {name} if it is the student's "
                f"work. {consequence}"
            )
        if top_level:
            return (
                f"  {name} is missing and none of the found notebooks is graded: "
                f"rename the student's work to {self.folder}/{name}. {consequence}"
            )
        return (
            f"  {name} is missing: nbgrader autograde skips this folder, so the "
            f"student gets no grade for {self.assignment}. Copy the student's "
            f"notebook to {self.folder}/{name}."
        )


def expected_notebooks(root: Path | str, assignment: str) -> tuple[str, ...]:
    """Return the notebook file names that nbgrader grades for a lesson.

    These are the ``.ipynb`` files directly in ``solutions/<assignment>/``,
    the assignment's source folder.

    Parameters
    ----------
    root : path
        Course root.
    assignment : str
        Lesson name, such as ``"01_dataset"``.

    Returns
    -------
    tuple of str
        Sorted file names; empty when ``assignment`` is not a lesson.
    """
    if assignment not in list_lessons(root):
        return ()
    folder = Path(root) / SOLUTIONS_DIRECTORY / assignment
    return tuple(sorted(path.name for path in folder.glob("*.ipynb")))


def _find_notebooks(folder: Path) -> tuple[list[str], list[str]]:
    found, unreadable = [], []
    if not folder.is_dir():
        return found, unreadable
    for path in sorted(folder.rglob("*.ipynb")):
        relative = path.relative_to(folder)
        if ".ipynb_checkpoints" in relative.parts or not path.is_file():
            continue
        found.append(relative.as_posix())
        try:
            read_notebook(path)
        except (LessonError, UnicodeDecodeError, OSError):
            unreadable.append(relative.as_posix())
    return found, unreadable


def check_submission(
    root: Path | str, student: str, assignment: str
) -> SubmissionCheck:
    """Compare one submission folder with the notebooks nbgrader will grade.

    Parameters
    ----------
    root : path
        Course root (the folder with ``nbgrader_config.py``).
    student : str
        Student id: the folder name under ``submitted/``.
    assignment : str
        Lesson name: the folder name under ``submitted/<student>/``.

    Returns
    -------
    SubmissionCheck
        ``ok`` is False when the lesson is unknown, an expected notebook is
        missing or a notebook is not valid JSON. ``describe()`` names the
        problem and the fix. A missing folder counts as missing notebooks.
    """
    root = Path(root)
    folder = root / SUBMITTED_DIRECTORY / student / assignment
    found, unreadable = _find_notebooks(folder)
    return SubmissionCheck(
        student=student,
        assignment=assignment,
        folder=folder.relative_to(root).as_posix(),
        expected=expected_notebooks(root, assignment),
        found=tuple(found),
        unreadable=tuple(unreadable),
        lessons=tuple(list_lessons(root)),
        folder_exists=folder.is_dir(),
    )


def _subfolders(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.is_dir() and not path.name.startswith(".")
    )


def check_submissions(
    root: Path | str, student: str | None = None, assignment: str | None = None
) -> list[SubmissionCheck]:
    """Check the submission folders under ``submitted/``.

    Without ``assignment``, every ``submitted/<student>/<folder>/`` that exists
    is checked. With ``assignment``, every student folder is checked for that
    lesson, so that a student without a submission is listed too.

    Parameters
    ----------
    root : path
        Course root.
    student : str, optional
        Check only this student. With ``assignment`` too, the one submission
        is checked even when its folder does not exist.
    assignment : str, optional
        Check only this lesson.

    Returns
    -------
    list of SubmissionCheck
        Sorted by student, then lesson.
    """
    root = Path(root)
    submitted = root / SUBMITTED_DIRECTORY
    students = [student] if student is not None else _subfolders(submitted)
    checks = []
    for student_id in students:
        if assignment is not None:
            assignments = [assignment]
        else:
            assignments = _subfolders(submitted / student_id)
        for assignment_id in assignments:
            checks.append(check_submission(root, student_id, assignment_id))
    return checks


def _source_text(cell: nbformat.NotebookNode) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _wrong_answer(cell: nbformat.NotebookNode, source: str) -> str:
    if cell.cell_type != "code":
        return WRONG_TEXT_ANSWER
    if not SOLUTION_REGION.search(source):
        return WRONG_CODE_ANSWER
    return SOLUTION_REGION.sub(
        lambda match: match.group("indent") + WRONG_CODE_ANSWER, source
    )


def solution_cell_ids(notebook: nbformat.NotebookNode) -> list[str]:
    """List the ``grade_id`` of every solution cell, in notebook order."""
    return [
        cell.metadata["nbgrader"]["grade_id"]
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    ]


def make_submission(
    root: Path | str,
    lesson: str,
    *,
    solved: bool = True,
    wrong: Collection[str] = (),
) -> nbformat.NotebookNode:
    """Build a student's submission of a lesson from the released copy.

    The submission is ``lessons/<lesson>/<lesson>.ipynb`` with its solution
    cells filled in from ``solutions/<lesson>/<lesson>.ipynb`` (without the
    ``### BEGIN/END SOLUTION`` lines), as a student who solved every exercise
    would submit it.

    Parameters
    ----------
    root : path
        Course root, where ``lessons/`` has been generated.
    lesson : str
        Lesson name.
    solved : bool
        Fill in the solutions (default). False leaves every stub as released.
    wrong : collection of str
        ``grade_id`` of solution cells to answer wrongly: each solution region
        becomes ``pass`` (a text cell becomes a wrong sentence). The rest of
        the cell is kept.

    Returns
    -------
    nbformat.NotebookNode
        The submission; the files on disk are not changed.

    Raises
    ------
    LessonError
        When the lesson or its released copy does not exist, or ``wrong``
        names a cell that is not a solution cell.
    """
    root = Path(root)
    source_path = lesson_notebook(root, lesson, SOLUTIONS_DIRECTORY)
    released_path = lesson_notebook(root, lesson, LESSONS_DIRECTORY)
    for path in (source_path, released_path):
        if not path.is_file():
            raise LessonError(
                f"{path} not found: a submission of {lesson!r} needs the "
                "instructor notebook and the generated lesson (run `iotlab "
                "build-lessons` or `nbgrader generate_assignment`)."
            )
    source = read_notebook(source_path)
    submission = copy.deepcopy(read_notebook(released_path))
    solutions = {
        cell.metadata["nbgrader"]["grade_id"]: cell
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    unknown = sorted(set(wrong) - set(solutions))
    if unknown:
        raise LessonError(
            f"Not a solution cell of {lesson}: {', '.join(unknown)}. Solution "
            f"cells: {', '.join(solutions) or 'none'}."
        )
    for cell in submission.cells:
        # A stored notebook may keep a source as a list of lines. Use one string.
        cell.source = _source_text(cell)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id not in solutions:
            continue
        text = _source_text(solutions[grade_id])
        if grade_id in wrong:
            cell.source = _wrong_answer(cell, text)
        elif solved:
            cell.source = SOLUTION_MARKER.sub("", text)
    return submission


def write_submission(
    root: Path | str,
    student: str,
    lesson: str,
    notebook: nbformat.NotebookNode,
    filename: str | None = None,
) -> Path:
    """Write a notebook where ``nbgrader autograde`` looks for it.

    The path is ``submitted/<student>/<lesson>/<filename>``. ``filename``
    defaults to ``<lesson>.ipynb``, the name nbgrader grades.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    folder = Path(root) / SUBMITTED_DIRECTORY / student / lesson
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (filename or f"{lesson}.ipynb")
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(
        json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    os.replace(temporary, path)
    return path


def _parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="iotlab check-submissions",
        description=(
            "Check that every folder submitted/<student>/<lesson>/ contains the "
            "notebook nbgrader grades (<lesson>.ipynb). Run it after collecting "
            "and before `nbgrader autograde`."
        ),
    )
    parser.add_argument("--student", help="check only this student id")
    parser.add_argument(
        "--assignment",
        help="check only this lesson, and list the students without a folder for it",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="course root with nbgrader_config.py (default: the current "
        "directory or the first parent that has it)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the submissions with problems"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run ``iotlab check-submissions`` and return its exit status.

    The status is 0 when nbgrader can grade every checked submission, 1 when
    one has a problem and 2 when there is nothing to check.
    """
    arguments = _parse_arguments(list(sys.argv[1:] if argv is None else argv))
    try:
        root = find_course_root(arguments.root)
    except LessonError as error:
        print(f"iotlab check-submissions: {error}", file=sys.stderr)
        return 2
    submitted = root / SUBMITTED_DIRECTORY
    if not submitted.is_dir():
        print(
            f"iotlab check-submissions: no {SUBMITTED_DIRECTORY}/ folder in {root}. "
            f"Collect the submissions first (`nbgrader collect LESSON`, or copy "
            f"each into {SUBMITTED_DIRECTORY}/<student>/<lesson>/<lesson>.ipynb).",
            file=sys.stderr,
        )
        return 2
    checks = check_submissions(root, arguments.student, arguments.assignment)
    if not checks:
        print(
            f"iotlab check-submissions: no submission folders matched in {submitted}.",
            file=sys.stderr,
        )
        return 2
    problems = [check for check in checks if not check.ok]
    for check in checks:
        if not check.ok or not arguments.quiet:
            print(check.describe())
    print(f"{len(checks)} submissions checked, {len(problems)} with problems.")
    return 1 if problems else 0
