"""Small assertions shared by the checks: each raises CheckFailed with the exercise's name."""

from __future__ import annotations

import numpy as np

from cnn_course.checks.feedback import CheckFailed
from cnn_course.runtime.protocol import ForeignObject


def type_name(value: object) -> str:
    """The name of `value`'s type as the learner wrote it (a value that could not cross names its own type)."""
    return value.type_name if isinstance(value, ForeignObject) else type(value).__name__


def expect_array(exercise: str, value: object, what: str = "an array") -> np.ndarray:
    """Return `value` if it is a NumPy array, else fail saying what was returned instead.

    A single number (Python or NumPy) is a 0-d array, so the caller's shape check names what is missing. A TensorFlow or
    Keras tensor counts as an array (graded in the learner process it arrives as one), so an exercise may use TensorFlow
    operations wherever its contract asks for an array.
    """
    if is_tensor(value) or isinstance(value, (np.generic, int, float)) and not isinstance(value, bool):
        value = np.asarray(value)  # a single number is a 0-d array: the shape checks then say what is missing
    if value is None:
        raise CheckFailed(exercise, f"returned None instead of {what}.", "did you forget the `return` statement?")
    if not isinstance(value, np.ndarray):
        raise CheckFailed(
            exercise, f"returned a {type_name(value)}, not {what}.", "return a NumPy array (np.asarray(...) converts)."
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
            exercise,
            f"{what} has dtype {array.dtype}; expected floats.",
            "divide with /, not // (which rounds down to whole numbers).",
        )


def expect_tuple(exercise: str, value: object, names: tuple[str, ...]) -> tuple:
    """Return `value` as a tuple if it is a tuple (or a list) with one item per name; else fail naming the items.

    A list unpacks like a tuple, so `return [mean, std]` is as good as `return mean, std`; an array
    stacking the items is not (its items would have to share one shape and dtype).
    """
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        found = f"a {type_name(value)} of {len(value)}" if isinstance(value, (tuple, list)) else f"a {type_name(value)}"
        listed = ", ".join(names)
        raise CheckFailed(exercise, f"returned {found}; expected a tuple ({listed}).", f"end with `return {listed}`.")
    return tuple(value)


def expect_integer(exercise: str, value: object, call: str, hint: str) -> int:
    """Return `value` as an int if it is a Python or NumPy integer, else fail: sizes and counts are whole numbers."""
    if is_tensor(value):
        value = np.asarray(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    if np.ndim(value) == 0 and isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.integer):
        return int(value)
    raise CheckFailed(exercise, f"{call} returned {value!r}, a {type_name(value)}; expected an int.", hint)


def is_tensor(value: object) -> bool:
    """True for a TensorFlow tensor or variable (what TensorFlow and keras.ops operations return)."""
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "numpy") and hasattr(value, "dtype")
