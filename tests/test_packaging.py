"""Packaging checks: the pip and conda dependency lists install the same set."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = project["dependencies"]
    dev = project["optional-dependencies"]["dev"]
    return {_normalise(line) for line in runtime + dev}


def _conda_pip_requirements() -> set[str]:
    yaml = pytest.importorskip("yaml")
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [
        entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict)
    ]
    assert len(pip_lists) == 1, "environment.yml should have one pip section"
    return {_normalise(line) for line in pip_lists[0] if not line.startswith("-e")}


def _normalise(requirement: str) -> str:
    return requirement.replace(" ", "").lower()


def test_conda_and_pip_lists_agree():
    pip_side = _pyproject_requirements()
    conda_side = _conda_pip_requirements()
    assert pip_side - conda_side == set(), "in pyproject.toml only"
    assert conda_side - pip_side == set(), "in environment.yml only"


def test_conda_pins_python_311():
    yaml = pytest.importorskip("yaml")
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in environment["dependencies"]


def test_console_script_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["iotlab"] == "iotlab.__main__:main"
