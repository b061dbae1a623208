"""How the grading process starts a learner process: its environment, limits and sandbox wrapper.

The learner process gets a whole environment of its own: nothing of the grader's but the package's
location, the datasets folder and, on a learner's own computer, the Keras cache in the user's
profile (so that `keras.datasets` files downloaded once are not downloaded again in every grading
run). Inside the instructor's sandbox the Keras cache is the scratch folder's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import cnn_course

START_TIMEOUT_S = 120.0
CELL_TIMEOUT_S = 120.0  # at least this for running a cell: setup cells import TensorFlow, slow on a busy laptop
GRACE_S = 5.0
DEFAULT_MEMORY_BYTES = 6 * 2**30
# Variables Windows programs need to start at all (Python's random, sockets and DLL search use them).
_WINDOWS_VARIABLES = (
    "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "NUMBER_OF_PROCESSORS", "PROCESSOR_ARCHITECTURE", "USERNAME",
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


def learner_environment(scratch: Path, threads: int, *, sandboxed: bool = False) -> dict[str, str]:
    """The learner process's whole environment.

    Args:
        scratch: the folder that is the learner process's home; its ``tmp`` and ``.matplotlib``
            subfolders are its temporary and matplotlib folders.
        threads: the CPU threads TensorFlow and OpenMP may use.
        sandboxed: True inside the instructor's sandbox, where the Keras cache is the scratch
            folder's own; otherwise it is the user's (see `user_keras_home`).
    """
    package_parent = str(Path(cnn_course.__file__).resolve().parent.parent)
    environment = {
        "PATH": os.defpath if os.name == "posix" else os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "HOME": str(scratch),
        "TMPDIR": str(scratch / "tmp"),
        "TEMP": str(scratch / "tmp"),
        "TMP": str(scratch / "tmp"),
        "KERAS_HOME": str(scratch / ".keras" if sandboxed else user_keras_home()),
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


def launcher_for(sandbox: str) -> Launcher | None:
    """The wrapper that runs a learner process's command in the sandbox ("bwrap"), or None ("none": run it directly)."""
    if sandbox != "bwrap":
        return None
    from cnn_course.runtime.sandbox import sandboxed_command

    package_dir = Path(cnn_course.__file__).resolve().parent
    return lambda command, scratch, env: sandboxed_command(command, scratch=scratch, package_dir=package_dir, env=env)
