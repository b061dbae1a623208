"""The batch's fork server: one process imports pytest, TensorFlow, the checks and the official test
sets once, then forks one grading process per submission.

Starting Python, importing TensorFlow and reading the test sets took a third of the CPU time of
grading a correct submission; forked from here, a grading process starts with all of it in memory
(shared copy-on-write). Nothing learner-made ever runs in this process: the learner's code runs in
the learner process a grading process starts.

Protocol, one JSON object per line: the batch writes requests on stdin
(`{"id", "argv", "cwd", "env", "log", "key", "memory"}`), the server answers `{"id", "pid"}` once the
grading process started and `{"id", "exit"}` when it ended (the exit code, or minus the signal).
Each grading process is forked under a guard (see `worker`) in its own session, dies with the
server, which dies with the batch.

Usage: python -m cnn_course.instructor.forkserver BATCH_PID
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys

from cnn_course.instructor.processes import become_subreaper, die_with_parent, end_descendants, limit_address_space


def preload() -> None:
    """Import what every grading process needs, and read the test sets the accuracy graders use."""
    import pytest  # noqa: F401

    import cnn_course.grading.plugin  # noqa: F401 - imports keras, TensorFlow and the checks
    import cnn_course.instructor.collect  # noqa: F401
    from cnn_course.grading import test_sets

    for load in (test_sets.mnist_test_set, test_sets.cifar10_test_set, test_sets.cifar10_test_images_by_class):
        with contextlib.suppress(BaseException):  # a grading process that needs it reports why it failed
            load()


def _grading_process(request: dict, log_fd: int) -> int:
    """In the forked grading process: become what `worker` sets up, run pytest, return its exit code."""
    import pytest

    from cnn_course.instructor import collect

    die_with_parent()
    become_subreaper()
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    collect.RESULTS_KEY = bytes.fromhex(request["key"])
    if request["memory"] > 0:
        limit_address_space(request["memory"])
    try:
        return int(pytest.main(request["argv"]))
    finally:
        end_descendants()


def _start(request: dict, private: tuple[int, ...]) -> int:
    """Fork the guard of one grading process (closing the server's `private` pipes there); return the guard's pid."""
    from cnn_course.instructor.worker import guard

    log_fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    pid = os.fork()
    if pid:
        os.close(log_fd)
        return pid
    code = 3
    try:
        os.setsid()
        die_with_parent()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(devnull)
        os.close(log_fd)
        for fd in private:
            os.close(fd)
        for name, handler in ((signal.SIGCHLD, signal.SIG_DFL), (signal.SIGTERM, signal.SIG_DFL)):
            signal.signal(name, handler)
        child = os.fork()
        if child == 0:
            code = 3
            try:
                code = _grading_process(request, 1)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        code = guard(child)
    finally:
        os._exit(code if code >= 0 else 128 - code)


def serve(requests, replies) -> None:
    """Answer requests until stdin closes: fork on each request, report each exit."""
    running: dict[int, str] = {}
    buffer = b""
    while True:
        ready, _, _ = select.select([requests], [], [], 0.1)
        if ready:
            chunk = os.read(requests.fileno(), 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                pid = _start(request, (requests.fileno(), replies.fileno()))
                running[pid] = request["id"]
                replies.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
                replies.flush()
        while running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in running:
                replies.write(json.dumps({"id": running.pop(pid), "exit": os.waitstatus_to_exitcode(status)}) + "\n")
                replies.flush()


def main(argv: list[str]) -> int:
    """Serve the batch whose pid is argv[0]; exit when it closes the pipe or dies."""
    die_with_parent()
    if os.getppid() != int(argv[0]):
        return 3
    become_subreaper()
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)  # what preloading prints goes nowhere; the pipes stay private
    preload()
    try:
        serve(requests, replies)
    finally:
        end_descendants()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
