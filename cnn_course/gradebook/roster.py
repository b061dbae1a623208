"""Class administration at export time: the roster, manual overrides, the deadline.

- A roster (CSV with a `learner` column, else the first column) lists every learner: one without a
  submission appears with 0 points and "no submission", and the gradebook follows its order.
- An overrides file (CSV: learner, exercise, points, comment) replaces the points the graders gave;
  the feedback shows the override and its comment.
- A deadline (ISO 8601 date and time) flags each submission handed in after it as late.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from cnn_course.authoring.course_config import number
from cnn_course.gradebook.hygiene import printable
from cnn_course.gradebook.records import Assignment
from cnn_course.gradebook.results import ExerciseResult, SubmissionResult
from cnn_course.status import Status

NO_SUBMISSION = "no submission"


class RosterError(Exception):
    """A roster, overrides file or deadline cannot be used as given; the message says what to fix."""


@dataclass(frozen=True)
class Override:
    """The instructor's points for one learner's exercise, with the comment the learner reads."""

    learner: str
    exercise: str
    points: float
    comment: str


def _rows(path: Path) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RosterError(f"{path} cannot be read as a UTF-8 CSV file ({error}).") from None


def read_roster(path: Path) -> list[str]:
    """Return the learners a roster lists, in its order: its `learner` column, else its first column.

    Raises:
        RosterError: the file is unreadable, empty, or lists a learner twice.
    """
    rows = _rows(path)
    if not rows:
        raise RosterError(f"{path} lists no learner; write one learner id per line (a header `learner` is optional).")
    header = [cell.strip().lower() for cell in rows[0]]
    column = header.index("learner") if "learner" in header else 0
    body = rows[1:] if "learner" in header else rows
    learners = [printable(row[column].strip()) for row in body if len(row) > column and row[column].strip()]
    twice = sorted({name for name in learners if learners.count(name) > 1})
    if twice:
        raise RosterError(f"{path} lists {', '.join(twice)} more than once.")
    return learners


def read_overrides(path: Path, assignment: Assignment) -> list[Override]:
    """Return the overrides of a CSV file with columns learner, exercise, points, comment (a header row is required).

    Raises:
        RosterError: a column is missing, an exercise is not assigned, or points are not a number within 0..max.
    """
    rows = _rows(path)
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    needed = ("learner", "exercise", "points")
    if any(name not in header for name in needed):
        raise RosterError(f"{path} needs a header row with columns learner, exercise, points (and optionally comment).")
    index = {name: header.index(name) for name in (*needed, "comment") if name in header}
    maxima = {name: points for _, name, points in assignment.exercises}
    overrides = []
    for number_, row in enumerate(rows[1:], start=2):
        cell = {name: (row[i].strip() if i < len(row) else "") for name, i in index.items()}
        if cell["exercise"] not in maxima:
            raise RosterError(
                f"{path}, line {number_}: {cell['exercise']!r} is not an assigned exercise ({', '.join(maxima)})."
            )
        try:
            points = float(cell["points"])
        except ValueError:
            raise RosterError(f"{path}, line {number_}: points must be a number, got {cell['points']!r}.") from None
        if not 0 <= points <= maxima[cell["exercise"]]:
            raise RosterError(
                f"{path}, line {number_}: {cell['exercise']} is worth 0 to {number(maxima[cell['exercise']])} points, "
                f"got {cell['points']}."
            )
        overrides.append(Override(printable(cell["learner"]), cell["exercise"], points, cell.get("comment", "")))
    return overrides


def parse_deadline(text: str) -> datetime:
    """Parse a deadline such as 2026-12-01T23:59 or '2026-12-01 23:59:00' (local time, as submission times are)."""
    try:
        deadline = datetime.fromisoformat(text)
    except ValueError:
        raise RosterError(f"--deadline {text!r} is not a date and time; write it as 2026-12-01T23:59.") from None
    return deadline.replace(tzinfo=None)


def missing(learner: str, assignment: Assignment) -> SubmissionResult:
    """The result of a learner on the roster who handed nothing in: every exercise 0, "no submission"."""
    exercises = [
        ExerciseResult(lesson, name, 0.0, points, Status.NOT_SUBMITTED, NO_SUBMISSION)
        for lesson, name, points in assignment.exercises
    ]
    return SubmissionResult(learner, "", exercises, 0.0, "missing", NO_SUBMISSION)


def _overridden(result: SubmissionResult, overrides: list[Override]) -> SubmissionResult:
    mine = {o.exercise: o for o in overrides if o.learner == result.learner}
    if not mine:
        return result
    exercises = []
    for e in result.exercises:
        o = mine.get(e.exercise)
        if o is None:
            exercises.append(e)
            continue
        said = (
            f"instructor override: {number(o.points)} / {number(e.max_points)} points "
            f"(the graders gave {number(e.points)})"
        )
        exercises.append(replace(e, points=o.points, override=said + (f": {o.comment}" if o.comment else "")))
    return result.with_exercises(exercises)


def class_results(
    records: dict[str, SubmissionResult],
    assignment: Assignment,
    roster: list[str] | None = None,
    overrides: list[Override] = (),
    deadline: datetime | None = None,
) -> tuple[list[SubmissionResult], list[str]]:
    """Return every learner's result for the exports, and warnings for the instructor.

    Order: the roster's, then learners not on it by name; without a roster, by name. Learners on the
    roster without a record get `missing`; overrides replace points; `late` is set from the deadline.
    """
    warnings = []
    order = list(roster or [])
    strangers = sorted(set(records) - set(order))
    if roster is not None and strangers:
        warnings.append(f"graded but not on the roster: {', '.join(strangers)}")
    unknown = sorted({o.learner for o in overrides} - set(records) - set(order))
    if unknown:
        warnings.append(f"the overrides name learners with no result: {', '.join(unknown)}")
    results = []
    for learner in order + strangers:
        result = records.get(learner) or missing(learner, assignment)
        result = _overridden(result, list(overrides))
        late = bool(deadline and result.submitted_at and datetime.fromisoformat(result.submitted_at) > deadline)
        results.append(replace(result, late=late))
    return results, warnings
