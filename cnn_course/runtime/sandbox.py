"""The sandbox a learner process runs in (Linux, bubblewrap): an instructor's batch, and a learner's `pytest`.

Inside it the learner's code sees a read-only system (`/usr`, `/etc`, the Python installation and
its site-packages, the installed `cnn_course` package) and one writable folder, its scratch copy
of the submission, mounted at the same path. It has no network, its own process namespace (every
process it starts dies with it, and it cannot see or signal the grader), no capabilities, and runs
as `nobody`. Nothing else of the instructor's machine is there: not the course project, its
solutions, hidden tests, configuration or grades, not the results files, not the home folder.

A learner grading their own work on Linux (`pytest`) gets the same sandbox with the network and
their Keras cache added (`network`, `writable`): there too lesson code cannot see the course folder,
the folder graded, or the grading process (see `cnn_course.grading.environment.FolderGuard`).

Where bubblewrap is missing or cannot create namespaces (some containers forbid them),
`sandbox_status()` says so, and grading falls back to the plain learner process, which keeps the
same time and memory limits.
"""

from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path

BWRAP = "bwrap"
NOBODY = 65534
SHM_BYTES = 64 * 2**20
SANDBOX_MARK = "CNN_COURSE_IN_SANDBOX"  # in the sandboxed process's environment, which nothing outside sets
# Parts of the system a Python process needs, read-only; what a machine lacks is skipped.
_SYSTEM = ("/usr", "/etc", "/opt/conda")
_MERGED_USR = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"


