"""Calling a learner's exercise in a lesson's own process (`self_check`): a time limit, errors turned into feedback."""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from cnn_course.checks.feedback import ExerciseError, ExerciseTimeout, NotAttempted, keras_error_hint
from cnn_course.runtime.calls import call_with_details
from cnn_course.runtime.limits import time_limit as limit

DEFAULT_TIMEOUT_S = 60.0


@contextlib.contextmanager
def time_limit(seconds: float, exercise: str) -> Iterator[None]:
    """Raise ExerciseTimeout in the block if it runs longer than `seconds`, on every system.

    Uses SIGALRM where the system has it (Linux, macOS) and a watchdog thread elsewhere (Windows);
    see `cnn_course.runtime.limits`.
    """
    message = (
        f"did not finish within {seconds:g} s and was stopped. Look for a loop whose condition "
        "never becomes false, or work that grows with the data (a Python loop over every "
        "pixel); the reference solution takes well under a second."
    )

    class Expired(ExerciseTimeout):
        def __init__(self) -> None:
            super().__init__(exercise, message)

    with limit(seconds, Expired):
        yield


def learner_frames(error: BaseException) -> str:
    """Return the traceback lines of `error` that point into lesson code, not library code."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "cell" in f.filename]
    return "".join(traceback.format_list(frames)).rstrip()


def call_exercise(function: Callable[..., Any], *args: Any, timeout: float = DEFAULT_TIMEOUT_S, **kwargs: Any) -> Any:
    """Call a learner's function; NotImplementedError -> NotAttempted, other errors -> ExerciseError."""
    name = getattr(function, "__name__", repr(function))
    with time_limit(timeout, name):
        try:
            return function(*args, **kwargs)
        except NotImplementedError as error:
            raise NotAttempted(name) from error
        except ExerciseTimeout:
            raise
        except Exception as error:
            where = learner_frames(error)
            message = f"raised {type(error).__name__}: {error}" + keras_error_hint(str(error))
            if where:
                message += f"\n{where}"
            raise ExerciseError(name, message) from error


__all__ = ["DEFAULT_TIMEOUT_S", "call_exercise", "call_with_details", "learner_frames", "time_limit"]
