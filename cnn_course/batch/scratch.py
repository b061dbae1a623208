"""Scratch folders of a batch: locked while it runs, removed at its end or when the next batch starts."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnn_course.runtime.fs import remove_tree

SCRATCH_PARENT = "cnn-course-grading"
_LOCK = ".lock"


@contextmanager
def batch_scratch(parent: Path | None = None) -> Iterator[Path]:
    """A scratch folder for one batch, locked while it runs.

    Left-overs of batches that were killed are removed first.
    """
    base = (parent or Path(tempfile.gettempdir())) / SCRATCH_PARENT
    base.mkdir(parents=True, exist_ok=True)
    for old in base.iterdir():
        if not old.is_dir():
            continue
        with contextlib.suppress(OSError), open(old / _LOCK, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno in (errno.EAGAIN, errno.EACCES):
                    continue  # a batch running now holds it
                raise
            remove_tree(old)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=base))
    with open(folder / _LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            remove_tree(folder)
