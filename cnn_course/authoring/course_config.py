"""The course configuration: which exercises are assigned, their points and time limits, and where things live.

It is read from `course.toml` at the course root, or else from `[tool.cnn-course]` in
`pyproject.toml` (never both). Every key is optional:

    [tool.cnn-course]
    hidden-tests = "tests/hidden"      # instructor-only graders, never released (this is the default)
    submission-time-limit = 600        # wall-clock seconds for grading one submission
    memory-limit = 6                   # GiB of address space for grading one submission
    gradescope-hidden-visibility = "after_published"  # when Gradescope shows hidden tests' results to learners

    [tool.cnn-course.exercises]        # the assignment; absent: every exercise, 1 point each
    scale_images = 1                   # points
    train_classifier = { points = 2, time-limit = 120 }

Relative paths are relative to the file the configuration is read from.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COURSE_FILE = "course.toml"
PYPROJECT = "pyproject.toml"
DEFAULT_SUBMISSION_TIME_LIMIT_S = 600.0
# TensorFlow reserves about 2.4 GiB of address space to grade the MNIST lessons (3.3 GiB without
# MALLOC_ARENA_MAX=2, which the batch grader sets); 6 GiB leaves room for the learner's own arrays.
DEFAULT_MEMORY_LIMIT_GIB = 6.0
_PATH_KEYS = {
    "solutions": "solutions",
    "lessons": "lessons",
    "graders": "tests/graders",
    "hidden-tests": "tests/hidden",
}
_NUMBER_KEYS = {"submission-time-limit": DEFAULT_SUBMISSION_TIME_LIMIT_S, "memory-limit": DEFAULT_MEMORY_LIMIT_GIB}
_EXERCISE_KEYS = {"points", "time-limit"}
# Gradescope's visibility settings of a test (https://gradescope-autograders.readthedocs.io/en/latest/specs/).
GRADESCOPE_VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


class CourseConfigError(Exception):
    """The course configuration is missing, malformed or names unknown exercises; says how to fix it."""


@dataclass(frozen=True)
class ExerciseSpec:
    """One assigned exercise: its points and, when set, its own time limit in seconds."""

    name: str
    points: float = 1.0
    time_limit: float | None = None


@dataclass(frozen=True)
class CourseConfig:
    """The course's settings, with paths resolved.

    `exercises` is None when every exercise is assigned; `hidden_tests` is None when the default
    folder (tests/hidden) does not exist and no other is named.
    """

    source: Path | None
    solutions: Path
    lessons: Path
    graders: Path
    hidden_tests: Path | None
    exercises: dict[str, ExerciseSpec] | None = None
    submission_time_limit: float = DEFAULT_SUBMISSION_TIME_LIMIT_S
    memory_limit_gib: float = DEFAULT_MEMORY_LIMIT_GIB
    gradescope_hidden_visibility: str = "after_published"
    where: str = field(default="the defaults (no course configuration found)", compare=False)

    def assigned(self, catalog: dict[str, str]) -> list[ExerciseSpec]:
        """Return the assigned exercises in the catalog's order (exercise -> lesson); unknown names raise."""
        if self.exercises is None:
            return [ExerciseSpec(name) for name in catalog]
        unknown = sorted(set(self.exercises) - set(catalog))
        if unknown:
            raise CourseConfigError(
                f"{self.where} assigns {', '.join(unknown)}, which no grader tests. "
                f"Known exercises: {', '.join(catalog)}."
            )
        return [self.exercises[name] for name in catalog if name in self.exercises]

    def unassigned(self, names: list[str]) -> set[str]:
        """Return the names among `names` that the configuration leaves out of the assignment."""
        return set() if self.exercises is None else set(names) - set(self.exercises)

    def time_limits(self) -> dict[str, float]:
        """Return the per-exercise time limits the configuration sets, by exercise name."""
        specs = (self.exercises or {}).values()
        return {spec.name: spec.time_limit for spec in specs if spec.time_limit is not None}


