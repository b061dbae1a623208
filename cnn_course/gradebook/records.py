"""A grades folder's durable state: the assignment it grades, and one record per graded submission.

Each submission's result is written to `records/LEARNER.json` the moment it is graded (written to a
temporary file, flushed to disk, then renamed), so killing the batch loses at most the submissions
in flight; `--resume` grades only those without a record, and every export is written from the
records, so one learner can be regraded into an existing folder and shards can be merged.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cnn_course.gradebook.results import SubmissionResult

RECORDS_DIR, ASSIGNMENT_FILE = "records", "assignment.json"
_MAX_STEM_BYTES = 200


class RecordsError(Exception):
    """A grades folder cannot be resumed or merged as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Assignment:
    """What a grades folder grades: exercises in course order, as (lesson, exercise, points), and the limits."""

    exercises: tuple[tuple[str, str, float], ...]
    configuration: str
    submission_seconds: float
    memory_gib: float
    exercise_seconds: float | None

    @property
    def names(self) -> list[str]:
        """The assigned exercises' names, in course order."""
        return [name for _, name, _ in self.exercises]

    @property
    def max_total(self) -> float:
        """Points available over every assigned exercise."""
        return sum(points for _, _, points in self.exercises)

    def to_dict(self) -> dict[str, Any]:
        """The assignment as plain JSON values."""
        return {**asdict(self), "exercises": [list(e) for e in self.exercises]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Assignment:
        """Rebuild an assignment from `to_dict`'s output."""
        return cls(
            **{
                **data,
                "exercises": tuple(
                    (str(lesson), str(name), float(points)) for lesson, name, points in data["exercises"]
                ),
            }
        )


def file_stem(learner: str) -> str:
    """Return the file name (without suffix) used for a learner's record, log and feedback.

    `learner` is already printable (see `submissions.printable_name`); a very long one is shortened and
    given a hash so that it stays unique and within file-system limits.
    """
    stem = learner if not learner.startswith(".") else "_" + learner
    if len(stem.encode("utf-8")) <= _MAX_STEM_BYTES:
        return stem
    digest = hashlib.sha256(learner.encode("utf-8")).hexdigest()[:12]
    return stem.encode("utf-8")[: _MAX_STEM_BYTES - 13].decode("utf-8", "ignore") + "-" + digest


def write_durably(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically and durably: a crash leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def write_record(folder: Path, result: SubmissionResult) -> Path:
    """Write one submission's result durably to folder/records/; return the record's path."""
    path = folder / RECORDS_DIR / f"{file_stem(result.learner)}.json"
    write_durably(path, json.dumps(result.to_dict(), indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def read_records(folder: Path) -> dict[str, SubmissionResult]:
    """Return every complete record in folder/records/, by learner (temporary files of a killed run are skipped)."""
    records: dict[str, SubmissionResult] = {}
    for path in sorted((folder / RECORDS_DIR).glob("*.json")):
        try:
            result = SubmissionResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise RecordsError(
                f"{path} is not a grading record ({type(error).__name__}); delete it to grade that learner again."
            ) from None
        records[result.learner] = result
    return records


def write_assignment(folder: Path, assignment: Assignment) -> None:
    """Record what this grades folder grades."""
    write_durably(folder / ASSIGNMENT_FILE, json.dumps(assignment.to_dict(), indent=1, sort_keys=True) + "\n")


def read_assignment(folder: Path) -> Assignment | None:
    """Return the assignment a grades folder was graded against, None if it holds none."""
    path = folder / ASSIGNMENT_FILE
    if not path.is_file():
        return None
    try:
        return Assignment.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as error:
        raise RecordsError(f"{path} is not a grades folder's assignment ({type(error).__name__}).") from None
