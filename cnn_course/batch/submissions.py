"""Submissions as the batch grader receives them: a folder, or a zip of one, holding a learner's lessons.

A submission is data, never instructions: it is copied (a folder) or extracted (a zip) into the
grader's scratch folder, and graded there, only after every entry is checked: no absolute paths,
no `..`, a bounded number of files and bytes, and for a zip a bounded compression ratio, all before
anything is written. A symbolic link (a folder's or a zip's) is never followed nor copied: it is
left out, named in the return value so the feedback can say so, and the rest is graded. The lessons
may sit at the top of the submission, in a `lessons/` folder, or either of those inside one
wrapping folder. Learners are named after the file or folder, escaped so that any byte sequence
can be written to every export.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from cnn_course.authoring.notebooks import lesson_stems
from cnn_course.gradebook.hygiene import printable

MAX_SUBMISSION_BYTES = 512 * 2**20
MAX_ZIP_BYTES = MAX_SUBMISSION_BYTES
MAX_ZIP_ENTRIES = 10_000
MAX_COMPRESSION_RATIO = 200  # zeros compress ~1000:1; notebooks, models and images far less
_RATIO_FROM_BYTES = 2**20  # small entries may compress as well as they like
_IGNORED_PREFIXES = ("__MACOSX/",)
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class SubmissionError(Exception):
    """A submission cannot be graded as given (missing, not a zip, unsafe, no lessons); says why."""


@dataclass(frozen=True)
class Submission:
    """One learner's submission: their name (from the file or folder name) and where it is."""

    learner: str
    path: Path

    @property
    def source(self) -> str:
        """Where the submission is, as text any export can hold."""
        return printable(str(self.path))


def learner_name(path: Path) -> str:
    """Return the learner's name for a submission path: the folder's name, or the zip's without .zip.

    Bytes that are not UTF-8 appear as \\xNN and control characters escaped, so the name can be
    written to any CSV, JSON, Markdown or HTML file.
    """
    name = path.name[: -len(".zip")] if path.name.lower().endswith(".zip") else path.name
    return printable(name).replace("\n", "\\n").replace("\t", "\\t")


def find_submissions(paths: list[Path]) -> list[Submission]:
    """Check every path is a folder or a zip file and names a distinct learner; raise SubmissionError if not."""
    submissions: list[Submission] = []
    seen: dict[str, Path] = {}
    for path in paths:
        if not path.exists():
            raise SubmissionError(f"{printable(str(path))}: no such file or folder.")
        if path.is_symlink():
            raise SubmissionError(
                f"{printable(str(path))}: a symbolic link; name the submission itself, not a link to it."
            )
        if path.is_file() and not zipfile.is_zipfile(path):
            raise SubmissionError(
                f"{printable(str(path))}: not a zip file. A submission is a folder of lessons, or a .zip of one."
            )
        if not (path.is_file() or path.is_dir()):
            raise SubmissionError(f"{printable(str(path))}: neither a folder nor a zip file.")
        learner = learner_name(path.resolve())
        if learner in seen:
            raise SubmissionError(
                f"{printable(str(seen[learner]))} and {printable(str(path))} would both be graded as '{learner}'; "
                "rename one of them."
            )
        seen[learner] = path
        submissions.append(Submission(learner, path.resolve()))
    return submissions


