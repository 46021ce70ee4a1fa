"""Build the student lessons from the instructor solutions.

The instructor source of lesson ``NN_name`` is
``solutions/NN_name/NN_name.ipynb``: it contains the solutions between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` and the graded test cells.
``nbgrader generate_assignment`` turns it into the student copy
``lessons/NN_name/NN_name.ipynb``, which is committed and never edited by hand.

``iotlab build-lessons`` runs that command for every lesson in a temporary copy
of the course, so that no gradebook or log is left in the repository, and
copies the generated notebooks into ``lessons/``. ``iotlab build-lessons
--check`` only compares and exits with status 1 when ``lessons/`` is stale.

Every notebook is stored clean (see :func:`clean_notebook`), so that a diff
shows only what an author changed and the generation is byte-for-byte
repeatable.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

logger = logging.getLogger(__name__)

SOLUTIONS_DIRECTORY = "solutions"
LESSONS_DIRECTORY = "lessons"
NBGRADER_CONFIG = "nbgrader_config.py"

#: Kernel every notebook of the course is stored with and executed on.
KERNELSPEC: dict[str, str] = {
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "name": "python3",
}
#: Lesson folders are named ``NN_name``: two digits, then lower-case words.
LESSON_NAME = re.compile(r"^[0-9]{2}_[a-z0-9_]+$")
#: Cell ids allowed by the nbformat 4.5 schema.
CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

#: Cell metadata that Jupyter, papermill or nbclient add while running a
#: notebook. None of it belongs in the repository.
TRANSIENT_CELL_METADATA = (
    "execution",
    "papermill",
    "ExecuteTime",
    "collapsed",
    "scrolled",
)
#: Notebook metadata that papermill or editor extensions add.
TRANSIENT_NOTEBOOK_METADATA = ("papermill", "widgets", "vscode", "colab", "toc")


class LessonError(ValueError):
    """A lesson folder, notebook or nbgrader run that cannot be used."""


def find_course_root(start: Path | str | None = None) -> Path:
    """Return the course root: the first of ``start`` and its parents with
    ``nbgrader_config.py`` and a ``solutions`` folder.

    Parameters
    ----------
    start : path, optional
        Where to start looking; the current directory by default.

    Raises
    ------
    LessonError
        When no such folder exists above ``start``.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / NBGRADER_CONFIG).is_file() and (
            folder / SOLUTIONS_DIRECTORY
        ).is_dir():
            return folder
    raise LessonError(
        f"No course root found at or above {here}: expected a folder with "
        f"{NBGRADER_CONFIG} and {SOLUTIONS_DIRECTORY}/. Run the command from the "
        "repository root or pass --root."
    )


def list_lessons(
    root: Path | str | None = None, directory: str = SOLUTIONS_DIRECTORY
) -> list[str]:
    """List the lesson names (``NN_name``) in one folder of the course, sorted.

    A lesson is a subfolder named ``NN_name`` that contains ``NN_name.ipynb``.

    Parameters
    ----------
    root : path, optional
        Course root; found with :func:`find_course_root` when omitted.
    directory : str
        ``"solutions"`` (the default) or ``"lessons"``.

    Returns
    -------
    list of str
        Lesson names in course order.
    """
    base = (Path(root) if root is not None else find_course_root()) / directory
    if not base.is_dir():
        return []
    names = []
    for folder in sorted(base.iterdir()):
        if not folder.is_dir() or not LESSON_NAME.match(folder.name):
            continue
        if (folder / f"{folder.name}.ipynb").is_file():
            names.append(folder.name)
    return names


def lesson_notebook(
    root: Path | str, name: str, directory: str = SOLUTIONS_DIRECTORY
) -> Path:
    """Return the path of lesson ``name``'s notebook in ``directory``."""
    return Path(root) / directory / name / f"{name}.ipynb"


