"""The outcomes a check reports to a learner: failed with a hint, not attempted, or broken."""

from __future__ import annotations


class CheckFailed(AssertionError):
    """An exercise ran but its result is wrong; the message says what, and how to fix it."""

    def __init__(self, exercise: str, problem: str, hint: str = "") -> None:
        self.exercise, self.problem, self.hint = exercise, problem, hint
        text = f"{exercise}: {problem}"
        if hint:
            text += f"\n  Hint: {hint}"
        super().__init__(text)


class NotAttempted(Exception):
    """An exercise still raises NotImplementedError: the learner has not written it yet."""

    def __init__(self, exercise: str, detail: str = "") -> None:
        self.exercise = exercise
        super().__init__(detail or f"{exercise}: not attempted yet (it still raises NotImplementedError)")


class ExerciseError(Exception):
    """An exercise could not be graded: it raised, timed out, or is missing or unrunnable."""

    def __init__(self, exercise: str, message: str) -> None:
        self.exercise = exercise
        super().__init__(f"{exercise}: {message}")


class ExerciseTimeout(ExerciseError):
    """An exercise ran past its time limit."""
