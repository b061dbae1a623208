"""Executing a course notebook end to end with a real Jupyter kernel, papermill-style parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from cnn_course.authoring.notebooks import PARAMETERS_TAG, has_tag, read_notebook

QUICK_PARAMETERS = {"QUICK_RUN": True}


class NotebookRunError(Exception):
    """A notebook stopped with an error; the message names the notebook and the failing cell."""


def inject_parameters(notebook: nbformat.NotebookNode, parameters: dict[str, Any]) -> None:
    """Insert a cell assigning `parameters` right after the cell tagged 'parameters' (or first)."""
    if not parameters:
        return
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    positions = [i for i, cell in enumerate(notebook.cells) if has_tag(cell, PARAMETERS_TAG)]
    notebook.cells.insert(positions[0] + 1 if positions else 0, injected)


def execute_notebook(
    path: Path, parameters: dict[str, Any] | None = None, cell_timeout_s: int = 1800, cwd: Path | None = None
) -> nbformat.NotebookNode:
    """Run every cell of the notebook at `path` in a fresh python3 kernel; return it with outputs."""
    notebook = read_notebook(path)
    inject_parameters(notebook, parameters or {})
    client = NotebookClient(
        notebook,
        timeout=cell_timeout_s,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd or path.parent)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        raise NotebookRunError(f"{path} stopped with an error:\n{error}") from error
    except DeadKernelError as error:
        raise NotebookRunError(
            f"{path}: the Jupyter kernel died while running it, most often because the machine ran out of memory; "
            "close other programs (or lower the lesson's batch size) and run it again"
        ) from error
    return notebook
