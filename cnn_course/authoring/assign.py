"""Generating the learners' lessons from the instructor's masters, without clobbering learners' edits.

A master cell's solution sits between `### BEGIN SOLUTION` and `### END SOLUTION`; the learner's
version keeps the signature and docstring and gets a `raise NotImplementedError(...)` naming the
exercise instead. Both files of a pair are written exactly as Jupytext writes them under the
project's jupytext.toml, so a save in Jupyter of an unchanged lesson changes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat

from cnn_course.authoring.notebooks import (
    EXERCISE_TAG,
    defined_names,
    has_tag,
    lesson_stems,
    newest_of_pair,
    read_notebook,
)

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
MANIFEST = ".assign-manifest.json"
OPTIONAL = "(optional, not graded)"
# The notebook metadata Jupytext's contents manager writes under jupytext.toml (it copies the filters
# into each notebook; the Jupytext version stays out of the files, so regenerating never differs by it alone).
PAIRING = {
    "cell_metadata_filter": "tags,alt,-all",
    "formats": "ipynb,py:percent",
    "notebook_metadata_filter": "kernelspec,jupytext,-jupytext.text_representation.jupytext_version",
}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
_BLOCK = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(BEGIN_SOLUTION)}[^\n]*\n.*?^[ \t]*{re.escape(END_SOLUTION)}[^\n]*(?:\n|$)",
    re.MULTILINE | re.DOTALL,
)


_DEFINITION = re.compile(r"^(?P<indent>[ \t]*)(?:async\s+)?(?:def|class)\s+(?P<name>[A-Za-z_]\w*)")


class AssignError(Exception):
    """The masters cannot be turned into lessons, or a lesson would be overwritten; says what to do."""


def strip_solutions(source: str, where: str) -> str:
    """Replace each solution block in a cell's source with a NotImplementedError stub."""
    if source.count(BEGIN_SOLUTION) != source.count(END_SOLUTION):
        raise AssignError(
            f"{where}: {BEGIN_SOLUTION} and {END_SOLUTION} do not pair up; every block needs both markers."
        )

    def stub(match: re.Match) -> str:
        indent = match.group("indent")
        name = enclosing_name(source[: match.start()], indent)
        message = (
            f"{name} is not written yet: write your code in its exercise cell in place of this line, and run that cell"
        )
        return f'{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError("{message}")\n'

    stripped = _BLOCK.sub(stub, source)
    if BEGIN_SOLUTION in stripped:
        raise AssignError(f"{where}: a {BEGIN_SOLUTION} marker is not closed by {END_SOLUTION} further down.")
    return stripped


def enclosing_name(before: str, indent: str) -> str:
    """Return the dotted name of the function (or class.method) around a line at `indent`, given the code before it."""
    names: list[str] = []
    for line in reversed(before.splitlines()):
        match = _DEFINITION.match(line)
        if match and len(match.group("indent")) < len(indent):
            names.insert(0, match.group("name"))
            indent = match.group("indent")
    return ".".join(names) or "this exercise"


def mark_optional(notebook: nbformat.NotebookNode, optional: Collection[str]) -> None:
    """Label the exercise cells defining an `optional` function, and the heading just above them, as not graded."""
    for index, cell in enumerate(notebook.cells):
        if (
            cell.cell_type != "code"
            or not has_tag(cell, EXERCISE_TAG)
            or not set(defined_names(cell.source)) & set(optional)
        ):
            continue
        cell.source = f"# {OPTIONAL}: this exercise is not part of the graded assignment.\n{cell.source}"
        above = notebook.cells[index - 1] if index else None
        if above is not None and above.cell_type == "markdown":
            lines = above.source.split("\n")
            heading = next((i for i, line in enumerate(lines) if line.startswith("#")), None)
            if heading is not None:
                lines[heading] += f" {OPTIONAL}"
                above.source = "\n".join(lines)


def learner_notebook(master: nbformat.NotebookNode, name: str, optional: Collection[str] = ()) -> nbformat.NotebookNode:
    """Return the learner's version of a master: solutions stubbed, outputs cleared, paired, optional ones labelled."""
    lesson = copy.deepcopy(master)
    for number, cell in enumerate(lesson.cells, start=1):
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, f"{name}, cell {number}")
            cell.outputs, cell.execution_count = [], None
        # Jupyter keeps no newline at the end of a cell; one here would come back as a blank line on save.
        cell.source = cell.source.rstrip("\n")
        cell.pop("id", None)
        cell.metadata = {key: value for key, value in cell.metadata.items() if key == "tags"}
    mark_optional(lesson, optional)
    lesson.metadata = {"jupytext": PAIRING, "kernelspec": KERNELSPEC}
    return lesson


def render_pair(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Return the text of the .py (percent) and .ipynb files of a notebook, keyed by suffix."""
    ipynb = copy.deepcopy(notebook)
    ipynb.nbformat, ipynb.nbformat_minor = 4, 5
    for number, cell in enumerate(ipynb.cells, start=1):
        cell["id"] = f"cell-{number}"
    return {".py": jupytext.writes(notebook, fmt="py:percent"), ".ipynb": nbformat.writes(ipynb) + "\n"}


def digest(text: str) -> str:
    """Return the sha256 of a text file's content."""
    return hashlib.sha256(text.encode()).hexdigest()


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step, so a crash never leaves half a file."""
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", delete=False, encoding="utf-8"
    ) as handle:
        handle.write(text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(handle.name, 0o666 & ~umask)
    os.replace(handle.name, path)


@dataclass
class AssignReport:
    """What assign did, or would do with --check: files written, unchanged, and refused."""

    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    refused: list[Path] = field(default_factory=list)


def generate_lessons(
    solutions: Path, lessons: Path, check: bool = False, force: bool = False, optional: Collection[str] = ()
) -> AssignReport:
    """Regenerate every lesson pair in `lessons` from the masters in `solutions`.

    With check=True nothing is written; the report lists the files that differ (in `written`, and
    in `refused` those edited since assign wrote them). A lesson that differs from what assign last
    wrote (a learner edited it) is refused unless force=True.
    Exercises named in `optional` are labelled "(optional, not graded)".
    """
    stems = lesson_stems(solutions)
    if not stems:
        raise AssignError(f"No master notebooks (NN_topic.py / .ipynb) in {solutions}.")
    lessons.mkdir(parents=True, exist_ok=True)
    manifest_path = lessons / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    report = AssignReport()
    pending: dict[Path, str] = {}
    for stem in stems:
        master = read_notebook(newest_of_pair(solutions, stem))
        for suffix, text in render_pair(learner_notebook(master, stem, optional)).items():
            path = lessons / f"{stem}{suffix}"
            current = path.read_text(encoding="utf-8") if path.is_file() else None
            if current == text:
                report.unchanged.append(path)
            elif current is not None and manifest.get(path.name) != digest(current) and not force:
                report.refused.append(path)
            else:
                pending[path] = text
    if check:
        report.written = list(pending)
        return report
    if report.refused:
        return report
    for path, text in pending.items():
        write_atomically(path, text)
        report.written.append(path)
    manifest.update({path.name: digest(path.read_text(encoding="utf-8")) for path in report.written + report.unchanged})
    write_atomically(manifest_path, json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")
    return report


def exercise_names(solutions: Path) -> list[str]:
    """Return the functions that the masters' exercise cells define, lesson by lesson."""
    names: list[str] = []
    for stem in lesson_stems(solutions):
        master = read_notebook(newest_of_pair(solutions, stem))
        names += [name for cell in master.cells if has_tag(cell, EXERCISE_TAG) for name in defined_names(cell.source)]
    return names
