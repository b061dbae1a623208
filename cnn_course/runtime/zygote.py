"""The fork backend of the learner process (Linux): one zygote per grading session, a fork per lesson.

`cnn_course.grading.forked` starts `python -m cnn_course.runtime.zygote FD MEMORY` once per grading
session, in a scratch folder with a clean environment: the zygote imports the heavy libraries once,
then forks one learner process per lesson, which answers that lesson's requests (see `learner`).
It needs `os.fork`, Unix sockets of type SOCK_SEQPACKET and descriptor passing: Linux. Other
systems use the portable backend (`spawned`).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

from cnn_course.runtime.fs import remove_tree
from cnn_course.runtime.learner import die_with_parent, limit_memory, preload, serve_one_lesson
from cnn_course.runtime.processes import PR_SET_DUMPABLE, become_subreaper, end_descendants, ended_children, prctl
from cnn_course.runtime.protocol import read_message, write_message
from cnn_course.runtime.sandbox import SANDBOX_MARK


def serve(channel: socket.socket, memory: int) -> None:
    """Run as one lesson's learner process: answer requests on `channel` until 'close' or its end."""
    limit_memory(memory)
    die_with_parent(os.getppid())
    sys.stdin = open(os.devnull)  # noqa: SIM115 - a lesson that asks for input() reads end of file at once
    serve_one_lesson(channel.makefile("rb"), channel.makefile("wb"))


def zygote(host: socket.socket, memory: int) -> None:
    """Import the heavy libraries once, then fork one learner process per lesson on request.

    Requests and events are datagrams on `host` (AF_UNIX, SOCK_SEQPACKET): {"op": "fork", "cwd": DIR}
    is answered with {"event": "forked", "pid": N} and two descriptors (the learner's channel and the
    read end of its output); {"op": "kill", "pid": N} kills learner N and everything it started;
    {"event": "exit", "pid": N, "status": S} reports each learner that ended (S < 0: killed by signal
    -S); {"op": "reset"} ends every process the zygote started or adopted and is answered with
    {"event": "reset"} once none is left, so that a zygote a batch shares between submissions
    starts each one with no process of the last. Pids are the zygote's own (inside a sandbox they
    differ from the grader's view), so only the zygote signals them. The zygote stays
    single-threaded, so forking it is safe; it adopts its learners' orphans (a subreaper), and no
    learner can trace it or read its memory (it is not dumpable).
    """
    become_subreaper()
    prctl(PR_SET_DUMPABLE, 0)
    sandboxed = (
        os.environ.get(SANDBOX_MARK) == "1" and os.getppid() == 1
    )  # the sandbox's init is our parent: our own pid namespace
    preload()
    parent = os.getppid()
    host.send(write_message({"event": "ready"}))
    while os.getppid() == parent:
        _report_exits(host)
        readable, _, _ = select.select([host], [], [], 0.25)
        if not readable:
            continue
        data = host.recv(65536)
        if not data:
            return
        request = read_message(data)
        if request.get("op") == "fork":
            _fork(host, Path(request["cwd"]), memory)
        elif request.get("op") == "reset":
            if sandboxed:  # every process of the sandbox but its init and this one, in one step no fork can outrun
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)
            end_descendants()
            _report_exits(host)
            if sandboxed:  # the sandbox's own /dev/shm and System V IPC objects: what outlives a process there
                _empty_shared_memory()
            host.send(write_message({"event": "reset"}))
        elif request.get("op") == "kill":
            try:
                os.killpg(int(request["pid"]), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _empty_shared_memory() -> None:
    """Inside the sandbox: empty its /dev/shm and remove its System V IPC objects.

    Folders a learner locked in /dev/shm are emptied too.
    """
    for entry in Path("/dev/shm").iterdir():
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                remove_tree(entry)
            else:
                entry.unlink()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(["ipcrm", "--all"], stdin=subprocess.DEVNULL, capture_output=True, timeout=10)


def _fork(host: socket.socket, cwd: Path, memory: int) -> None:
    ours, theirs = socket.socketpair()
    output_read, output_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            prctl(PR_SET_DUMPABLE, 1)  # the zygote is not dumpable; a learner process need not hide
            host.close()
            ours.close()
            os.close(output_read)
            os.setsid()
            os.dup2(output_write, 1)
            os.dup2(output_write, 2)
            os.close(output_write)
            os.chdir(cwd)
            serve(theirs, memory)
        finally:
            os._exit(0)
    theirs.close()
    os.close(output_write)
    socket.send_fds(host, [write_message({"event": "forked", "pid": pid})], [ours.fileno(), output_read])
    ours.close()
    os.close(output_read)


def _report_exits(host: socket.socket) -> None:
    for pid, code in ended_children():
        host.send(write_message({"event": "exit", "pid": pid, "status": code}))


def main(argv: list[str]) -> int:
    """`FD MEMORY`: run the zygote on the socket FD (see `zygote`)."""
    host = socket.socket(fileno=int(argv[0]))
    zygote(host, int(argv[1]))
    return 0


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))  # not sys.exit: threads a lesson started must not keep a process alive
