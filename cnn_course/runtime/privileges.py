"""Learner processes that would run as root with no sandbox run as `nobody` instead (Linux).

Gradescope runs its autograder as root in a container that forbids namespaces, so bubblewrap cannot
start there; learner code started as a plain process would then run as root and could rewrite the
graders, the course package or the Python installation before the checks run. Wherever the
grading process is root and learner code runs with no sandbox, the learner process is started as
`nobody` (uid and gid 65534, no supplementary groups, no way to gain privileges again): it can
read what is open to every user (the system, Python, the package, the datasets) and write only
the scratch folders handed to it (`hand_over`).
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

LEARNER_UID = LEARNER_GID = 65534  # nobody / nogroup
SETPRIV = "setpriv"
_PR_SET_NO_NEW_PRIVS = 38


def must_drop_privileges() -> bool:
    """True where a learner process started without a sandbox would run as root: Linux, effective uid 0."""
    return sys.platform == "linux" and os.geteuid() == 0


@functools.cache
def nobody_can_run(python: str, package_parent: str) -> bool:
    """True when `nobody` can start `python` and import the course package (from `package_parent`) and NumPy.

    False where the installation is readable by its owner only (a course or an interpreter inside /root); asked
    once per process (about a second, the imports' time).
    """
    probe = unprivileged_command([python, "-c", "import cnn_course, numpy"])
    environment = {"PATH": os.defpath, "PYTHONPATH": package_parent, "HOME": "/", "LANG": "C.UTF-8"}
    try:
        completed = subprocess.run(probe, cwd="/", env=environment, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return completed.returncode == 0


def unprivileged_command(command: list[str]) -> list[str]:
    """`command`, started as `nobody` with no supplementary groups and no new privileges.

    util-linux's ``setpriv`` starts it where it is installed; otherwise this module does the same
    in Python (``python -m cnn_course.runtime.privileges UID GID COMMAND...``, which needs the
    package on ``PYTHONPATH``, as the learner environment has it). Either way the process execs
    `command` in place, so its pid, parent and descriptors stay those of the process started.
    """
    launcher = shutil.which(SETPRIV)
    if launcher:
        user = [f"--reuid={LEARNER_UID}", f"--regid={LEARNER_GID}", "--clear-groups", "--no-new-privs"]
        return [launcher, *user, "--", *command]
    user = [str(LEARNER_UID), str(LEARNER_GID)]
    return [sys.executable, "-s", "-B", "-m", "cnn_course.runtime.privileges", *user, *command]


def hand_over(folder: Path) -> None:
    """Make `folder` and everything in it the learner's (`nobody`'s), so that learner code can write there.

    Only what this process owns is handed over, never through a symbolic link (each entry is
    changed relative to its folder's descriptor, without following links), and never a file with
    more than one link: learner code that links a root-owned file into its folder, or swaps a
    folder for a link while this runs, gains nothing. Entries that vanish meanwhile are skipped.
    `folder`'s own path must pass through no folder learner code can change (hand over a scratch
    root, not a folder inside it).
    """
    owner = os.geteuid()

    def give(name: str, dir_fd: int | None) -> None:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            single = stat.S_ISDIR(info.st_mode) or (stat.S_ISREG(info.st_mode) and info.st_nlink == 1)
            if info.st_uid == owner and single:
                os.chown(name, LEARNER_UID, LEARNER_GID, dir_fd=dir_fd, follow_symlinks=False)
        except OSError:
            pass

    give(str(folder), None)
    for _, folders, files, dir_fd in os.fwalk(folder):
        for name in folders + files:
            give(name, dir_fd)


def hand_over_again(root: Path) -> None:
    """Before learner code runs again: hand over what this process put in a scratch root handed over before
    (a lesson's copy, a call's arguments, the checks' temporary folders), so that `nobody` can read and write
    there; nothing where the root was not handed over (a sandbox's, or no privileges to drop)."""
    if must_drop_privileges() and root.stat().st_uid == LEARNER_UID:
        hand_over(root)


def _drop_and_exec(uid: int, gid: int, command: list[str]) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    try:
        os.execv(command[0], command)
    except OSError as error:
        sys.exit(
            f"user nobody (uid {uid}) cannot run {command[0]} ({error.strerror}): learner code runs as nobody where "
            "the grader is root, so Python, the course package and the datasets must be readable by every user "
            "(not inside /root, for instance); or grade as a user other than root"
        )


if __name__ == "__main__":
    _drop_and_exec(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
