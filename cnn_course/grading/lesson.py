"""A lesson loaded for grading: its file chosen and read here, its cells run in a learner process.

This module reads the lesson's files as data (which file of the pair to grade, which cells are
setup and exercise cells, what each defines) and hands the cells to a `LearnerProcess`; it never
executes them. `GradedLesson.exercise(name)` returns a callable that runs the learner's function
in that process and gives back its result as data.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnn_course.authoring.notebooks import (
    EXERCISE_TAG,
    PAIR_SUFFIXES,
    SETUP_TAG,
    NotebookError,
    defined_names,
    diverged_exercises,
    has_tag,
    pair_files,
    read_notebook,
)
from cnn_course.checks.calls import DEFAULT_TIMEOUT_S
from cnn_course.checks.feedback import ExerciseError, NotAttempted
from cnn_course.grading.learner_client import Cell, LearnerHost, LearnerProcess
from cnn_course.runtime.ipython_cells import prepare_cell
from cnn_course.runtime.protocol import CallDetails

_MISSING_NAME = re.compile(r"name '([A-Za-z_]\w*)' is not defined")


@dataclass
class LessonFile:
    """What the grader read from one lesson file: its cells and what they tell about each exercise."""

    path: Path
    cells: list[Cell]
    exercise_sources: dict[str, str]
    markdown_exercises: dict[str, str] = field(default_factory=dict)  # name -> label of a Markdown cell tagged exercise
    duplicates: dict[str, list[str]] = field(default_factory=dict)  # name -> labels of the cells defining it
    untagged_names: dict[str, str] = field(default_factory=dict)  # top-level name -> label of an untagged code cell
    timeit_cells: dict[str, str] = field(
        default_factory=dict
    )  # name -> label of a %%timeit exercise cell (keeps no names)
    diverged: list[str] = field(default_factory=list)  # exercises whose code differs in the other file of the pair


def read_lesson_file(path: Path) -> LessonFile:
    """Read `path` (.py or .ipynb) and sort its cells; raise NotebookError when it cannot be read."""
    notebook = read_notebook(path)
    cells, sources, markdown, untagged, timeit = [], {}, {}, {}, {}
    definitions: dict[str, list[str]] = defaultdict(list)
    for number, cell in enumerate(notebook.cells, start=1):
        label = f"{path.name}, cell {number}"
        if cell.cell_type != "code":
            if has_tag(cell, EXERCISE_TAG):
                for name in defined_names(cell.source):
                    markdown[name] = label
            continue
        if has_tag(cell, SETUP_TAG):
            cells.append(Cell(label, cell.source, "setup"))
        elif has_tag(cell, EXERCISE_TAG):
            names = tuple(defined_names(cell.source))
            cells.append(Cell(label, cell.source, "exercise", names))
            discards = prepare_cell(cell.source).discards_names
            for name in names:
                definitions[name].append(label)
                sources[name] = cell.source
                if discards:
                    timeit[name] = label
        else:
            for name in _top_level_names(cell.source):
                untagged.setdefault(name, label)
    duplicates = {name: labels for name, labels in definitions.items() if len(labels) > 1}
    return LessonFile(path, cells, sources, markdown, duplicates, untagged, timeit)


def _top_level_names(source: str) -> list[str]:
    """Names a cell binds at its top level (imports, assignments, definitions); [] if it does not parse.

    The cell is read as Jupyter runs it: a magic (`%matplotlib inline`) does not stop the others counting.
    """
    tree = prepare_cell(source).tree
    if tree is None:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [target.id for target in targets if isinstance(target, ast.Name)]
    return names


def renamed_copies(folder: Path, stem: str) -> list[Path]:
    """Notebook files in `folder` whose name starts with `stem` in any letter case, as a browser's
    download ("01_mnist_data (1).ipynb") or Jupyter's copy ("01_mnist_data-Copy1.ipynb") names them."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    prefix = stem.casefold()
    return [
        path
        for path in entries
        if path.is_file() and path.suffix in PAIR_SUFFIXES and path.stem.casefold().startswith(prefix)
    ]


