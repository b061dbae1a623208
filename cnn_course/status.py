"""The status of an exercise, one spelling everywhere: in the learner process's replies, the grader's verdicts, the
scoreboard, the gradebook and the JSON written for instructors."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How an exercise ended, from best to worst (the order `worst` ranks by).

    The values are what JSON files and CSV gradebooks hold. `Status("not_attempted")` (the spelling of earlier
    learner-process replies) reads as `NOT_ATTEMPTED`; any other unknown value raises ValueError.
    """

    PASSED = "passed"
    NOT_ATTEMPTED = "not attempted"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    NOT_SUBMITTED = "not submitted"

    @classmethod
    def _missing_(cls, value: object) -> Status | None:
        if isinstance(value, str):
            spelled = value.strip().lower().replace("_", " ")
            for member in cls:
                if member.value == spelled:
                    return member
        return None


def worst(statuses: list[Status]) -> Status:
    """The worst of several statuses (an exercise is only as good as its weakest test); PASSED for none."""
    order = list(Status)
    return max((Status(status) for status in statuses), key=order.index, default=Status.PASSED)
