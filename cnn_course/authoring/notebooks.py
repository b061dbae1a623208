"""Course notebooks on disk: Jupytext pairs (NN_topic.py <-> NN_topic.ipynb) and their tagged cells."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat

EXERCISE_TAG = "exercise"
SETUP_TAG = "setup"
PARAMETERS_TAG = "parameters"
INSTALL_TAG = "install"  # installs the course where it is missing (a hosted notebook); a no-op in the course
PAIR_SUFFIXES = (".py", ".ipynb")
_DEFINED_NAME = re.compile(r"^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)


class NotebookError(Exception):
    """A lesson file is missing or cannot be read; the message says what to do."""


def lesson_stems(folder: Path) -> list[str]:
    """Return the sorted stems (e.g. '01_mnist_data') of the notebook pairs in `folder`."""
    return sorted({p.stem for p in folder.glob("[0-9][0-9]_*") if p.suffix in PAIR_SUFFIXES})


def pair_files(folder: Path, stem: str) -> list[Path]:
    """The files of pair `stem` in `folder` that exist, matched by name in any letter case.

    A lesson saved as ``01_MNIST_Data.ipynb`` is the ``01_mnist_data`` notebook on Windows and macOS,
    whose file systems ignore case; it is found here on every system. The exact name wins.
    """
    found = []
    for suffix in PAIR_SUFFIXES:
        exact = folder / f"{stem}{suffix}"
        if exact.is_file() and exact.name in _names(folder):
            found.append(exact)
            continue
        wanted = exact.name.casefold()
        found += sorted(path for path in _entries(folder) if path.name.casefold() == wanted and path.is_file())[:1]
    return found


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _names(folder: Path) -> set[str]:
    return {path.name for path in _entries(folder)}


def newest_of_pair(folder: Path, stem: str) -> Path:
    """Return the more recently modified file of the pair `stem` in `folder` (.py wins a tie.

    Names in any letter case).
    """
    candidates = [folder / f"{stem}{suffix}" for suffix in PAIR_SUFFIXES]
    existing = pair_files(folder, stem)
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
        # utf-8-sig: some editors save with a byte-order mark, which the JSON reader would reject.
        text = path.read_bytes().decode("utf-8-sig")
        return jupytext.reads(text, fmt="ipynb" if path.suffix == ".ipynb" else "py:percent")
    except UnicodeDecodeError as error:
        raise NotebookError(
            f"{path} is not saved as UTF-8 (byte {error.start} is not UTF-8: an editor saved it in another encoding, "
            "such as Windows' 'ANSI' cp1252). Save it again as UTF-8 (in most editors: Save with Encoding > UTF-8), "
            "or open it in Jupyter and save it there."
        ) from error
    except Exception as error:
        twin = path.with_suffix(".py" if path.suffix == ".ipynb" else ".ipynb").name
        raise NotebookError(
            f"{path} cannot be read as a notebook ({type(error).__name__}: {error}). "
            f"Open its pair {twin} instead if you have it, or restore the file from your last saved copy."
        ) from error


def has_tag(cell: nbformat.NotebookNode, tag: str) -> bool:
    """Return True when the cell carries `tag` in its metadata."""
    return tag in cell.get("metadata", {}).get("tags", [])


def defined_names(source: str) -> list[str]:
    """Return the top-level functions and classes a cell defines, even if it does not parse."""
    return _DEFINED_NAME.findall(source)


def exercise_sources(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Map each function or class an exercise cell defines to its code, ignoring blank lines and end spaces."""
    sources: dict[str, str] = {}
    for cell in notebook.cells:
        if cell.cell_type == "code" and has_tag(cell, EXERCISE_TAG):
            code = "\n".join(line.rstrip() for line in cell.source.strip("\n").splitlines() if line.strip())
            for name in defined_names(cell.source):
                sources[name] = code
    return sources


def diverged_exercises(py_path: Path, ipynb_path: Path) -> list[str]:
    """Return the exercises whose code differs between the two files of a pair, in the order the .py defines them.

    An exercise present in only one file counts as differing. Blank lines and trailing spaces are
    ignored (Jupyter and Jupytext add or drop them on save). Raises NotebookError when either file
    cannot be read.
    """
    first, second = exercise_sources(read_notebook(Path(py_path))), exercise_sources(read_notebook(Path(ipynb_path)))
    names = list(first) + [name for name in second if name not in first]
    return [name for name in names if first.get(name) != second.get(name)]
