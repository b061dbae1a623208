"""Which learner-process backend runs here: the fork backend (Linux) or the portable one (everywhere).

The fork backend starts one interpreter per grading session and forks a learner process per lesson
from it: the fastest start, but it needs `os.fork`, Unix sockets of type SOCK_SEQPACKET and
descriptor passing, which only Linux has (macOS lacks SOCK_SEQPACKET for Unix sockets and forking
a process that imported TensorFlow is unsafe there; Windows has neither). The portable backend
("spawn") starts one interpreter per session and runs each lesson in a namespace of its own.
"""

from __future__ import annotations

import os
import socket
import sys

BACKENDS = ("auto", "fork", "spawn")
BACKEND_VARIABLE = "CNN_COURSE_LEARNER_BACKEND"


def missing_for_fork() -> list[str]:
    """What this system lacks for the fork backend (empty where it can run)."""
    missing = []
    if not sys.platform.startswith("linux"):
        missing.append(f"Linux (this is {sys.platform})")
    for module, names in (
        (os, ("fork", "setsid", "killpg", "WNOHANG")),
        (socket, ("AF_UNIX", "SOCK_SEQPACKET", "send_fds")),
    ):
        missing += [f"{module.__name__}.{name}" for name in names if not hasattr(module, name)]
    return missing


def choose_backend(requested: str | None = None) -> tuple[str, str]:
    """Return the backend to use ("fork" or "spawn") and why, in words.

    Args:
        requested: "auto", "fork" or "spawn"; None reads $CNN_COURSE_LEARNER_BACKEND (default "auto").
            "auto" is "fork" where the system has what it needs, else "spawn"; a "fork" this system
            cannot run becomes "spawn", and the reason says so.

    Raises:
        ValueError: `requested` (or the variable) names no backend.
    """
    requested = (requested or os.environ.get(BACKEND_VARIABLE) or "auto").strip().lower()
    if requested not in BACKENDS:
        raise ValueError(
            f"unknown learner backend '{requested}': use one of {', '.join(BACKENDS)} "
            f"(option --learner-backend or ${BACKEND_VARIABLE})"
        )
    missing = missing_for_fork()
    if requested == "spawn":
        return "spawn", "spawn: one interpreter per session, a namespace per lesson (asked for)"
    if not missing:
        return "fork", "fork: one interpreter per session, a forked process per lesson (Linux)"
    return (
        "spawn",
        f"spawn: one interpreter per session, a namespace per lesson (the fork backend needs {', '.join(missing)})",
    )
