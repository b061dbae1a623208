"""Statuses have one spelling, `cnn_course.status.Status`, from the learner process's reply to the instructor's JSON."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import cnn_course
from cnn_course.gradebook.results import ExerciseResult, SubmissionResult
from cnn_course.status import Status, worst

PACKAGE = Path(cnn_course.__file__).resolve().parent
SPELLINGS = {"not_attempted", "not-attempted", "notattempted", "not_submitted"}


def test_worst_ranks_from_passed_to_not_submitted():
    assert worst([]) is Status.PASSED
    assert worst([Status.PASSED, Status.NOT_ATTEMPTED]) is Status.NOT_ATTEMPTED
    assert worst(["failed", "timeout", "error"]) is Status.TIMEOUT
    assert worst([Status.NOT_SUBMITTED, Status.PASSED]) is Status.NOT_SUBMITTED


@pytest.mark.parametrize("spelling", ["not attempted", "not_attempted", "Not Attempted"])
def test_other_spellings_read_as_the_one_status(spelling):
    assert Status(spelling) is Status.NOT_ATTEMPTED


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        Status("half passed")


def test_an_old_grades_record_reads_unchanged_and_writes_the_same_json():
    old = {
        "learner": "alice",
        "source": "alice.zip",
        "seconds": 12.5,
        "run": "completed",
        "note": "",
        "submitted_at": None,
        "late": False,
        "exercises": [
            {
                "lesson": "01",
                "exercise": "scale_images",
                "points": 1.0,
                "max_points": 1.0,
                "status": "passed",
                "message": "",
            },
            {
                "lesson": "01",
                "exercise": "one_hot",
                "points": 0.0,
                "max_points": 1.0,
                "status": "not attempted",
                "message": "one_hot: not attempted yet",
                "override": "",
            },
        ],
    }
    result = SubmissionResult.from_dict(old)
    assert [e.status for e in result.exercises] == [Status.PASSED, Status.NOT_ATTEMPTED]
    assert result.count(Status.NOT_ATTEMPTED) == 1
    written = json.loads(json.dumps(result.to_dict()))
    assert [e["status"] for e in written["exercises"]] == ["passed", "not attempted"]


def test_a_record_with_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        SubmissionResult.from_dict(
            {
                "learner": "a",
                "source": "a",
                "exercises": [{"lesson": "01", "exercise": "x", "points": 0.0, "max_points": 1.0, "status": "maybe"}],
            }
        )


def _status_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals compared with, or assigned to, something called `status` or `outcome` (pytest's own
    `report.outcome`, with its "passed"/"failed"/"skipped", is pytest's vocabulary and is left alone)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = [ast.unparse(part) for part in (node.left, *node.comparators)]
            if any(name.endswith(("status", "outcome")) and name != "report.outcome" for name in names):
                for part in (node.left, *node.comparators):
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        found.append((node.lineno, part.value))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "status" and isinstance(value, ast.Constant):
                    found.append((node.lineno, value.value))
    return found


def test_the_package_names_statuses_only_through_the_enum():
    misspelt, bare = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "status.py":
            continue
        source = path.read_text(encoding="utf-8")
        misspelt += [f"{path.name}: {word}" for word in SPELLINGS if f'"{word}"' in source or f"'{word}'" in source]
        bare += [
            f"{path.relative_to(PACKAGE)}:{line}: {value!r}"
            for line, value in _status_literals(ast.parse(source))
            if value in {status.value for status in Status}
        ]
    assert not misspelt, misspelt
    assert not bare, "compare with Status members, not strings:\n" + "\n".join(bare)


def test_exercise_results_hold_the_enum():
    assert ExerciseResult("01", "x", 1.0, 1.0, Status.PASSED).status == "passed"
