"""Processes that must not outlive their submission: parent-death signals, subreapers, ending descendants.

Linux only in effect (prctl, /proc); importable everywhere. Kept free of heavy imports: the grading
process calls these before anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def prctl(option: int, value: int) -> bool:
    """Call Linux prctl(option, value); False where it fails or the system is not Linux."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(option, value, 0, 0, 0) == 0


def die_with_parent() -> bool:
    """Have the kernel SIGKILL this process when the thread that started it ends; True if it worked."""
    return prctl(PR_SET_PDEATHSIG, getattr(signal, "SIGKILL", 9))


def become_subreaper() -> bool:
    """Adopt this process's orphaned descendants, so that none escapes to init; True if it worked."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def children_of(pid: int) -> list[int]:
    """Pids of the processes whose parent is `pid` (from /proc; empty where there is none)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat_line = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat_line.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def end_processes(pids: list[int]) -> None:
    """SIGKILL each process (and its process group when it leads one), then reap those that are our children."""
    for pid in pids:
        with contextlib.suppress(OSError):
            if hasattr(os, "getpgid") and os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)


def ended_children() -> Iterator[tuple[int, int]]:
    """Reap every child process that has ended, without waiting; yield each pid with its exit code
    (negative: the signal that killed it)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, os.waitstatus_to_exitcode(status)


def end_descendants() -> None:
    """End every process this one started or adopted (it should be a subreaper), until none is left."""
    for _ in range(100):
        children = children_of(os.getpid())
        if not children:
            return
        end_processes(children)


def limit_address_space(limit: int) -> None:
    """Cap this process's address space at `limit` bytes (the soft limit; the hard one is kept).

    Only the grader's own code runs in a grading process; the learner process it starts sets its
    own limit, which it could not if the hard limit were lowered here.
    """
    import resource  # POSIX only: imported where it is used, so that the module imports on Windows

    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