def _stable_cell_id(cell: nbformat.NotebookNode, taken: set[str]) -> str:
    """Derive a cell id from the cell's type and source, unique within ``taken``."""
    digest = hashlib.sha256(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()
    candidate = f"{cell.cell_type}-{digest[:8]}"
    suffix = 2
    while candidate in taken:
        candidate = f"{cell.cell_type}-{digest[:8]}-{suffix}"
        suffix += 1
    return candidate


def clean_notebook_node(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip run-time state from a notebook in memory and return it.

    Removes outputs, execution counts and the metadata that running a
    notebook adds, and sets the kernel to ``python3``. A cell keeps its id
    when that id is valid and unique. A cell without one, or with a duplicate
    or invalid one, gets an id derived from its type and source, so cleaning
    twice gives the same file.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A version 4 notebook; modified in place.

    Returns
    -------
    nbformat.NotebookNode
        The same notebook object.
    """
    nb.nbformat = 4
    nb.nbformat_minor = max(int(nb.get("nbformat_minor", 0)), 5)
    for key in TRANSIENT_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    nb.metadata["kernelspec"] = nbformat.from_dict(dict(KERNELSPEC))
    # papermill records the interpreter's version here, which differs per machine.
    nb.metadata["language_info"] = nbformat.from_dict({"name": "python"})

    taken: set[str] = set()
    pending = []
    for cell in nb.cells:
        for key in TRANSIENT_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell_id = cell.get("id")
        if isinstance(cell_id, str) and CELL_ID.match(cell_id) and cell_id not in taken:
            taken.add(cell_id)
        else:
            pending.append(cell)
    for cell in pending:
        cell.id = _stable_cell_id(cell, taken)
        taken.add(cell.id)
    return nb


def render_notebook(nb: nbformat.NotebookNode) -> str:
    """Serialise a notebook the way :func:`nbformat.write` stores it on disk."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def read_notebook(path: Path | str) -> nbformat.NotebookNode:
    """Read a version 4 notebook exactly as stored.

    ``nbformat.read`` replaces missing or duplicate cell ids with random ones,
    which would make :func:`clean_notebook` give a different file each time.

    Raises
    ------
    LessonError
        When the file is not JSON or not a version 4 notebook.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LessonError(
            f"{path} is not a notebook (invalid JSON: {error})."
        ) from error
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        raise LessonError(
            f"{path} is not an nbformat 4 notebook; open and save it in "
            "JupyterLab 4 to convert it."
        )
    return nbformat.from_dict(data)


def cleaned_text(path: Path | str) -> str:
    """Return the text that :func:`clean_notebook` would store for ``path``."""
    return render_notebook(clean_notebook_node(read_notebook(path)))


def _write_text_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def clean_notebook(path: Path | str) -> bool:
    """Strip outputs and execution counts from a notebook file, in place.

    The kernel becomes ``python3``, every cell keeps its id and a cell
    without one gets a deterministic id (see :func:`clean_notebook_node`).
    The file is only rewritten when its text changes.

    Parameters
    ----------
    path : path
        The ``.ipynb`` file.

    Returns
    -------
    bool
        True when the file changed.
    """
    path = Path(path)
    text = cleaned_text(path)
    if path.read_text(encoding="utf-8") == text:
        return False
    _write_text_atomically(path, text)
    logger.info("cleaned %s", path)
    return True


def _nbgrader_environment() -> dict[str, str]:
    # nbgrader creates its gradebook by running the `alembic` executable, which
    # lives next to this interpreter in a virtual environment.
    environment = dict(os.environ)
    bin_directory = str(Path(sys.executable).parent)
    environment["PATH"] = bin_directory + os.pathsep + environment.get("PATH", "")
    environment.pop("NBGRADER_EXECUTION", None)
    return environment


def generate_lessons(
    root: Path | str | None = None, names: list[str] | None = None
) -> dict[str, str]:
    """Run ``nbgrader generate_assignment`` on a temporary copy of the course.

    Parameters
    ----------
    root : path, optional
        Course root; found with :func:`find_course_root` when omitted.
    names : list of str, optional
        Lessons to generate; every lesson in ``solutions/`` by default.

    Returns
    -------
    dict
        Lesson name -> text of the generated, cleaned student notebook.

    Raises
    ------
    LessonError
        When a name is not a lesson in ``solutions/`` or nbgrader fails.
    """
    root = Path(root) if root is not None else find_course_root()
    available = list_lessons(root)
    names = available if names is None else list(names)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise LessonError(
            f"Not a lesson in {root / SOLUTIONS_DIRECTORY}: {', '.join(unknown)}. "
            f"Available: {', '.join(available) or 'none'}."
        )
    if not names:
        return {}

    with tempfile.TemporaryDirectory(prefix="iotlab-lessons-") as temporary:
        course = Path(temporary) / "course"
        (course / SOLUTIONS_DIRECTORY).mkdir(parents=True)
        shutil.copy2(root / NBGRADER_CONFIG, course / NBGRADER_CONFIG)
        for name in names:
            shutil.copytree(
                root / SOLUTIONS_DIRECTORY / name,
                course / SOLUTIONS_DIRECTORY / name,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
            )
        # One nbgrader process for all lessons: its start-up takes seconds.
        command = [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            "[0-9][0-9]_*",
            "--force",
            "--log-level=WARN",
            f"--CourseDirectory.root={course}",
            f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}",
        ]
        logger.info("running %s", " ".join(command))
        completed = subprocess.run(
            command,
            cwd=course,
            env=_nbgrader_environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise LessonError(
                f"nbgrader generate_assignment failed with exit status "
                f"{completed.returncode}:\n{completed.stdout}{completed.stderr}"
            )
        generated = {}
        for name in names:
            path = lesson_notebook(course, name, LESSONS_DIRECTORY)
            if not path.is_file():
                raise LessonError(
                    f"nbgrader generate_assignment wrote no {path.name} for lesson "
                    f"{name}:\n{completed.stdout}{completed.stderr}"
                )
            generated[name] = cleaned_text(path)
    return generated


def stale_lessons(
    root: Path | str | None = None, generated: dict[str, str] | None = None
) -> list[str]:
    """List the student lessons that differ from a fresh generation.

    A lesson is stale when its notebook in ``lessons/`` is missing or differs
    from what :func:`generate_lessons` produces. A folder in ``lessons/``
    without a source in ``solutions/`` is stale too.

    Parameters
    ----------
    root : path, optional
        Course root; found with :func:`find_course_root` when omitted.
    generated : dict, optional
        Output of :func:`generate_lessons`, to compare without running
        nbgrader again.

    Returns
    -------
    list of str
        Names of stale lessons, sorted.
    """
    root = Path(root) if root is not None else find_course_root()
    if generated is None:
        generated = generate_lessons(root)
    stale = set()
    for name, text in generated.items():
        path = lesson_notebook(root, name, LESSONS_DIRECTORY)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.add(name)
    for name in list_lessons(root, LESSONS_DIRECTORY):
        if name not in generated:
            stale.add(name)
    return sorted(stale)


def build_lessons(
    root: Path | str | None = None, generated: dict[str, str] | None = None
) -> list[str]:
    """Regenerate ``lessons/`` from ``solutions/`` and return the changed lessons.

    Lessons whose generated text is unchanged are not rewritten; a folder in
    ``lessons/`` without a source in ``solutions/`` is removed.

    Parameters
    ----------
    root : path, optional
        Course root; found with :func:`find_course_root` when omitted.
    generated : dict, optional
        Output of :func:`generate_lessons`, to write without running nbgrader
        again.

    Returns
    -------
    list of str
        Names of the lessons written or removed.
    """
    root = Path(root) if root is not None else find_course_root()
    if generated is None:
        generated = generate_lessons(root)
    changed = stale_lessons(root, generated)
    for name in changed:
        folder = root / LESSONS_DIRECTORY / name
        if name not in generated:
            shutil.rmtree(folder)
            logger.info("removed %s: no source in %s/", folder, SOLUTIONS_DIRECTORY)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        _write_text_atomically(
            lesson_notebook(root, name, LESSONS_DIRECTORY), generated[name]
        )
        logger.info("wrote %s", lesson_notebook(root, name, LESSONS_DIRECTORY))
    return changed


def _parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="iotlab build-lessons",
        description=(
            "Generate the student lessons in lessons/ from the instructor "
            "notebooks in solutions/ with nbgrader generate_assignment."
        ),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit with status 1 and name the stale lessons when "
        "lessons/ differs from a fresh generation",
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="first strip outputs and execution counts from the notebooks in "
        "solutions/ (in place)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="course root with nbgrader_config.py and solutions/ (default: the "
        "current directory or the first parent that has them)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run ``iotlab build-lessons`` and return its exit status."""
    arguments = _parse_arguments(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        root = find_course_root(arguments.root)
        if arguments.clean and not arguments.check:
            for name in list_lessons(root):
                if clean_notebook(lesson_notebook(root, name)):
                    print(f"cleaned {lesson_notebook(root, name).relative_to(root)}")
        if arguments.check:
            stale = stale_lessons(root)
            if stale:
                print(
                    f"{LESSONS_DIRECTORY}/ is out of date for: {', '.join(stale)}. "
                    "Run `iotlab build-lessons` and commit the result.",
                    file=sys.stderr,
                )
                return 1
            print(
                f"{LESSONS_DIRECTORY}/ is up to date ({len(list_lessons(root))} lessons)."
            )
            return 0
        changed = build_lessons(root)
    except LessonError as error:
        print(f"iotlab build-lessons: {error}", file=sys.stderr)
        return 2
    for name in changed:
        action = "updated" if (root / LESSONS_DIRECTORY / name).exists() else "removed"
        print(f"{action} {LESSONS_DIRECTORY}/{name}")
    print(f"{len(list_lessons(root))} lessons built, {len(changed)} changed.")
    return 0
