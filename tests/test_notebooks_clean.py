"""Every notebook in solutions/ and lessons/ is stored clean: no outputs, no
execution counts, kernel python3, and a unique id on every cell."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from iotlab.lessons import KERNELSPEC, cleaned_text

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    path
    for directory in ("solutions", "lessons")
    for path in (ROOT / directory).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in path.parts
)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_course_has_notebooks():
    assert NOTEBOOKS, "no notebooks found in solutions/ or lessons/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    with_outputs = [cell.get("id") for cell in nb.cells if cell.get("outputs")]
    counted = [
        cell.get("id") for cell in nb.cells if cell.get("execution_count") is not None
    ]
    assert with_outputs == [], "cells with outputs"
    assert counted == [], "cells with execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_kernel_is_python3(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec") == KERNELSPEC


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_cell_ids_unique(path):
    nb = nbformat.read(path, as_version=4)
    ids = [cell.get("id") for cell in nb.cells]
    assert None not in ids, "cells without an id"
    duplicates = sorted({cell_id for cell_id in ids if ids.count(cell_id) > 1})
    assert duplicates == []
    nbformat.validate(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_notebook_equals_its_clean_form(path):
    # A notebook saved from Jupyter after running differs here; fix it with
    # `iotlab build-lessons --clean`.
    assert path.read_text(encoding="utf-8") == cleaned_text(path)
