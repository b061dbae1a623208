"""The outcomes a check reports to a learner: failed with a hint, not attempted, or broken."""

from __future__ import annotations

import re

CHANNEL_AXIS_HINT = (
    "images for a Conv2D layer need a channel axis, (height, width, channels), and these have (height, width) only. "
    "Give the model's Input the channel axis, keras.Input(shape=(28, 28, 1)), and the images too: lesson 1's "
    "add_channel_axis turns (N, 28, 28) into (N, 28, 28, 1) (np.expand_dims(images, -1))."
)
# What Keras says when images without their channel axis meet a Conv2D layer (at build time or when called).
_NO_CHANNEL_AXIS = re.compile(
    r"expected min_ndim=4, found ndim=3|expected shape=\(None, \d+, \d+, 1\), found shape=\([^()]*?, \d+, \d+\)"
)


def keras_error_hint(message: str) -> str:
    """The course's hint for an error message a learner's Keras model raised: a line to append, or "".

    Today one cause is recognised: images (or a model Input) without the channel axis, Keras's
    "expected min_ndim=4, found ndim=3".
    """
    return f"\n  Hint: {CHANNEL_AXIS_HINT}" if _NO_CHANNEL_AXIS.search(message) else ""


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