def choose_lesson_file(folder: Path, stem: str) -> tuple[LessonFile, list[str]]:
    """Pick the file of pair `stem` to grade and say why, in notes for the learner.

    The more recently saved readable file is graded. When only one file can be read, it is graded
    and the notes say so; when the two hold different code for some exercises, the notes name them
    (and the graded file's `diverged` lists them). Raises NotebookError when neither file exists or can be read.
    """
    candidates = [folder / f"{stem}{suffix}" for suffix in PAIR_SUFFIXES]
    existing = sorted(pair_files(folder, stem), key=lambda p: (p.stat().st_mtime, p.suffix == ".py"), reverse=True)
    if not existing:
        renamed = renamed_copies(folder, stem)
        found = (
            f" Found {', '.join(path.name for path in renamed)}: "
            "if that is your lesson (a browser or a copy renamed it), "
            f"rename it to {stem}{renamed[0].suffix}."
            if renamed
            else ""
        )
        raise NotebookError(
            f"No lesson '{stem}' in the folder graded: expected {candidates[0].name} or {candidates[1].name}.{found} "
            "If you renamed or moved it, put it back under its original name; to get a fresh copy run "
            "`cnn-course assign` (it never overwrites a lesson you edited)."
        )
    readable, errors = [], []
    for path in existing:
        try:
            readable.append(read_lesson_file(path))
        except NotebookError as error:
            errors.append((path, error))
    if not readable:
        raise errors[0][1]
    graded, notes = readable[0], []
    expected = f"{stem}{graded.path.suffix}"
    if graded.path.name != expected:
        notes.append(
            f"graded {graded.path.name}, whose name differs from {expected} in letter case only. "
            f"Rename it to {expected}: "
            "on Linux (and in the instructor's grading) only the exact name is found."
        )
    exact = {path.name for path in existing}
    copies = [path for path in renamed_copies(folder, stem) if path.stem.casefold() != stem.casefold()]
    beside = [path.name for path in copies if path.name not in exact]
    if beside:
        notes.append(
            f"{', '.join(beside)} is also here, a renamed copy (a browser's download or Jupyter's copy) that is not "
            f"graded: {graded.path.name} is. If the copy holds your work, rename it to {stem}{Path(beside[0]).suffix} "
            "in place of the other."
        )
    for path, error in errors:
        cause = type(error.__cause__).__name__ if error.__cause__ else "damaged"
        notes.append(
            f"{path.name} could not be read as a notebook ({cause}), so its twin {graded.path.name} was graded."
        )
    if len(readable) == 2:
        other = readable[1]
        differ = diverged_exercises(*sorted((r.path for r in readable), key=lambda p: PAIR_SUFFIXES.index(p.suffix)))
        graded.diverged = differ
        if differ:
            notes.append(
                f"graded {graded.path.name}, the file saved last; {other.path.name} holds different code for "
                f"{', '.join(differ)}. To make the two files agree without losing either version, run "
                f"`cnn-course sync {stem}` (it shows the differences and keeps a backup)."
            )
    return graded, notes


class LearnerExercise:
    """A learner's exercise function, run in the learner process: call it like the function itself.

    Calls return the result as data (see `protocol`); `call_with_details` also reports what the
    call did to its arguments. Outcomes other than a result raise NotAttempted or ExerciseError
    (ExerciseTimeout), with the lesson's notes about this exercise added.
    """

    def __init__(self, lesson: GradedLesson, name: str, timeout: float) -> None:
        self.lesson, self.__name__, self.timeout = lesson, name, timeout
        self.__doc__ = f"The learner's `{name}`, run in the learner process."

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call_with_details(*args, **kwargs).value

    def call_with_details(self, *args: Any, **kwargs: Any) -> CallDetails:
        """Call the function; return its value with what it did to its arguments."""
        return self._call(args, kwargs, details=True)

    def _call(self, args: tuple, kwargs: dict, details: bool) -> CallDetails:
        try:
            return self.lesson.process.call(self.__name__, args, kwargs, self.timeout, details)
        except NotAttempted as outcome:
            raise NotAttempted(self.__name__, str(outcome) + self.lesson.notes_for(self.__name__)) from None
        except ExerciseError as outcome:  # ExerciseTimeout stays a timeout
            message = (
                _strip_name(self.__name__, str(outcome))
                + self.lesson.hint_for_error(str(outcome))
                + self.lesson.notes_for(self.__name__)
            )
            raise type(outcome)(self.__name__, message) from None


