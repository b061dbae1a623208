"""Lessons as a learner runs them in Jupyter: a real kernel, cells run top to bottom with nbclient."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from cnn_course.authoring.notebooks import read_notebook

from .conftest import LESSONS, needs_data


def run_in_kernel(notebook: nbformat.NotebookNode, allow_errors: bool = False) -> nbformat.NotebookNode:
    """Execute `notebook` in a fresh python3 kernel, in the lessons folder; return it with outputs."""
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(LESSONS)}},
    ).execute()
    return notebook


def error_outputs(notebook: nbformat.NotebookNode) -> list[tuple[int, dict]]:
    """(cell index, output) of every error output in the executed notebook."""
    return [
        (index, output)
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


@needs_data()
def test_run_all_on_a_fresh_lesson_stops_at_the_first_use_of_an_unwritten_exercise_and_names_it():
    notebook = read_notebook(LESSONS / "01_mnist_data.ipynb")
    with pytest.raises(CellExecutionError):
        run_in_kernel(notebook)
    setup = next(cell for cell in notebook.cells if "setup" in cell.metadata.get("tags", []))
    assert setup.outputs == [], "the setup cell printed TensorFlow's start-up lines"
    [(index, error)] = error_outputs(notebook)
    assert error.ename == "NotImplementedError"
    assert error.evalue.startswith("count_per_class is not written yet: write your code in its exercise cell")
    assert (
        "count_per_class(" in notebook.cells[index].source and "def count_per_class" not in notebook.cells[index].source
    )
    self_checks = [cell for cell in notebook.cells[:index] if cell.source.startswith("self_check(")]
    assert "count_per_class is not written yet" in self_checks[0].outputs[0].text


def test_a_failed_self_check_shows_the_verdict_and_hint_without_a_traceback():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(source)
            for source in (
                "import numpy as np\nfrom cnn_course.checks import self_check",
                "def scale_images(images):\n    return images.astype('float32')",
                "self_check(scale_images)",
                "print('after the failed check')",
            )
        ]
    )
    with pytest.raises(CellExecutionError):
        run_in_kernel(notebook)
    [(index, error)] = error_outputs(notebook)
    assert index == 2 and error.ename == "CheckFailed"
    shown = "\n".join(error.traceback)
    assert shown.splitlines()[0].endswith(f"✘ {error.evalue.splitlines()[0]}\x1b[0m")
    assert "Hint:" in shown and "run this self-check again" in shown
    assert "Traceback" not in shown and "cnn_course" not in shown and "File " not in shown
