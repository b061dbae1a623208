"""Writing grades out: a CSV gradebook, a long-format CSV, JSON, and Gradescope's results.json per learner.

Everything is written from the grades folder's records, in a fixed order and without timings in
the gradebook, so that the same records always give byte-identical gradebooks (one run, a resumed
run, or shards merged). Names and messages are already printable (see `hygiene.printable`); files
are written as UTF-8 with any stray unencodable character escaped, never a crash.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cnn_course.authoring.course_config import number
from cnn_course.gradebook.records import Assignment, file_stem
from cnn_course.gradebook.results import SubmissionResult
from cnn_course.status import Status

GRADEBOOK, RESULTS_CSV, GRADES_JSON, GRADESCOPE_DIR = "gradebook.csv", "results.csv", "grades.json", "gradescope"


def _open(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "w", newline="", encoding="utf-8", errors="backslashreplace")


def write_gradebook(path: Path, assignment: Assignment, results: list[SubmissionResult]) -> None:
    """One row per learner: total, max total, each exercise's points and status, submission time, late flag, note."""
    names = assignment.names
    with _open(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(
            [
                "learner",
                "total",
                "max_total",
                *names,
                *(f"{name} status" for name in names),
                "submitted_at",
                "late",
                "note",
            ]
        )
        for result in results:
            writer.writerow(
                [result.learner, number(result.total), number(result.max_total)]
                + [number(e.points) for e in result.exercises]
                + [e.status + (" (override)" if e.override else "") for e in result.exercises]
                + [result.submitted_at or "", "late" if result.late else "", result.note]
            )


def write_results_csv(path: Path, results: list[SubmissionResult]) -> None:
    """One row per learner and exercise: lesson, exercise, points, max points, status and feedback message."""
    with _open(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["learner", "lesson", "exercise", "points", "max_points", "status", "message", "override"])
        for result in results:
            for e in result.exercises:
                writer.writerow(
                    [
                        result.learner,
                        e.lesson,
                        e.exercise,
                        number(e.points),
                        number(e.max_points),
                        e.status,
                        e.message,
                        e.override,
                    ]
                )


def grades_document(assignment: Assignment, results: list[SubmissionResult], graded_at: datetime) -> dict[str, Any]:
    """Return everything the batch found, as the JSON export holds it."""
    return {
        "graded_at": graded_at.isoformat(timespec="seconds"),
        "configuration": assignment.configuration,
        "limits": {
            "submission_seconds": assignment.submission_seconds,
            "memory_gib": assignment.memory_gib,
            "exercise_seconds": assignment.exercise_seconds,
        },
        "exercises": [
            {"lesson": lesson, "exercise": name, "max_points": number(points)}
            for lesson, name, points in assignment.exercises
        ],
        "submissions": [
            {
                "learner": r.learner,
                "source": r.source,
                "total": number(r.total),
                "max_total": number(r.max_total),
                "seconds": round(r.seconds, 1),
                "run": r.run,
                "note": r.note,
                "submitted_at": r.submitted_at,
                "late": r.late,
                "exercises": [
                    {
                        "lesson": e.lesson,
                        "exercise": e.exercise,
                        "points": number(e.points),
                        "max_points": number(e.max_points),
                        "status": e.status,
                        "message": e.message,
                        "override": e.override,
                    }
                    for e in r.exercises
                ],
            }
            for r in results
        ],
    }


_SHOWN = {
    "after_published": "once the grades are published",
    "after_due_date": "after the due date",
    "hidden": "by your instructor",
}


def _gradescope_test(
    name: str, index: int, score: float, max_score: float, passed: bool, output: str, visibility: str
) -> dict[str, Any]:
    return {
        "name": name,
        "number": str(index),
        "score": number(score),
        "max_score": number(max_score),
        "status": "passed" if passed else "failed",
        "output": output,
        "visibility": visibility,
    }


def gradescope_results(result: SubmissionResult, hidden_visibility: str = "after_published") -> dict[str, Any]:
    """Return one submission as Gradescope's autograder results.json (see templates/gradescope/results.schema.json).

    An exercise that no hidden test graded is one visible test holding its points. An exercise with hidden
    tests is two: its public tests' verdict, visible and worth 0, and the whole exercise with its points and
    every message, shown to the learner as `hidden_visibility` says ("after_published", "hidden",
    "after_due_date" or "visible"). While any test is not visible, the top level gives no score of its own
    (Gradescope adds up the tests under its own visibility rules) and its output names no total.
    """
    tests: list[dict[str, Any]] = []
    for e in result.exercises:
        name, passed = f"{e.lesson} · {e.exercise}", e.status == Status.PASSED
        full = "\n".join(filter(None, [e.status, e.override, e.message]))
        if e.hidden is None:
            tests.append(_gradescope_test(name, len(tests) + 1, e.points, e.max_points, passed, full, "visible"))
            continue
        hidden_lines = set(e.hidden.splitlines())
        public = "\n".join(line for line in e.message.splitlines() if line not in hidden_lines)
        public_passed = passed or not public
        public_output = "\n".join(filter(None, ["passed" if public_passed else e.status, public]))
        tests.append(
            _gradescope_test(f"{name} · public tests", len(tests) + 1, 0, 0, public_passed, public_output, "visible")
        )
        tests.append(_gradescope_test(name, len(tests) + 1, e.points, e.max_points, passed, full, hidden_visibility))
    shown = all(test["visibility"] == "visible" for test in tests)
    summary = (
        f"{number(result.total)} of {number(result.max_total)} points"
        if shown
        else (
            f"{len(result.exercises)} exercises graded; the points of those with hidden tests are "
            f"shown {_SHOWN[hidden_visibility]}"
        )
    )
    document: dict[str, Any] = {"score": number(result.total)} if shown else {}
    document |= {
        "execution_time": round(result.seconds),
        "output": "; ".join(filter(None, [summary, result.note, "late" if result.late else ""])) + ".",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    return document


def _write_json(path: Path, document: dict[str, Any]) -> None:
    with _open(path) as handle:
        handle.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def write_exports(
    folder: Path, assignment: Assignment, results: list[SubmissionResult], graded_at: datetime
) -> list[Path]:
    """Write the gradebook, results.csv, grades.json and gradescope/LEARNER/results.json; return their paths."""
    written = [folder / GRADEBOOK, folder / RESULTS_CSV, folder / GRADES_JSON]
    write_gradebook(written[0], assignment, results)
    write_results_csv(written[1], results)
    _write_json(written[2], grades_document(assignment, results, graded_at))
    for result in results:
        path = folder / GRADESCOPE_DIR / file_stem(result.learner) / "results.json"
        _write_json(path, gradescope_results(result))
        written.append(path)
    return written
