"""Submissions as the batch grader receives them: a folder, or a zip of one, holding a learner's lessons.

A zip is extracted into a temporary folder only after every entry is checked: no absolute paths,
no `..`, no links, a bounded number of files and bytes. The lessons may sit at the top of the
submission, in a `lessons/` folder, or either of those inside one wrapping folder.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cnn_course.notebooks import lesson_stems

MAX_ZIP_BYTES = 2 * 2**30
MAX_ZIP_ENTRIES = 10_000
_IGNORED_PREFIXES = ("__MACOSX/",)


class SubmissionError(Exception):
    """A submission cannot be graded as given (missing, not a zip, unsafe, no lessons); says why."""


@dataclass(frozen=True)
class Submission:
    """One learner's submission: their name (from the file or folder name) and where it is."""

    learner: str
    path: Path


def learner_name(path: Path) -> str:
    """Return the learner's name for a submission path: the folder's name, or the zip's without .zip."""
    return path.name[: -len(".zip")] if path.name.lower().endswith(".zip") else path.name


def find_submissions(paths: list[Path]) -> list[Submission]:
    """Check every path is a folder or a zip file and names a distinct learner; raise SubmissionError if not."""
    submissions: list[Submission] = []
    seen: dict[str, Path] = {}
    for path in paths:
        if not path.exists():
            raise SubmissionError(f"{path}: no such file or folder.")
        if path.is_file() and not zipfile.is_zipfile(path):
            raise SubmissionError(f"{path}: not a zip file. A submission is a folder of lessons, or a .zip of one.")
        if not (path.is_file() or path.is_dir()):
            raise SubmissionError(f"{path}: neither a folder nor a zip file.")
        learner = learner_name(path.resolve())
        if learner in seen:
            raise SubmissionError(f"{seen[learner]} and {path} would both be graded as '{learner}'; rename one of them.")
        seen[learner] = path
        submissions.append(Submission(learner, path.resolve()))
    return submissions


def _safe_member(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """Return the member's relative path, None for entries to skip; raise SubmissionError for unsafe ones."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith(_IGNORED_PREFIXES) or not path.parts:
        return None
    if path.is_absolute() or ":" in path.parts[0] or ".." in path.parts:
        raise SubmissionError(f"the zip holds an entry outside its own folder ({info.filename}); it was not extracted.")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise SubmissionError(f"the zip holds a symbolic link ({info.filename}); it was not extracted.")
    return path


def extract_zip(archive: Path, destination: Path, max_bytes: int = MAX_ZIP_BYTES) -> None:
    """Extract `archive` into `destination` after checking every entry; raise SubmissionError if unsafe or too big."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_ZIP_ENTRIES:
                raise SubmissionError(f"the zip holds {len(members):,} entries; at most {MAX_ZIP_ENTRIES:,} are accepted.")
            plan = [(info, path) for info in members if (path := _safe_member(info)) is not None]
            total = sum(info.file_size for info, _ in plan)  # zipfile never writes past an entry's declared size
            if total > max_bytes:
                raise SubmissionError(f"the zip expands to {total / 2**20:,.0f} MiB; at most {max_bytes / 2**20:,.0f} MiB are accepted.")
            for info, path in plan:
                target = destination.joinpath(*path.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(info) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise SubmissionError(f"the zip cannot be read ({type(error).__name__}: {error}).") from error


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
