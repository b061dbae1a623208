"""Scratch folders of learner processes: copy a lesson folder in, remove what learner code left.

Removal never fails: a file another process still holds open (Windows refuses to delete those) or a
folder learner code made read-only is retried once writable, and whatever still cannot go is left
for the system's temporary-file clean-up rather than stopping the grading.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

COPY_LIMIT_BYTES = 20 * 2**20
SCRATCH_FOLDERS = ("tmp", ".keras", ".matplotlib")


def copy_lesson_folder(source: Path, destination: Path) -> None:
    """Copy the regular files at the top of `source` (no links, nothing over 20 MiB) into `destination`."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= COPY_LIMIT_BYTES:
                shutil.copyfile(path, destination / path.name)
        except OSError:
            continue


def remove_tree(path: Path, attempts: int = 3) -> bool:
    """Remove `path` and everything in it; True when it is gone.

    Folders learner code locked are made writable first. A file that cannot be removed yet (on
    Windows: still open in a process that is ending) is retried `attempts` times, 0.2 s apart;
    the call never raises.
    """

    def writable_then_retry(function: Callable[[str], Any], name: str, _: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            os.chmod(name, stat.S_IRWXU)
            function(name)

    for attempt in range(attempts):
        with contextlib.suppress(OSError):
            if sys.version_info >= (3, 12):
                shutil.rmtree(path, onexc=writable_then_retry)
            else:
                shutil.rmtree(path, onerror=writable_then_retry)
        if not os.path.lexists(path):
            return True
        if attempt + 1 < attempts:
            time.sleep(0.2)
    return False


def prepare_scratch_root(root: Path) -> None:
    """Empty a scratch root (or create it) and make the folders learner processes use: tmp, .keras, .matplotlib."""
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(root, stat.S_IRWXU)
    for entry in list(root.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            remove_tree(entry)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
    for name in SCRATCH_FOLDERS:
        (root / name).mkdir(exist_ok=True)
