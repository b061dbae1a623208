"""The batch's fork server: one process imports pytest, TensorFlow, the checks and the official test
sets once, then forks one grading process per submission.

Starting Python, importing TensorFlow and reading the test sets took a third of the CPU time of
grading a correct submission; forked from here, a grading process starts with all of it in memory
(shared copy-on-write). Nothing learner-made ever runs in this process: the learner's code runs in
the learner process a grading process starts.

It also keeps one learner zygote per job slot (`--learner-slots N`): the process that imports the
libraries learner code uses and forks the learner processes (see `cnn_course.runtime.zygote`),
started here before any request, in the learner sandbox with `--learner-sandbox bwrap`. Each
grading process gets its slot's zygote (`cnn_course.grading.forked.SHARED_ZYGOTE`), has it end every process
of the submission before and empties its scratch root, instead of importing TensorFlow again in
a zygote of its own. A zygote that died (learner code can kill it) is started again before the
slot's next grading process.

Protocol, one JSON object per line: the batch writes requests on stdin
(`{"id", "argv", "cwd", "env", "log", "key", "memory", "slot"}`), the server answers `{"id", "pid"}`
once the grading process started and `{"id", "exit"}` when it ended (the exit code, or minus the
signal). Each grading process is forked under a guard (see `worker`) in its own session, dies
with the server, which dies with the batch.

Usage: python -m cnn_course.batch.forkserver BATCH_PID
       [--learner-slots N --learner-sandbox none|bwrap --learner-memory BYTES]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from cnn_course.runtime.processes import (
    become_subreaper,
    die_with_parent,
    end_descendants,
    ended_children,
    limit_address_space,
)


def preload() -> None:
    """Import what every grading process needs, and read the test sets the accuracy graders use."""
    import pytest  # noqa: F401

    import cnn_course.batch.collect  # noqa: F401
    import cnn_course.grading.plugin  # noqa: F401 - imports keras, TensorFlow and the checks
    from cnn_course.grading import test_sets

    for load in (test_sets.mnist_test_set, test_sets.cifar10_test_set, test_sets.cifar10_test_images_by_class):
        with contextlib.suppress(BaseException):  # a grading process that needs it reports why it failed
            load()


class LearnerZygotes:
    """One learner zygote per job slot, each with its socket and scratch root; restarted when one died."""

    def __init__(self, slots: int, sandbox: str, memory: int) -> None:
        self.sandbox, self.memory = sandbox, memory
        self.roots = [Path(tempfile.mkdtemp(prefix=f"cnn-course-learners-slot{slot}-")) for slot in range(slots)]
        self.sockets: list[socket.socket | None] = [None] * slots
        self.pids: list[int | None] = [None] * slots
        for slot in range(slots):
            self.start(slot)

    def start(self, slot: int) -> None:
        """Start slot `slot`'s zygote in its emptied scratch root (it imports the libraries in the background)."""
        from cnn_course.grading.environment import launcher_for
        from cnn_course.grading.forked import zygote_command
        from cnn_course.runtime.fs import prepare_scratch_root

        if self.sockets[slot] is not None:
            self.sockets[slot].close()
        prepare_scratch_root(self.roots[slot])
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command, environment = zygote_command(
            self.roots[slot], self.memory, 1, launcher_for(self.sandbox), theirs.fileno()
        )
        process = subprocess.Popen(
            command,
            cwd=self.roots[slot],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
        )
        process.returncode = 0  # reaped by `serve`'s waitpid, never through this object
        theirs.close()
        self.sockets[slot], self.pids[slot] = ours, process.pid

    def ended(self, pid: int) -> None:
        """Forget a zygote that `serve` reaped, so that its slot starts another before the next grading process."""
        if pid in self.pids:
            self.pids[self.pids.index(pid)] = None

    def ready(self, slot: int) -> None:
        if self.pids[slot] is None:
            self.start(slot)

    def descriptors(self) -> tuple[int, ...]:
        return tuple(sock.fileno() for sock in self.sockets if sock is not None)

    def hand_over(self, slot: int) -> None:
        """In a grading process: keep only slot `slot`'s socket, and name that zygote to the learner client."""
        from cnn_course.grading import forked

        for other, sock in enumerate(self.sockets):
            if other != slot and sock is not None:
                sock.close()
        forked.SHARED_ZYGOTE = forked.SharedZygote(self.sockets[slot].fileno(), self.roots[slot], self.pids[slot])

    def remove(self) -> None:
        from cnn_course.runtime.fs import remove_tree

        for root in self.roots:
            remove_tree(root)


def _grading_process(request: dict, log_fd: int, zygotes: LearnerZygotes | None) -> int:
    """In the forked grading process: become what `worker` sets up, run pytest, return its exit code."""
    import pytest

    from cnn_course.batch import collect

    if zygotes is not None and request.get("slot") is not None:
        zygotes.hand_over(int(request["slot"]))
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


def _start(request: dict, private: tuple[int, ...], zygotes: LearnerZygotes | None) -> int:
    """Fork the guard of one grading process (closing the server's `private` pipes there); return the guard's pid."""
    from cnn_course.batch.worker import guard

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
                code = _grading_process(request, 1, zygotes)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        code = guard(child)
    finally:
        os._exit(code if code >= 0 else 128 - code)


def serve(requests, replies, zygotes: LearnerZygotes | None = None) -> None:
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
                if zygotes is not None and request.get("slot") is not None:
                    zygotes.ready(int(request["slot"]))
                pid = _start(request, (requests.fileno(), replies.fileno()), zygotes)
                running[pid] = request["id"]
                replies.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
                replies.flush()
        for pid, code in ended_children():  # every child that ended, a zygote too when no grading process runs
            if zygotes is not None:
                zygotes.ended(pid)
            if pid in running:
                replies.write(json.dumps({"id": running.pop(pid), "exit": code}) + "\n")
                replies.flush()


def main(argv: list[str]) -> int:
    """Serve the batch whose pid is argv[0]; exit when it closes the pipe or dies."""
    parser = argparse.ArgumentParser(prog="python -m cnn_course.batch.forkserver")
    parser.add_argument("batch", type=int)
    parser.add_argument("--learner-slots", type=int, default=0)
    parser.add_argument("--learner-sandbox", choices=("none", "bwrap"), default="none")
    parser.add_argument("--learner-memory", type=int, default=0)
    args = parser.parse_args(argv)
    die_with_parent()
    if os.getppid() != args.batch:
        return 3
    become_subreaper()
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)  # what preloading prints goes nowhere; the pipes stay private
    # The zygotes first: they import their libraries while this process imports its own.
    zygotes = (
        LearnerZygotes(args.learner_slots, args.learner_sandbox, args.learner_memory) if args.learner_slots else None
    )
    preload()
    try:
        serve(requests, replies, zygotes)
    finally:
        end_descendants()
        if zygotes is not None:
            zygotes.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
