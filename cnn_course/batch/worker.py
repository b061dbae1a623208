"""The grading process of one submission: die with the batch, cap memory, take the results key, run pytest.

Usage: python -m cnn_course.batch.worker MEMORY_LIMIT_BYTES BATCH_PID PYTEST_ARGS...
with the results log's signing key (hex) as the first line of stdin. The key is read from the pipe
and held in memory only: no command line, environment or file that a learner process could read
names it. Limits are set here rather than in a preexec_fn, which is unsafe when the batch runs
threads.

The process forks at once: the parent only waits and passes the exit status on, so that code that
kills "its parent" ends this submission's grading, never the batch. The child runs pytest, dies
with the parent, adopts its orphaned descendants and ends every one of them when pytest returns.
"""

from __future__ import annotations

import os
import signal
import sys

from cnn_course.runtime.processes import become_subreaper, die_with_parent, end_descendants, limit_address_space


def _read_key() -> bytes:
    line = sys.stdin.buffer.readline().strip()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the learner process inherits nothing of the pipe
    os.close(devnull)
    return bytes.fromhex(line.decode("ascii")) if line else b""


def guard(child: int) -> int:
    """Wait for the grading child and end as it ended (same exit code, or the same signal)."""
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    return os.waitstatus_to_exitcode(status)


def _grade(limit: int, key: bytes, pytest_args: list[str]) -> int:
    import pytest

    from cnn_course.batch import collect

    die_with_parent()
    become_subreaper()
    collect.RESULTS_KEY = key
    if limit > 0:
        limit_address_space(limit)
    try:
        return int(pytest.main(pytest_args))
    finally:
        end_descendants()


def main(argv: list[str]) -> int:
    """Set RLIMIT_AS to argv[0] bytes (0: no limit) and die with process argv[1].

    Return pytest's exit code for the arguments argv[2:].
    """
    limit, batch = int(argv[0]), int(argv[1])
    die_with_parent()
    if os.getppid() != batch:  # the batch died before the line above took effect
        return 3
    key = _read_key()
    sys.stdout.flush()
    child = os.fork()
    if child:
        return guard(child)
    code = 3
    try:
        code = _grade(limit, key, argv[2:])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
