"""What an exercise call did: its value, and what it did to its arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnn_course.runtime.protocol import CallDetails


def call_with_details(function: Callable[..., Any], *args: Any, **kwargs: Any) -> CallDetails:
    """Call an exercise and report what it did to its arguments as well as its value.

    A learner-process exercise (the graders') reports this itself; a plain function (a lesson's
    self-check, or this call inside the learner process) is observed here: array arguments are
    compared with copies taken before the call, and Keras-model arguments are returned as they are
    after it.
    """
    if hasattr(function, "call_with_details"):
        return function.call_with_details(*args, **kwargs)
    arguments = {**dict(enumerate(args)), **kwargs}
    copies = {key: value.copy() for key, value in arguments.items() if isinstance(value, np.ndarray)}
    value = function(*args, **kwargs)
    returned = next(
        (key for key, argument in arguments.items() if argument is value and not isinstance(value, (bool, int, float, str, type(None)))),
        None,
    )
    changed = tuple(key for key, copy in copies.items() if not np.array_equal(copy, arguments[key], equal_nan=True))
    after = {key: argument for key, argument in arguments.items() if type(argument).__module__.startswith("keras")}
    return CallDetails(value, returned, changed, after)
