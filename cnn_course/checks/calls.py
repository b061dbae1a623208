"""Calling a learner's exercise safely: a time limit, and errors turned into feedback."""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from cnn_course.checks.feedback import ExerciseError, ExerciseTimeout, NotAttempted
from cnn_course.grading.protocol import CallDetails

DEFAULT_TIMEOUT_S = 60.0


@contextlib.contextmanager
def time_limit(seconds: float, exercise: str) -> Iterator[None]:
    """Raise ExerciseTimeout in the block if it runs longer than `seconds` (main thread only)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise ExerciseTimeout(
            exercise,
            f"did not finish within {seconds:g} s and was stopped. Look for a loop whose condition "
            "never becomes false, or work that grows with the data (a Python loop over every "
            "pixel); the reference solution takes well under a second.",
        )

    previous = signal.signal(signal.SIGALRM, on_alarm)
    # Re-arm every second so code that swallows the first exception is still stopped.
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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
            message = f"raised {type(error).__name__}: {error}"
            if where:
                message += f"\n{where}"
            raise ExerciseError(name, message) from error


def call_with_details(function: Callable[..., Any], *args: Any, **kwargs: Any) -> CallDetails:
    """Call an exercise and report what it did to its arguments as well as its value.

    A learner-process exercise (the graders') reports this itself; a plain function (a lesson's
    self-check) is observed here: array arguments are compared with copies taken before the call,
    and Keras-model arguments are returned as they are after it.
    """
    if hasattr(function, "call_with_details"):
        return function.call_with_details(*args, **kwargs)
    arguments = {**dict(enumerate(args)), **kwargs}
    copies = {key: value.copy() for key, value in arguments.items() if isinstance(value, np.ndarray)}
    value = function(*args, **kwargs)
    returned = next((key for key, argument in arguments.items() if argument is value and not isinstance(value, (bool, int, float, str, type(None)))), None)
    changed = tuple(key for key, copy in copies.items() if not np.array_equal(copy, arguments[key], equal_nan=True))
    after = {key: argument for key, argument in arguments.items() if type(argument).__module__.startswith("keras")}
    return CallDetails(value, returned, changed, after)