def _strip_name(name: str, text: str) -> str:
    return text[len(name) + 2 :] if text.startswith(f"{name}: ") else text


@dataclass
class GradedLesson:
    """One lesson being graded: the file read, the learner process running its cells, notes for the learner."""

    path: Path
    process: LearnerProcess | None
    lesson_file: LessonFile | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    notes: list[str] = field(default_factory=list)
    setup_error: str | None = None
    limits: dict[str, float] = field(default_factory=dict)
    _started: bool = False

    def start(self) -> None:
        """Start the learner process and run the cells (once); safe to call from a thread."""
        if self.process is not None and not self._started:
            self._started = True
            problems = self.process.start()
            self.setup_error = self.setup_error or problems.setup_error

    def exercise(self, name: str, timeout: float | None = None) -> LearnerExercise:
        """Return the learner's `name` as a callable run in the learner process.

        The limit is the course configuration's for `name` if it sets one, else `timeout`, else the lesson's.
        Raises ExerciseError when the lesson cannot run or the exercise's cell is broken.
        """
        self.start()
        if self.setup_error:
            raise ExerciseError(name, self.setup_error + self.notes_for(name))
        if (
            self.lesson_file is not None
            and name in self.lesson_file.markdown_exercises
            and name not in self.lesson_file.exercise_sources
        ):
            raise ExerciseError(
                name,
                f"its exercise cell ({self.lesson_file.markdown_exercises[name]}) is a Markdown cell, "
                "so it is not run. "
                "Change the cell's type back to Code (in Jupyter: select it and press Y).",
            )
        broken = self.process.problems.broken.get(name) if self.process else None
        if broken:
            raise ExerciseError(name, broken + self.notes_for(name))
        if self.lesson_file is not None and name in self.lesson_file.timeit_cells:
            raise ExerciseError(
                name,
                f"its cell ({self.lesson_file.timeit_cells[name]}) starts with %%timeit, "
                "which runs the cell's code without "
                f"keeping what it defines (in Jupyter too, `{name}` is then not defined). "
                "Remove the %%timeit line; to time "
                f"the function, write `%timeit {name}(...)` in a cell without the exercise tag.",
            )
        return LearnerExercise(self, name, self.limits.get(name) or timeout or self.timeout)

    def notes_for(self, name: str) -> str:
        """Notes about the lesson's files that concern exercise `name` (empty when none)."""
        kinds = ("could not be read", "letter case", "renamed copy")  # notes on the whole file concern every exercise
        notes = [note for note in self.notes if name in note or any(kind in note for kind in kinds)]
        if self.lesson_file is not None and name in self.lesson_file.duplicates:
            labels = self.lesson_file.duplicates[name]
            notes.append(
                f"`{name}` is defined in {len(labels)} exercise cells ({'; '.join(labels)}): "
                "the last one is graded. Delete the others."
            )
        return "".join(f"\nNote: {note}" for note in notes)

    def hint_for_error(self, message: str) -> str:
        """A hint for a NameError about a name that only an untagged cell (never run by the grader) defines."""
        match = _MISSING_NAME.search(message)
        if match and self.lesson_file is not None and match.group(1) in self.lesson_file.untagged_names:
            where = self.lesson_file.untagged_names[match.group(1)]
            return (
                f"\nHint: `{match.group(1)}` is defined in {where}, "
                "a cell without the exercise or setup tag, which the "
                "grader does not run. Move that line into your exercise cell (or the setup cell)."
            )
        return ""

    def close(self) -> None:
        if self.process is not None:
            self.process.close()


def load_lesson(host: LearnerHost, folder: Path, stem: str, timeout: float = DEFAULT_TIMEOUT_S) -> GradedLesson:
    """Read lesson `stem` from `folder` and prepare (not start) its learner process, forked by `host`."""
    try:
        lesson_file, notes = choose_lesson_file(folder, stem)
    except NotebookError as error:
        return GradedLesson(folder / stem, None, timeout=timeout, setup_error=str(error))
    process = LearnerProcess(host, folder, lesson_file.cells, cell_timeout=timeout)
    return GradedLesson(lesson_file.path, process, lesson_file, timeout=timeout, notes=notes)