def _number(value: Any, where: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise CourseConfigError(f"{where} must be a number of at least {minimum:g}, got {value!r}.")
    return float(value)


def _exercise(name: str, value: Any, where: str) -> ExerciseSpec:
    if not isinstance(value, dict):
        return ExerciseSpec(name, _number(value, f"{where}: {name}"))
    unknown = set(value) - _EXERCISE_KEYS
    if unknown:
        raise CourseConfigError(f"{where}: {name} has unknown keys {sorted(unknown)}; use points and time-limit.")
    limit = value.get("time-limit")
    return ExerciseSpec(
        name,
        _number(value.get("points", 1), f"{where}: {name}.points"),
        None if limit is None else _number(limit, f"{where}: {name}.time-limit", minimum=0.1),
    )


def parse_config(table: dict[str, Any], base: Path, source: Path | None, where: str) -> CourseConfig:
    """Validate a configuration table (course.toml, or [tool.cnn-course]) and resolve its paths against `base`."""
    known = set(_PATH_KEYS) | set(_NUMBER_KEYS) | {"exercises", "gradescope-hidden-visibility"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise CourseConfigError(f"{where}: unknown keys {unknown}; known keys are {sorted(known)}.")
    paths: dict[str, Path | None] = {}
    for key, default in _PATH_KEYS.items():
        value = table.get(key, default)
        if not isinstance(value, str):
            raise CourseConfigError(f"{where}: {key} must be a path (a string), got {value!r}.")
        paths[key] = (base / value).resolve()
    if "hidden-tests" not in table and not paths["hidden-tests"].is_dir():
        paths["hidden-tests"] = None
    numbers = {
        key: _number(table.get(key, default), f"{where}: {key}", minimum=0.1) for key, default in _NUMBER_KEYS.items()
    }
    visibility = table.get("gradescope-hidden-visibility", "after_published")
    if visibility not in GRADESCOPE_VISIBILITIES:
        raise CourseConfigError(
            f"{where}: gradescope-hidden-visibility must be one of {', '.join(GRADESCOPE_VISIBILITIES)}, "
            f"got {visibility!r}."
        )
    exercises = table.get("exercises")
    if exercises is not None and not isinstance(exercises, dict):
        raise CourseConfigError(
            f"{where}: exercises must be a table of exercise = points (or {{ points, time-limit }})."
        )
    return CourseConfig(
        source=source,
        solutions=paths["solutions"],
        lessons=paths["lessons"],
        graders=paths["graders"],
        hidden_tests=paths["hidden-tests"],
        exercises=None
        if exercises is None
        else {n: _exercise(n, v, f"{where} exercises") for n, v in exercises.items()},
        submission_time_limit=numbers["submission-time-limit"],
        memory_limit_gib=numbers["memory-limit"],
        gradescope_hidden_visibility=visibility,
        where=where,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CourseConfigError(f"{path} cannot be read as TOML: {error}") from error


def load_config(root: Path, path: Path | None = None) -> CourseConfig:
    """Read the course configuration: `path` if given, else root/course.toml, else root/pyproject.toml."""
    root = root.resolve()
    if path is not None:
        path = path.resolve()
        if not path.is_file():
            raise CourseConfigError(f"no course configuration at {path}.")
        table = _read_toml(path)
        if path.name == PYPROJECT:
            return parse_config(
                table.get("tool", {}).get("cnn-course", {}), path.parent, path, f"{path} [tool.cnn-course]"
            )
        return parse_config(table, path.parent, path, str(path))
    course, pyproject = root / COURSE_FILE, root / PYPROJECT
    in_pyproject = _read_toml(pyproject).get("tool", {}).get("cnn-course") if pyproject.is_file() else None
    if course.is_file():
        if in_pyproject:
            raise CourseConfigError(
                f"both {course} and [tool.cnn-course] in {pyproject} configure the course; keep one of them."
            )
        return parse_config(_read_toml(course), root, course, str(course))
    if in_pyproject is not None:
        return parse_config(in_pyproject, root, pyproject, f"{pyproject} [tool.cnn-course]")
    return parse_config({}, root, None, f"the defaults (no {COURSE_FILE} or [tool.cnn-course] in {root})")


def number(value: float) -> int | float:
    """Return a whole number of points as an int (2, not 2.0), anything else unchanged."""
    return int(value) if float(value).is_integer() else value
