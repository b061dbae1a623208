"""`cnn-course sync LESSON`: bring the two files of a lesson pair back in step without losing anyone's work.

Like `jupytext --sync`, the newer file gives the text of every cell and the .ipynb keeps its outputs.
Unlike it, an exercise that is written in the older file but still a stub in the newer one keeps the
written code, and an exercise written differently in both is only replaced when the learner says so
(a prompt that shows both versions, or --force). Every file that changes is first copied to `backups/`
beside the lesson, a folder that git ignores (it holds its own .gitignore), so backups are never committed.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupytext.combine import combine_inputs_with_outputs

from cnn_course.authoring.assign import render_pair, write_atomically
from cnn_course.authoring.notebooks import (
    EXERCISE_TAG,
    NotebookError,
    defined_names,
    diverged_exercises,
    has_tag,
    read_notebook,
)

BACKUP_FOLDER = "backups"
# Written into every backups/ folder: git then ignores the folder and everything in it, in any repository.
BACKUP_GITIGNORE = "# cnn-course sync's backups: kept on this computer, never committed\n*\n"
STUB = "raise NotImplementedError"


class SyncRefused(Exception):
    """Both files hold different written code for an exercise and nobody said which to keep; the message says how."""


@dataclass
class SyncReport:
    """What sync did: the differing exercises and how each was settled, the files written and their backups."""

    newer: Path
    older: Path
    diverged: list[str] = field(default_factory=list)
    kept_older: list[str] = field(default_factory=list)  # written in the older file, a stub in the newer: kept
    replaced: list[str] = field(default_factory=list)  # written in both: the newer file's code kept, as agreed
    written: list[Path] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)


def pair_paths(lesson: str | Path, folder: Path) -> tuple[Path, Path]:
    """Return the (.py, .ipynb) paths of a lesson named by stem ('01_mnist_data', in `folder`) or by a file's path."""
    path = Path(lesson)
    if path.suffix in (".py", ".ipynb"):
        stem_path = path.with_suffix("")
    elif path.parent != Path("."):
        stem_path = path
    else:
        stem_path = folder / path
    py, ipynb = stem_path.with_suffix(".py"), stem_path.with_suffix(".ipynb")
    if not py.is_file() and not ipynb.is_file():
        raise NotebookError(
            f"No lesson '{lesson}': neither {py} nor {ipynb} exists. Give a lesson name such as 01_mnist_data, "
            "or the path of one file of the pair."
        )
    return py, ipynb


def _exercise_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {
        name: cell
        for cell in notebook.cells
        if cell.cell_type == "code" and has_tag(cell, EXERCISE_TAG)
        for name in defined_names(cell.source)
    }


def _written(cell: nbformat.NotebookNode | None) -> bool:
    return cell is not None and STUB not in cell.source


def backup_folder(parent: Path) -> Path:
    """Return `parent`/backups, created with a .gitignore that keeps git from committing it."""
    folder = parent / BACKUP_FOLDER
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.is_file():
        ignore.write_text(BACKUP_GITIGNORE, encoding="utf-8")
    return folder


def _backup(path: Path, stamp: str) -> Path:
    folder = backup_folder(path.parent)
    backup = folder / f"{path.stem}.{stamp}{path.suffix}"
    shutil.copy2(path, backup)
    return backup


def _saved(path: Path) -> str:
    return datetime.datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")


def exercise_diff(older: Path, older_source: str, newer: Path, newer_source: str) -> str:
    """A unified diff of one exercise's cell from the older file of a pair to the newer, each labelled with its
    file name, which one is newer and when it was saved ('-' lines: only in the older file, '+': only in the newer)."""
    return "\n".join(
        difflib.unified_diff(
            older_source.splitlines(),
            newer_source.splitlines(),
            lineterm="",
            fromfile=f"{older.name} (older, saved {_saved(older)})",
            tofile=f"{newer.name} (newer, saved {_saved(newer)})",
        )
    )


def sync_pair(
    py: Path, ipynb: Path, force: bool = False, confirm: Callable[[dict[str, str], Path, Path], bool] | None = None
) -> SyncReport:
    """Reconcile the pair (py, ipynb) and write both files; return what was done.

    The newer file (modification time) gives every cell's text, except exercises written in the
    older file and still stubs in the newer, which keep the older file's code. Exercises written
    differently in both are settled by `force` (the newer wins) or by `confirm(diffs, newer, older)`
    returning True, where `diffs` maps each such exercise to `exercise_diff` of its cell; otherwise
    SyncRefused, whose message holds those diffs, is raised and nothing is written. Each file that changes
    is copied first to backups/NAME.YYYYmmdd-HHMMSS.SUFFIX beside it. Raises NotebookError when a
    file cannot be read.
    """
    if not py.is_file() or not ipynb.is_file():
        newer = py if py.is_file() else ipynb
        older = ipynb if newer == py else py
    else:
        newer, older = (py, ipynb) if py.stat().st_mtime >= ipynb.stat().st_mtime else (ipynb, py)
    report = SyncReport(newer, older)
    merged = read_notebook(newer)
    if older.is_file():
        report.diverged = diverged_exercises(py, ipynb)
        newer_cells, older_cells = _exercise_cells(merged), _exercise_cells(read_notebook(older))
        conflicts: dict[str, str] = {}
        for name in report.diverged:
            mine, theirs = newer_cells.get(name), older_cells.get(name)
            if _written(theirs) and not _written(mine) and mine is not None:
                mine.source = theirs.source
                report.kept_older.append(name)
            elif _written(theirs) and _written(mine):
                conflicts[name] = exercise_diff(older, theirs.source, newer, mine.source)
        if conflicts:
            if not (force or (confirm is not None and confirm(conflicts, newer, older))):
                shown = "\n\n".join(f"{name}:\n{diff}" for name, diff in conflicts.items())
                raise SyncRefused(
                    f"{', '.join(conflicts)}: {newer.name} and {older.name} hold different code, both written, "
                    f"and nothing was changed. Open {older.name} and {newer.name}, "
                    "copy what you want to keep into the one you trust, save it and run sync again; "
                    f"or run `cnn-course sync {py.with_suffix('')} --force` to keep the newer file, "
                    f"{newer.name} (the older one is backed up to {BACKUP_FOLDER}/ first). "
                    f"The differences ('-' lines: {older.name}, '+' lines: {newer.name}):\n\n{shown}"
                )
            report.replaced = list(conflicts)
    if ipynb.is_file():
        merged = combine_inputs_with_outputs(merged, read_notebook(ipynb), fmt="py:percent")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    texts = render_pair(copy.deepcopy(merged))
    for path in (ipynb, py):  # the .py last, so Jupyter sees the text file as the newer of the pair
        text = texts[path.suffix]
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        if path.is_file():
            report.backups.append(_backup(path, stamp))
        write_atomically(path, text)
        report.written.append(path)
    if report.written and py.is_file():
        os.utime(py)  # Jupytext refuses to open a pair whose .py is older than its .ipynb
    return report