def python_folders() -> list[Path]:
    """The folders of this Python installation the learner process needs: prefixes and site-packages.

    Folders inside another bound folder are left out. Entries of sys.path that are not part of the
    installation (the project root, a test folder) are never included; site-packages folders on sys.path are,
    wherever they are (a virtual environment that also sees another installation's packages).
    """
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages()}
    candidates |= {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    # Site folders added by a .pth file or site.addsitedir (a virtual environment that sees another's packages).
    candidates |= {entry for entry in sys.path if Path(entry).name in ("site-packages", "dist-packages")}
    candidates.add(str(Path(sys.executable).resolve().parent.parent))
    folders = sorted({Path(c).resolve() for c in candidates if c and Path(c).is_dir()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for folder in folders:
        if folder != Path("/") and not any(folder.is_relative_to(k) for k in kept):
            kept.append(folder)
    return kept


def _system_binds() -> list[str]:
    arguments: list[str] = []
    for top in _MERGED_USR:
        path = Path(top)
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            arguments += ["--ro-bind", top, top]
    for top in _SYSTEM:
        if Path(top).is_dir():
            arguments += ["--ro-bind", top, top]
    return arguments


def _resolver_binds() -> list[str]:
    """Where /etc/resolv.conf leads outside /etc (systemd-resolved: /run/systemd/resolve), mounted read-only."""
    resolved = Path("/etc/resolv.conf").resolve()
    if resolved.is_file() and not resolved.is_relative_to("/etc"):
        return ["--ro-bind", str(resolved.parent), str(resolved.parent)]
    return []


@functools.cache
def _tmpfs_size_supported() -> bool:
    try:
        helped = subprocess.run([shutil.which(BWRAP) or BWRAP, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--size" in helped.stdout + helped.stderr


def sandboxed_command(
    command: list[str],
    *,
    scratch: Path,
    package_dir: Path,
    env: dict[str, str],
    network: bool = False,
    writable: Sequence[Path] = (),
) -> list[str]:
    """Return the bubblewrap command line that runs `command` in the learner's sandbox.

    Args:
        command: the learner process's command line
            (e.g. ``[sys.executable, "-m", "cnn_course.grading.learner", ...]``);
            every path it names must lie inside `scratch`, `package_dir` or the Python installation.
        scratch: the learner's scratch folder: the only writable place, mounted at the same path and
            the working folder (and home and temporary folder, unless `env` names others).
        package_dir: the installed ``cnn_course`` package folder, mounted read-only at the same path; its
            parent is put first on ``PYTHONPATH`` so the package imports from there.
        env: the learner process's whole environment (nothing of the caller's is inherited). When it
            names a datasets folder (``CNN_COURSE_DATA``), that folder is mounted read-only too.
        network: keep the network (a learner grading their own work may need `keras.datasets` to download);
            the instructor's sandbox has none.
        writable: more folders mounted writable at their own paths (a learner's Keras cache).

    Returns:
        The argument list for ``subprocess.Popen``: ``bwrap`` with its options, then `command`.
        The sandbox has no network (unless `network`), its own PID/IPC/UTS namespaces, no capabilities,
        a read-only ``/dev`` but for its own ``/dev/shm`` (64 MiB where bubblewrap can size it), runs as
        ``nobody`` inside a user namespace, dies with its parent, and every process it started dies
        when `command` exits.
    """
    scratch, package_dir = Path(scratch).resolve(), Path(package_dir).resolve()
    # No setpriv --pdeathsig here: the grader starts sandboxes from worker threads, and Linux sends the
    # parent-death signal when that *thread* ends. The learner process ends itself when the grader's end
    # of its socket closes, and every process in the sandbox dies with it.
    arguments = [shutil.which(BWRAP) or BWRAP, *_system_binds()]
    for folder in python_folders():
        arguments += ["--ro-bind", str(folder), str(folder)]
    arguments += ["--ro-bind", str(package_dir), str(package_dir)]
    data = env.get("CNN_COURSE_DATA")
    if data and Path(data).is_dir():  # the public datasets, for lessons whose setup cells load them
        arguments += ["--ro-bind", str(Path(data).resolve()), data]
    for folder in writable:
        arguments += ["--bind", str(Path(folder).resolve()), str(folder)]
    if network:
        arguments += _resolver_binds()
    arguments += ["--bind", str(scratch), str(scratch)]
    # A small /dev/shm of its own (Python's multiprocessing locks live there; keras uses them to list
    # image folders), the rest of /dev read-only: a tmpfs is memory that no address-space limit bounds.
    size = ["--size", str(SHM_BYTES)] if _tmpfs_size_supported() else []  # bubblewrap 0.8 and later
    arguments += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", *size, "--tmpfs", "/dev/shm"]
    arguments += ["--unshare-all", *(["--share-net"] if network else [])]
    arguments += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
    arguments += ["--cap-drop", "ALL"]
    arguments += [
        "--die-with-parent",
        "--new-session",
        "--remount-ro",
        "/",
        "--remount-ro",
        "/dev",
        "--chdir",
        str(scratch),
        "--clearenv",
    ]
    pythonpath = os.pathsep.join([str(package_dir.parent), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    inside = {"HOME": str(scratch), "TMPDIR": str(scratch), **env, "PYTHONPATH": pythonpath, SANDBOX_MARK: "1"}
    for name, value in sorted(inside.items()):
        arguments += ["--setenv", name, value]
    return [*arguments, "--", *command]


def is_sandboxed(command: Sequence[str]) -> bool:
    """True when `command` (an argument list) starts bubblewrap, as `sandboxed_command` builds it."""
    return bool(command) and Path(command[0]).name == BWRAP


def command_exit_status(code: int) -> int:
    """The sandboxed command's exit status, from bubblewrap's `code`, as ``subprocess.Popen.returncode`` reads it.

    bubblewrap ends with its command's exit status, or with 128 + N (as shells do) when the command was killed
    by signal N; that reads here as -N, the command's own death. A command that itself exits 129 to 192 reads
    as killed too: bubblewrap reports the two alike.
    """
    return -(code - 128) if 128 < code <= 128 + 64 else code


@functools.cache
def sandbox_status() -> tuple[str, str]:
    """Probe once whether learner processes can run in the bubblewrap sandbox here.

    Returns:
        ``("bwrap", description)`` when a sandboxed Python starts and runs, else ``("none", reason)``,
        the reason saying what is missing and what to do; grading then runs the plain learner process
        with the same time and memory limits.
    """
    if sys.platform != "linux":
        return "none", f"the learner sandbox needs Linux (this is {sys.platform})"
    if shutil.which(BWRAP) is None:
        return "none", f"bubblewrap (bwrap) is not installed: {_INSTALL_HINT}"
    import cnn_course

    package_dir = Path(cnn_course.__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="cnn-course-sandbox-probe-") as scratch:
        probe = [sys.executable, "-I", "-c", "import pathlib; pathlib.Path('probe').write_text('ok')"]
        command = sandboxed_command(
            probe, scratch=Path(scratch), package_dir=package_dir, env={"PATH": "/usr/bin:/bin"}
        )
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            return "none", f"bubblewrap could not start ({error})"
        if completed.returncode != 0 or not (Path(scratch) / "probe").is_file():
            said = (completed.stderr.strip().splitlines() or [f"exit code {completed.returncode}"])[-1]
            return "none", (
                f"bubblewrap cannot create its namespaces here ({said}); containers often forbid them: "
                "allow user namespaces (e.g. sysctl kernel.unprivileged_userns_clone=1) or run where they are allowed"
            )
    version = subprocess.run([BWRAP, "--version"], capture_output=True, text=True).stdout.strip() or "bubblewrap"
    return (
        "bwrap",
        f"{version}: learner code runs with a read-only system, no network, its own processes, no instructor files",
    )
