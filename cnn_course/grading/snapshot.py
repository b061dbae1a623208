"""The folder graded as it was before any lesson code ran: the copy the graders read, and what grading changed.

Before the first learner process of a session starts, `FolderSnapshot` reads the folder graded into
the grading process's memory and writes it out to a private temporary folder, the copy the graders
read (lessons, saved models, histories). Where no sandbox hides it, lesson code running as the
learner can reach that copy too, so the copy is checked against what is held in memory before each
read and rewritten where it differs: nothing written during grading is graded. At the end of the
session `compare` sets the folder against the record: what was deleted or changed is put back, byte
for byte and with its modification time, the version found is kept in a backup folder, and what was
added is named (and left in place).

Lesson files and `models/` are always held; the rest of the folder (a learner's own photos, say) up to
`COPY_LIMIT_BYTES` and `COPY_LIMIT_FILES`, and beyond that recorded by size and time only: such a
file, if changed, is named but cannot be put back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cnn_course.runtime.fs import remove_tree

COPY_LIMIT_BYTES = 128 * 2**20
COPY_LIMIT_FILES = 2000
SKIPPED_FOLDERS = frozenset({"__pycache__", ".pytest_cache"})  # what Python and pytest write themselves
GRADED_FOLDER = "models"  # saved models and histories, always held like the lesson files at the top


@dataclass(frozen=True)
class _Record:
    size: int
    mtime_ns: int
    mode: int
    content: bytes | None  # None: over the limits; compared by size and time only


@dataclass
class FolderChanges:
    """What happened to the folder graded during a session (paths relative to it, POSIX style).

    restored: deleted or changed files put back, each with "(deleted)" or "(changed)";
    kept: the folder holding the versions found before they were put back (None when none was);
    left: deleted or changed files that were not put back, each with why;
    added: files that were not there before grading, left in place.
    """

    restored: list[str] = field(default_factory=list)
    kept: Path | None = None
    left: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.restored or self.left or self.added)


def backup_root() -> Path:
    """Where the versions found in a folder are kept before it is put back: ~/.cnn-course/changed-during-grading."""
    return Path.home() / ".cnn-course" / "changed-during-grading"


def _files(folder: Path) -> dict[str, Path]:
    """Regular files below `folder` (no links; nothing in SKIPPED_FOLDERS), by their POSIX path relative to it."""
    found = {}
    for top, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS)
        for name in names:
            path = Path(top, name)
            if path.is_file() and not path.is_symlink():
                found[path.relative_to(folder).as_posix()] = path
    return found


def _always_held(relative: str) -> bool:
    return "/" not in relative or relative.startswith(f"{GRADED_FOLDER}/")


def _matches(record: _Record, path: Path) -> bool:
    """True when the file at `path` is what `record` describes (by content where it is held)."""
    try:
        status = path.lstat()
        if not stat.S_ISREG(status.st_mode) or status.st_size != record.size:
            return False
        if record.content is None:
            return status.st_mtime_ns == record.mtime_ns
        return path.read_bytes() == record.content
    except OSError:
        return False


def _write(path: Path, record: _Record) -> None:
    """Write the file `record` holds at `path`, with its mode and modification time (whatever is there is replaced)."""
    if path.is_dir() and not path.is_symlink():
        remove_tree(path)
    elif os.path.lexists(path):
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(record.content)
    os.chmod(path, record.mode)
    os.utime(path, ns=(record.mtime_ns, record.mtime_ns))


class FolderSnapshot:
    """A record of `folder` and a private copy of it, taken when the object is made (see the module's docstring).

    Args:
        folder: the folder graded.
        temporary_root: where the copy is made; never a folder learner processes are given.

    Raises:
        OSError: the copy cannot be made (no room in the temporary folder).
    """

    def __init__(self, folder: Path, temporary_root: Path) -> None:
        self.folder = Path(folder)
        self.copy = Path(tempfile.mkdtemp(prefix="cnn-course-graded-", dir=temporary_root))
        self._records: dict[str, _Record] = {}
        self.take()

    def take(self) -> None:
        """Record the folder as it is now and bring the copy up to date (after `--execute-lessons` ran a lesson in it).

        Files recorded unchanged keep their copy, so that a learner process copying from it meanwhile finds them.
        """
        now = _files(self.folder)
        for relative in set(self._records) - set(now):
            self._records.pop(relative)
            with contextlib.suppress(OSError):
                (self.copy / relative).unlink()
        held = {name: record for name, record in self._records.items() if name in now and record.content is not None}
        held_bytes = sum(record.size for record in held.values())
        for relative, path in sorted(now.items(), key=lambda item: (not _always_held(item[0]), item[0])):
            known = self._records.get(relative)
            if known is not None and _matches(known, path):
                continue
            try:
                status = path.stat()
                fits = held_bytes + status.st_size <= COPY_LIMIT_BYTES and len(held) < COPY_LIMIT_FILES
                content = path.read_bytes() if _always_held(relative) or fits else None
            except OSError:  # gone or unreadable: nothing the graders could read either
                continue
            record = _Record(status.st_size, status.st_mtime_ns, stat.S_IMODE(status.st_mode), content)
            self._records[relative] = record
            if content is not None:
                held[relative] = record
                held_bytes += record.size
                _write(self.copy / relative, record)

    def path(self, relative: str) -> Path:
        """The grader's copy of `relative` (e.g. "models/mnist_cnn.keras") as it was before grading.

        The copy is written again from the record where it differs; a file that was not there before
        grading gets a path where nothing is; a file recorded but not held (over the limits, never a
        lesson or a saved model) is read from the folder itself.
        """
        record, copy = self._records.get(relative), self.copy / relative
        if record is None:
            if copy.is_dir() and not copy.is_symlink():
                remove_tree(copy)
            elif os.path.lexists(copy):
                copy.unlink()
            return copy
        if record.content is None:
            return self.folder / relative
        if not _matches(record, copy):
            _write(copy, record)
        return copy

    def repair(self, prefix: str) -> None:
        """Make the files at the top of the copy whose name starts with `prefix` (any letter case) as recorded."""
        folded = prefix.casefold()
        names = {name for name in self._records if "/" not in name and name.casefold().startswith(folded)}
        with contextlib.suppress(OSError):
            names |= {entry.name for entry in self.copy.iterdir() if entry.name.casefold().startswith(folded)}
        for name in names:
            self.path(name)

    def compare(self, *, restore: bool) -> FolderChanges:
        """Set the folder against the record, and with `restore` put back what was deleted or changed.

        The version found in place of a file put back is moved first to a new folder under `backup_root()`
        (named in `FolderChanges.kept`). Never raises: a file that cannot be put back is listed in `left`.
        """
        changes = FolderChanges()
        now = _files(self.folder)
        for relative, record in sorted(self._records.items()):
            target = self.folder / relative
            if relative in now and _matches(record, target):
                continue
            state = "changed" if os.path.lexists(target) else "deleted"
            if not restore:
                changes.left.append(f"{relative} ({state})")
                continue
            if record.content is None:
                changes.left.append(f"{relative} ({state}; too large a folder to keep a copy of this file)")
                continue
            try:
                if state == "changed":
                    changes.kept = changes.kept or backup_root() / datetime.now().strftime("%Y%m%d-%H%M%S-%f")
                    (changes.kept / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(target, changes.kept / relative)
                _write(target, record)
            except OSError as error:
                changes.left.append(f"{relative} ({state}; could not be put back: {error.strerror or error})")
                continue
            changes.restored.append(f"{relative} ({state})")
        changes.added = sorted(set(now) - set(self._records))
        return changes

    def close(self) -> None:
        """Remove the copy."""
        remove_tree(self.copy)
