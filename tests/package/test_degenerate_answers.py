"""Every check fails an exercise that answers without computing, with a message.

Five such answers, for every exercise the graders grade: None; zeros shaped like the right answer; the
first argument given back (an echo); a constant, the right answer to the first question of another run;
and a table, the right answers to every question of another run, looked up by the arguments (what an
exercise cell that read the checks' arguments and answers from the package would return).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from cnn_course.authoring.catalog import exercise_catalog
from cnn_course.checks import CHECKS, CheckFailed, draws
from cnn_course.runtime.protocol import MaterializedDataset

from .conftest import REPO, master_namespace

CATALOG = exercise_catalog(REPO / "tests" / "graders")
RUN_SEED, OTHER_RUN_SEED = 1234, 4321
_MASTERS: dict[str, dict] = {}


def test_every_check_is_graded_in_a_lesson():
    assert set(CHECKS) <= set(CATALOG)


@pytest.fixture
def seeded():
    """The checks draw from RUN_SEED; the seed drawn before is put back afterwards."""
    before = draws.run_seed()
    draws.set_run_seed(RUN_SEED)
    yield
    draws.set_run_seed(before)


def master_solution(exercise: str) -> Callable:
    stem = CATALOG[exercise]
    if stem not in _MASTERS:
        _MASTERS[stem] = master_namespace(stem)
    return _MASTERS[stem][exercise]


def zeros_like(value: Any) -> Any:
    """Zeros in the shape of `value`: arrays of zeros, 0 for numbers, the same containers; 0 for anything else."""
    if isinstance(value, np.ndarray) or tf.is_tensor(value):
        return np.zeros_like(np.asarray(value))
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.number)):
        return type(value)(0)
    if isinstance(value, (list, tuple)):
        return type(value)(zeros_like(item) for item in value)
    if isinstance(value, dict):
        return {key: zeros_like(item) for key, item in value.items()}
    return 0


def kept(value: Any) -> Any:
    """`value` as it can be handed back once its check ended: a dataset read from files becomes its first batches."""
    if isinstance(value, tf.data.Dataset):
        batches = [tuple(np.asarray(part) for part in batch) for batch in value.take(4).as_numpy_iterator()]
        return MaterializedDataset(
            batches, str(value.element_spec), len(batches), True, getattr(value, "class_names", None)
        )
    if isinstance(value, (list, tuple)) and any(isinstance(item, tf.data.Dataset) for item in value):
        return type(value)(kept(item) for item in value)
    return value


def key(value: Any) -> Any:
    """What identifies an argument across runs: an array by its content, a number or text by itself, else its type."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, str(value.dtype), hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest())
    if isinstance(value, (int, float, str, bool, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(key(item) for item in value)
    return type(value).__name__


def answers_of_another_run(exercise: str, solution: Callable) -> list[tuple[Any, Any]]:
    """The (arguments, right answer) of every call the check makes in another run."""
    draws.set_run_seed(OTHER_RUN_SEED)
    answers: list[tuple[Any, Any]] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        value = solution(*args, **kwargs)
        answers.append((key((args, sorted(kwargs.items()))), kept(value)))
        return value

    recording.__name__ = exercise
    CHECKS[exercise](recording)
    draws.set_run_seed(RUN_SEED)
    return answers


def looked_up(answers: list[tuple[Any, Any]]) -> Callable:
    """An exercise that answers a question it has seen with the recorded answer, and any other with None."""
    table = dict(answers)
    return lambda *args, **kwargs: table.get(key((args, sorted(kwargs.items()))))


def degenerate(exercise: str, kind: str) -> Callable:
    solution = master_solution(exercise)
    if kind == "none":
        function = lambda *args, **kwargs: None  # noqa: E731
    elif kind == "zeros":
        function = lambda *args, **kwargs: zeros_like(solution(*args, **kwargs))  # noqa: E731
    elif kind == "echo":
        function = lambda *args, **kwargs: args[0] if args else next(iter(kwargs.values()))  # noqa: E731
    elif kind == "constant":
        first = answers_of_another_run(exercise, solution)[0][1]
        function = lambda *args, **kwargs: first  # noqa: E731
    else:
        function = looked_up(answers_of_another_run(exercise, solution))
    function.__name__ = exercise
    return function


@pytest.mark.parametrize("kind", ["none", "zeros", "echo", "constant", "table"])
@pytest.mark.parametrize("exercise", sorted(CHECKS))
def test_an_answer_that_computes_nothing_fails(seeded, exercise, kind):
    function = degenerate(exercise, kind)
    with pytest.raises(CheckFailed) as failure:
        CHECKS[exercise](function)
    assert str(failure.value).startswith(f"{exercise}: ") and failure.value.problem, str(failure.value)


@pytest.mark.parametrize("exercise", sorted(CHECKS))
def test_the_masters_solution_passes_with_the_seeds_used(seeded, exercise):
    CHECKS[exercise](master_solution(exercise))
