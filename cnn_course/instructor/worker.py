"""The grading subprocess: cap its address space, then run pytest with the arguments it was given.

Usage: python -m cnn_course.instructor.worker MEMORY_LIMIT_BYTES PYTEST_ARGS...
The limit is set here rather than in a preexec_fn, which is unsafe when the batch runs threads.
"""

from __future__ import annotations

import resource
import sys

import pytest


def main(argv: list[str]) -> int:
    """Set RLIMIT_AS to argv[0] bytes (0: no limit) and return pytest's exit code for argv[1:]."""
    limit = int(argv[0])
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return int(pytest.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
