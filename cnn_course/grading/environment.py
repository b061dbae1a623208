"""How the grading process starts a learner process: its environment, limits and sandbox wrapper.

The learner process gets a whole environment of its own: nothing of the grader's but the package's
location, the datasets folder and, on a learner's own computer, the Keras cache in the user's
profile (so that `keras.datasets` files downloaded once are not downloaded again in every grading
run). Inside the instructor's sandbox the Keras cache is the scratch folder's own.

Where the grading process is root and learner code runs with no sandbox (Gradescope's containers forbid
the namespaces bubblewrap needs), the learner process runs as `nobody` (`Unprivileged`), which cannot
change the graders, the package or the Python installation; its Keras cache is then the scratch folder's own.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import cnn_course
from cnn_course.runtime.privileges import hand_over, must_drop_privileges, nobody_can_run, unprivileged_command

START_TIMEOUT_S = 120.0
CELL_TIMEOUT_S = 120.0  # at least this for running a cell: setup cells import TensorFlow, slow on a busy laptop
GRACE_S = 5.0
DEFAULT_MEMORY_BYTES = 6 * 2**30
# Variables Windows programs need to start at all (Python's random, sockets and DLL search use them).
_WINDOWS_VARIABLES = (
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "NUMBER_OF_PROCESSORS",
    "PROCESSOR_ARCHITECTURE",
    "USERNAME",
)
# On a learner's own computer, what `keras.datasets` needs to download behind a proxy or a private CA.
_NETWORK_VARIABLES = tuple(
    name for base in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY") for name in (base, base.lower())
) + ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")

Launcher = Callable[[list[str], Path, dict[str, str]], list[str]]


def user_keras_home() -> Path:
    """The Keras cache folder Keras itself uses: $KERAS_HOME, else ``~/.keras`` in the user's profile."""
    configured = os.environ.get("KERAS_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".keras"


def learner_environment(
    scratch: Path,
    threads: int,
    *,
    sandboxed: bool = False,
    own_cache: bool = False,
) -> dict[str, str]:
    """The learner process's whole environment.

    Args:
        scratch: the folder that is the learner process's home; its ``tmp`` and ``.matplotlib``
            subfolders are its temporary and matplotlib folders.
        threads: the CPU threads TensorFlow and OpenMP may use.
        sandboxed: True inside the instructor's sandbox, where the Keras cache is the scratch
            folder's own; otherwise it is the user's (see `user_keras_home`).
        own_cache: the Keras cache is the scratch folder's own outside the sandbox too (a learner process
            that runs as another user, who cannot use this user's).
    """
    package_parent = str(Path(cnn_course.__file__).resolve().parent.parent)
    environment = {
        "PATH": os.defpath
        if os.name == "posix"
        else os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "HOME": str(scratch),
        "TMPDIR": str(scratch / "tmp"),
        "TEMP": str(scratch / "tmp"),
        "TMP": str(scratch / "tmp"),
        "KERAS_HOME": str(scratch / ".keras" if sandboxed or own_cache else user_keras_home()),
        "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",  # what lesson code prints arrives as UTF-8 on every system (not cp1252)
        "PYTHONUTF8": "1",
        "PYTHONPATH": package_parent,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MALLOC_ARENA_MAX": "2",
        "OMP_NUM_THREADS": str(threads),
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": "1",
    }
    if os.name == "nt":
        environment["USERPROFILE"] = str(scratch)
        environment.update({name: os.environ[name] for name in _WINDOWS_VARIABLES if name in os.environ})
    if not sandboxed:  # the sandbox has no network anyway
        environment.update({name: os.environ[name] for name in _NETWORK_VARIABLES if name in os.environ})
    if "CNN_COURSE_DATA" in os.environ:
        environment["CNN_COURSE_DATA"] = os.environ["CNN_COURSE_DATA"]
    return environment


def is_strict(launcher: Launcher | None) -> bool:
    """True when `launcher` runs learner processes in the instructor's sandbox (no network, its own Keras cache)."""
    return launcher is not None and not isinstance(launcher, (FolderGuard, Unprivileged))


class Unprivileged:
    """The launcher of a plain learner process where the grading process is root (Linux): it runs as `nobody`.

    The scratch root is handed to `nobody` first (see `cnn_course.runtime.privileges`); what the grading
    process puts there later is handed over before learner code runs again (`hand_over_again`).
    """

    def __call__(self, command: list[str], scratch: Path, env: dict[str, str]) -> list[str]:
        hand_over(scratch)
        return unprivileged_command(command)


def plain_launcher() -> Unprivileged | None:
    """How a learner process runs with no sandbox: as `nobody` where this process is root (`Unprivileged`),
    else directly (None)."""
    return Unprivileged() if must_drop_privileges() else None


def drops_privileges(launcher: Launcher | None) -> bool:
    """True when learner processes started through `launcher` run as `nobody` rather than as this process's user."""
    if isinstance(launcher, FolderGuard):
        return launcher.status()[0] != "bwrap" and launcher.as_nobody()
    return isinstance(launcher, Unprivileged)


class FolderGuard:
    """The launcher of a learner's own grading run: bubblewrap where it runs here, else the plain process
    (as `nobody` where this process is root, see `Unprivileged`).

    Inside, lesson code sees what the instructor's sandbox shows (a read-only system, the package, the
    datasets folder, its scratch folder, its own processes), plus the network and the learner's Keras
    cache: not the course folder, the folder graded, or the grading process and its command line.
    Whether bubblewrap runs is probed once, on first use (about 0.1 s).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: tuple[str, str] | None = None

    def status(self) -> tuple[str, str]:
        """("bwrap", what it hides) where the sandbox runs here, else ("none", why not) (see `sandbox_status`)."""
        with self._lock:
            if self._status is None:
                from cnn_course.runtime.sandbox import sandbox_status

                self._status = sandbox_status()
            return self._status

    def protection(self) -> str:
        """What keeps lesson code away from the learner's folder here, in one line."""
        mode, reason = self.status()
        if mode == "bwrap":
            return "bubblewrap sandbox: lesson code cannot see the folder graded or the rest of the course"
        if not must_drop_privileges():
            return f"none ({reason}): {_PUT_BACK}"
        if self.as_nobody():
            return f"none ({reason}): {_AS_NOBODY}{_PUT_BACK}"
        return f"none ({reason}): {_AS_ROOT}{_PUT_BACK}"

    def as_nobody(self) -> bool:
        """Whether, with no sandbox and as root, learner processes run as `nobody`: only where `nobody` can run this
        Python and import the course (a learner's own run as root with the course in /root runs as root)."""
        package_parent = str(Path(cnn_course.__file__).resolve().parent.parent)
        return must_drop_privileges() and nobody_can_run(sys.executable, package_parent)

    def __call__(self, command: list[str], scratch: Path, env: dict[str, str]) -> list[str]:
        if self.status()[0] != "bwrap":
            return Unprivileged()(command, scratch, env) if self.as_nobody() else command
        from cnn_course.runtime.sandbox import sandboxed_command

        keras_home = Path(env["KERAS_HOME"])
        cache = [keras_home] if keras_home.is_dir() else []
        if not cache:  # nowhere to keep downloads: the scratch folder's own cache, as in the instructor's sandbox
            env = {**env, "KERAS_HOME": str(scratch / ".keras")}
        package_dir = Path(cnn_course.__file__).resolve().parent
        return sandboxed_command(
            command,
            scratch=scratch,
            package_dir=package_dir,
            env=env,
            network=True,
            writable=cache,
        )


_AS_NOBODY = "lesson code runs as user nobody, not root, so it cannot change the graders, the package or Python; "
_AS_ROOT = (
    "lesson code runs as root: user nobody cannot read this Python or the course (inside /root?), move the course "
    "where every user can read it, or grade as another user; "
)
_PUT_BACK = "the folder graded is compared with its copy afterwards and put back"


def protection(launcher: Launcher | None) -> tuple[bool, str]:
    """Whether learner processes started through `launcher` are kept away from the folder graded, and how, in words."""
    if isinstance(launcher, FolderGuard):
        return launcher.status()[0] == "bwrap", launcher.protection()
    if isinstance(launcher, Unprivileged):
        return False, f"none (--learner-sandbox none): {_AS_NOBODY}{_PUT_BACK}"
    if launcher is not None:
        return True, "the instructor's bubblewrap sandbox: lesson code sees only its scratch copy"
    return False, f"none (--learner-sandbox none): {_PUT_BACK}"


def launcher_for(sandbox: str) -> Launcher | None:
    """The wrapper that runs a learner process's command: "bwrap", the instructor's sandbox; "auto", a `FolderGuard`
    (a learner's own run); "none", None (run it directly), or `Unprivileged` where this process is root."""
    if sandbox == "auto":
        return FolderGuard()
    if sandbox != "bwrap":
        return plain_launcher()
    from cnn_course.runtime.sandbox import sandboxed_command

    package_dir = Path(cnn_course.__file__).resolve().parent
    return lambda command, scratch, env: sandboxed_command(command, scratch=scratch, package_dir=package_dir, env=env)