def _safe_member(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """Return the member's relative path, None for entries to skip; raise SubmissionError for unsafe ones.

    A symbolic link's path is returned too: `extract_zip` leaves it out and reports it."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith(_IGNORED_PREFIXES) or not path.parts:
        return None
    if path.is_absolute() or ":" in path.parts[0] or ".." in path.parts:
        raise SubmissionError(f"the zip holds an entry outside its own folder ({info.filename}); it was not extracted.")
    return path


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def extract_zip(archive: Path, destination: Path, max_bytes: int = MAX_ZIP_BYTES) -> list[str]:
    """Extract `archive` into `destination` after checking every entry; return the symbolic links left out.

    Returns:
        The paths (relative, with '/') of the entries that are symbolic links: none is written.

    Raises:
        SubmissionError: an entry outside the archive's folder, too many entries or bytes, or an entry
            compressed more than MAX_COMPRESSION_RATIO times; nothing is written then.
    """
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_ZIP_ENTRIES:
                raise SubmissionError(
                    f"the zip holds {len(members):,} entries; at most {MAX_ZIP_ENTRIES:,} are accepted."
                )
            entries = [(info, path) for info in members if (path := _safe_member(info)) is not None]
            links = [path.as_posix() for info, path in entries if _is_link(info)]
            plan = [(info, path) for info, path in entries if not _is_link(info)]
            total = sum(info.file_size for info, _ in plan)  # zipfile never writes past an entry's declared size
            if total > max_bytes:
                raise SubmissionError(
                    f"the zip expands to {total / 2**20:,.0f} MiB; at most {max_bytes / 2**20:,.0f} MiB are accepted."
                )
            for info, _ in plan:
                if info.file_size > _RATIO_FROM_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
                    info.compress_size, 1
                ):
                    raise SubmissionError(
                        f"the zip entry {printable(info.filename)} expands "
                        f"{info.file_size / max(info.compress_size, 1):,.0f} times "
                        f"(to {info.file_size / 2**20:,.0f} MiB); at most {MAX_COMPRESSION_RATIO} times is accepted. "
                        "Zip the lessons and models themselves."
                    )
            written = 0
            for info, path in plan:
                target = destination.joinpath(*path.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(info) as source, open(target, "wb") as sink:
                    while chunk := source.read(2**20):
                        written += len(chunk)
                        if written > max_bytes:
                            raise SubmissionError(
                                f"the zip expands to more than {max_bytes / 2**20:,.0f} MiB; it was not graded."
                            )
                        sink.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise SubmissionError(f"the zip cannot be read ({type(error).__name__}: {printable(str(error))}).") from error
    return links


def copy_folder(source: Path, destination: Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> list[str]:
    """Copy a folder submission into `destination` after checking it; return the symbolic links left out.

    Returns:
        The paths (relative to `source`, with '/') of its symbolic links: none is followed or copied.

    Raises:
        SubmissionError: the folder holds a device, socket or pipe, more than MAX_ZIP_ENTRIES entries
            or more than `max_bytes` bytes; nothing is copied then.
    """
    entries: list[tuple[Path, os.stat_result]] = []
    links: list[str] = []
    total = 0
    for folder, folders, files in os.walk(source, followlinks=False):
        for name in sorted(folders) + sorted(files):
            path = Path(folder, name)
            info = path.lstat()
            relative = printable(str(path.relative_to(source)))
            if stat.S_ISLNK(info.st_mode):  # os.walk does not descend into a link to a folder either
                links.append(path.relative_to(source).as_posix())
                continue
            if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
                raise SubmissionError(
                    f"the folder holds {relative}, which is neither a file nor a folder; it was not graded."
                )
            entries.append((path, info))
            total += info.st_size if stat.S_ISREG(info.st_mode) else 0
            if len(entries) > MAX_ZIP_ENTRIES or total > max_bytes:
                raise SubmissionError(
                    f"the folder holds more than {MAX_ZIP_ENTRIES:,} entries or {max_bytes / 2**20:,.0f} MiB; "
                    "submit the lessons and models only."
                )
    destination.mkdir(parents=True, exist_ok=True)
    for path, info in entries:
        target = destination / path.relative_to(source)
        if stat.S_ISDIR(info.st_mode):
            target.mkdir(exist_ok=True)
        else:
            # O_NOFOLLOW: a file swapped for a link after the check above is refused, not followed.
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(descriptor, "rb") as reader, open(target, "wb") as sink:
                shutil.copyfileobj(reader, sink)
            os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    return links


def link_note(name: str) -> str:
    """What the feedback says of a symbolic link `name` (a path in the submission) that the grader left out."""
    return (
        f"{printable(name)} is a symbolic link; the grader ignored it: "
        "hand in the file itself (a copy in place of the link)."
    )


def submitted_at(path: Path) -> str:
    """When a submission was handed in, as far as the files tell: a zip's modification time, else its newest file's."""
    times = [path.stat().st_mtime]
    if path.is_dir():
        times += [Path(folder, name).lstat().st_mtime for folder, _, files in os.walk(path) for name in files]
    return datetime.fromtimestamp(max(times)).isoformat(timespec="seconds")


def model_file_problem(path: Path) -> str | None:
    """Say what is wrong with a saved-model file (`*.keras`), or None if it is what it claims: a .keras zip."""
    if not path.is_file():
        return None
    with open(path, "rb") as handle:
        head = handle.read(8)
    if zipfile.is_zipfile(path):
        return None
    name = f"models/{printable(path.name)}"
    if head == _HDF5_SIGNATURE:
        return (
            f"{name} is an HDF5 file (the legacy .h5 format) named .keras. Save it again with "
            f"model.save('{name}'): Keras 3 writes the .keras format for that name."
        )
    if not head:
        return f"{name} is empty: training or saving stopped before it finished. Run the lesson's last cells again."
    return (
        f"{name} is not a Keras model file (a .keras file is a zip archive; this one starts with {head[:4]!r}). "
        f"Save the trained model with model.save('{name}') and submit that file."
    )


def lessons_folder(root: Path) -> Path:
    """Return the folder of lesson notebooks in a submission: root, root/lessons, or the same one level down."""
    candidates = [root, root / "lessons"]
    children = [child for child in root.iterdir() if child.is_dir() and not child.name.startswith((".", "__"))]
    if len(children) == 1:
        candidates += [children[0], children[0] / "lessons"]
    for folder in candidates:
        if folder.is_dir() and lesson_stems(folder):
            return folder
    raise SubmissionError(
        "no lesson notebooks (NN_topic.ipynb or .py) were found at its top level or in a lessons/ folder."
    )
