"""Course notebooks on disk: Jupytext pairs (NN_topic.py <-> NN_topic.ipynb) and their tagged cells."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat

EXERCISE_TAG = "exercise"
SETUP_TAG = "setup"
PARAMETERS_TAG = "parameters"
PAIR_SUFFIXES = (".py", ".ipynb")
_DEFINED_NAME = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


class NotebookError(Exception):
    """A lesson file is missing or cannot be read; the message says what to do."""


def lesson_stems(folder: Path) -> list[str]:
    """Return the sorted stems (e.g. '01_mnist_data') of the notebook pairs in `folder`."""
    return sorted({p.stem for p in folder.glob("[0-9][0-9]_*") if p.suffix in PAIR_SUFFIXES})


def newest_of_pair(folder: Path, stem: str) -> Path:
    """Return the more recently modified file of the pair `stem` in `folder` (.py wins a tie)."""
    candidates = [folder / f"{stem}{suffix}" for suffix in PAIR_SUFFIXES]
    existing = [p for p in candidates if p.is_file()]
    if not existing:
        raise NotebookError(
            f"No lesson '{stem}' in {folder}: expected {candidates[0].name} or {candidates[1].name}. "
            "If you renamed or moved it, put it back; to get a fresh copy run `cnn-course assign` "
            "(it never overwrites a lesson you edited)."
        )
    return max(existing, key=lambda p: (p.stat().st_mtime, p.suffix == ".py"))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a .py (percent format) or .ipynb notebook; a damaged file raises NotebookError."""
    try:
        return jupytext.read(path)
    except Exception as error:
        raise NotebookError(
            f"{path} cannot be read as a notebook ({type(error).__name__}: {error}). "
            f"If the .ipynb is damaged, open the paired {path.with_suffix('.py').name} instead, "
            "or restore the file from your last saved copy."
        ) from error


def has_tag(cell: nbformat.NotebookNode, tag: str) -> bool:
    """Return True when the cell carries `tag` in its metadata."""
    return tag in cell.get("metadata", {}).get("tags", [])


def defined_names(source: str) -> list[str]:
    """Return the top-level functions and classes a cell defines, even if it does not parse."""
    return _DEFINED_NAME.findall(source)
