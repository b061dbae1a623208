"""Lesson pairs: telling which exercises differ between the two files, and reconciling them without losing work."""

from __future__ import annotations

import shutil
from pathlib import Path

import jupytext

from cnn_course.notebooks import diverged_exercises
from tests.package.conftest import LESSONS

LESSON = "02_mnist_cnn"
WRITTEN = "def conv_output_size(size, kernel_size, stride=1, padding=\"valid\"):\n    return (size - kernel_size) // stride + 1\n"


def copy_pair(folder: Path, stem: str = LESSON) -> tuple[Path, Path]:
    """Copy a lesson pair into `folder`; return its (.py, .ipynb) paths."""
    for suffix in (".py", ".ipynb"):
        shutil.copy(LESSONS / f"{stem}{suffix}", folder / f"{stem}{suffix}")
    return folder / f"{stem}.py", folder / f"{stem}.ipynb"


def write_exercise(path: Path, name: str, source: str) -> None:
    """Replace the exercise cell that defines `name` in the notebook at `path` with `source`, through Jupytext."""
    notebook = jupytext.read(path)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and f"def {name}(" in c.source)
    cell.source = source
    jupytext.write(notebook, path)


def test_a_pair_as_generated_has_no_diverged_exercise(tmp_path):
    py, ipynb = copy_pair(tmp_path)
    assert diverged_exercises(py, ipynb) == []


def test_an_exercise_written_in_one_file_only_is_named(tmp_path):
    py, ipynb = copy_pair(tmp_path)
    write_exercise(ipynb, "conv_output_size", WRITTEN)
    assert diverged_exercises(py, ipynb) == ["conv_output_size"]


def test_blank_lines_and_trailing_spaces_do_not_count_as_a_difference(tmp_path):
    py, ipynb = copy_pair(tmp_path)
    notebook = jupytext.read(ipynb)
    cell = next(c for c in notebook.cells if c.cell_type == "code" and "def conv_output_size(" in c.source)
    cell.source = "\n" + cell.source.replace("\n", "  \n", 1) + "\n\n"
    jupytext.write(notebook, ipynb)
    assert diverged_exercises(py, ipynb) == []
