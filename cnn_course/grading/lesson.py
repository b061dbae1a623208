"""A lesson loaded for grading: only its setup and exercise cells run, in a fresh namespace."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnn_course.checks.calls import DEFAULT_TIMEOUT_S, call_exercise, learner_frames, time_limit
from cnn_course.checks.feedback import ExerciseError
from cnn_course.notebooks import EXERCISE_TAG, SETUP_TAG, defined_names, has_tag, newest_of_pair, read_notebook


@dataclass
class GradedLesson:
    """The exercise functions of one lesson file, and the cells that failed to run."""

    path: Path
    namespace: dict[str, Any]
    timeout: float = DEFAULT_TIMEOUT_S
    broken: dict[str, str] = field(default_factory=dict)
    setup_error: str | None = None
    limits: dict[str, float] = field(default_factory=dict)

    def exercise(self, name: str, timeout: float | None = None) -> Callable[..., Any]:
        """Return the learner's `name`, wrapped with a time limit and friendly errors.

        The limit is the course configuration's for `name` if it sets one, else `timeout`, else the lesson's.
        """
        if self.setup_error:
            raise ExerciseError(name, self.setup_error)
        if name in self.broken:
            raise ExerciseError(name, self.broken[name])
        function = self.namespace.get(name)
        if not callable(function):
            raise ExerciseError(
                name,
                f"is not defined in {self.path.name}. The exercise cell must define a function named "
                f"`{name}`: did you rename it, or delete or retag its cell?",
            )
        guarded = functools.partial(call_exercise, function, timeout=self.limits.get(name) or timeout or self.timeout)
        return functools.update_wrapper(guarded, function)


def _run_cell(source: str, label: str, namespace: dict[str, Any], timeout: float) -> str | None:
    """Execute one cell's source; return a message describing the failure, or None."""
    try:
        code = compile(source, label, "exec")
    except SyntaxError as error:
        return f"its cell does not parse ({label}, line {error.lineno}: {error.msg}). Fix the syntax and save."
    try:
        with time_limit(timeout, label):
            exec(code, namespace)  # noqa: S102 - running the learner's own exercise cell is the point
    except Exception as error:
        where = learner_frames(error)
        return f"its cell raises {type(error).__name__}: {error} while being defined\n{where}".rstrip()
    return None


def load_lesson(folder: Path, stem: str, timeout: float = DEFAULT_TIMEOUT_S) -> GradedLesson:
    """Run the setup and exercise cells of lesson `stem` from `folder` (never training cells)."""
    path = newest_of_pair(folder, stem)
    notebook = read_notebook(path)
    lesson = GradedLesson(path=path, namespace={"__name__": f"lesson_{stem}"}, timeout=timeout)
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        label = f"{path.name}, cell {number}"
        if has_tag(cell, SETUP_TAG):
            problem = _run_cell(cell.source, label, lesson.namespace, timeout)
            if problem and not lesson.setup_error:
                lesson.setup_error = f"the setup cell ({label}) fails, so no exercise can run: {problem}"
        elif has_tag(cell, EXERCISE_TAG):
            problem = _run_cell(cell.source, label, lesson.namespace, timeout)
            if problem:
                for name in defined_names(cell.source):
                    lesson.broken[name] = problem
    return lesson
