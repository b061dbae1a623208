"""What an exercise call did: its value, and what it did to its arguments."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from cnn_course.runtime.protocol import CallDetails


def call_with_details(function: Callable[..., Any], *args: Any, **kwargs: Any) -> CallDetails:
    """Call an exercise and report what it did to its arguments as well as its value.

    A learner-process exercise (the graders') reports this itself; a plain function (a lesson's
    self-check, or this call inside the learner process) is observed here: array arguments are
    compared with copies taken before the call, and Keras-model arguments are returned as they are
    after it. A Flask development server the call starts (`app.run()`, where Flask is imported) is not
    started: the call goes on at once, and the details say it tried.
    """
    if hasattr(function, "call_with_details"):
        return function.call_with_details(*args, **kwargs)
    arguments = {**dict(enumerate(args)), **kwargs}
    copies = {key: value.copy() for key, value in arguments.items() if isinstance(value, np.ndarray)}
    servers: list[tuple] = []
    with _no_servers(servers):
        value = function(*args, **kwargs)
    returned = next(
        (
            key
            for key, argument in arguments.items()
            if argument is value and not isinstance(value, (bool, int, float, str, type(None)))
        ),
        None,
    )
    changed = tuple(key for key, copy in copies.items() if not np.array_equal(copy, arguments[key], equal_nan=True))
    after = {key: argument for key, argument in arguments.items() if type(argument).__module__.startswith("keras")}
    return CallDetails(value, returned, changed, after, started_server=bool(servers))


@contextlib.contextmanager
def _no_servers(started: list[tuple]) -> Iterator[None]:
    """Within the block, Flask.run records its arguments in `started` and returns instead of serving forever."""
    flask = sys.modules.get("flask")
    if flask is None:
        yield
        return
    original = flask.Flask.__dict__["run"]

    def run(self: Any, *args: Any, **kwargs: Any) -> None:
        started.append((args, kwargs))

    flask.Flask.run = run
    try:
        yield
    finally:
        flask.Flask.run = original
