"""Small assertions shared by the checks: each raises CheckFailed with the exercise's name."""

from __future__ import annotations

import numpy as np

from cnn_course.checks.feedback import CheckFailed


def expect_array(exercise: str, value: object, what: str = "an array") -> np.ndarray:
    """Return `value` if it is a NumPy array, else fail saying what was returned instead."""
    if value is None:
        raise CheckFailed(exercise, f"returned None instead of {what}.", "did you forget the `return` statement?")
    if not isinstance(value, np.ndarray):
        raise CheckFailed(
            exercise, f"returned a {type(value).__name__}, not {what}.", "return a NumPy array (np.asarray(...) converts)."
        )
    return value


def expect_shape(exercise: str, array: np.ndarray, shape: tuple, hint: str = "") -> None:
    """Fail unless `array.shape == shape`."""
    if array.shape != shape:
        raise CheckFailed(exercise, f"the result has shape {array.shape}; expected {shape}.", hint)


def expect_integer_dtype(exercise: str, array: np.ndarray, hint: str = "") -> None:
    """Fail unless `array` holds integers."""
    if not np.issubdtype(array.dtype, np.integer):
        raise CheckFailed(exercise, f"the result has dtype {array.dtype}; expected integers.", hint)


def expect_float_dtype(exercise: str, array: np.ndarray, what: str = "the result") -> None:
    """Fail unless `array` holds floats."""
    if not np.issubdtype(array.dtype, np.floating):
        raise CheckFailed(
            exercise, f"{what} has dtype {array.dtype}; expected floats.", "divide with /, not // (which rounds down to whole numbers)."
        )


def expect_tuple(exercise: str, value: object, names: tuple[str, ...]) -> tuple:
    """Return `value` if it is a tuple with one item per name, else fail naming the items expected."""
    if not isinstance(value, tuple) or len(value) != len(names):
        found = f"a tuple of {len(value)}" if isinstance(value, tuple) else f"a {type(value).__name__}"
        listed = ", ".join(names)
        raise CheckFailed(exercise, f"returned {found}; expected a tuple ({listed}).", f"end with `return {listed}`.")
    return value
