"""Grades as the exports see them: one result per submission and assigned exercise."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from cnn_course.status import Status, worst  # noqa: F401  (worst: re-exported for the batch)

STATUSES = tuple(Status)  # from best to worst


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise of one submission: points earned of max_points, status and the feedback message."""

    lesson: str
    exercise: str
    points: float
    max_points: float
    status: Status
    message: str = ""
    override: str = ""  # the instructor's manual override, as the learner sees it; empty when none
    hidden: str | None = None  # the hidden tests' part of `message` ("" when they passed); None: no hidden test ran


@dataclass
class SubmissionResult:
    """Every assigned exercise of one submission, how long grading took, and how the grading run ended."""

    learner: str
    source: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    seconds: float = 0.0
    run: str = "completed"  # completed | not attempted | timeout | crashed | rejected | missing
    note: str = ""
    submitted_at: str | None = None  # ISO 8601, local time, seconds
    late: bool = False  # submitted after the deadline (set at export)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON values (the durable record of one submission)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubmissionResult:
        """Rebuild a result from `to_dict`'s output; raise KeyError or TypeError if it is not one."""
        exercises = [
            ExerciseResult(**{**exercise, "status": Status(exercise["status"])}) for exercise in data["exercises"]
        ]
        return cls(**{**data, "exercises": exercises})

    def with_exercises(self, exercises: list[ExerciseResult], note: str | None = None) -> SubmissionResult:
        """A copy with other exercise results (and note)."""
        return replace(self, exercises=exercises, note=self.note if note is None else note)

    @property
    def total(self) -> float:
        """Points earned over all assigned exercises."""
        return sum(result.points for result in self.exercises)

    @property
    def max_total(self) -> float:
        """Points available over all assigned exercises."""
        return sum(result.max_points for result in self.exercises)

    def count(self, status: Status) -> int:
        """How many exercises ended with `status`."""
        return sum(result.status == status for result in self.exercises)
