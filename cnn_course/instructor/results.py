"""Grades as the exports see them: one result per submission and assigned exercise."""

from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("passed", "not attempted", "failed", "error", "timeout")  # from best to worst


def worst(statuses: list[str]) -> str:
    """Return the worst of several test statuses: an exercise is only as good as its weakest test."""
    return max(statuses, key=STATUSES.index) if statuses else "passed"


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise of one submission: points earned of max_points, status and the feedback message."""

    lesson: str
    exercise: str
    points: float
    max_points: float
    status: str
    message: str = ""


@dataclass
class SubmissionResult:
    """Every assigned exercise of one submission, how long grading took, and how the grading run ended."""

    learner: str
    source: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    seconds: float = 0.0
    run: str = "completed"  # completed | timeout | crashed | rejected
    note: str = ""

    @property
    def total(self) -> float:
        """Points earned over all assigned exercises."""
        return sum(result.points for result in self.exercises)

    @property
    def max_total(self) -> float:
        """Points available over all assigned exercises."""
        return sum(result.max_points for result in self.exercises)

    def count(self, status: str) -> int:
        """How many exercises ended with `status`."""
        return sum(result.status == status for result in self.exercises)
