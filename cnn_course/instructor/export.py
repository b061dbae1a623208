"""Writing grades out: a CSV gradebook, a long-format CSV, JSON, and Gradescope's results.json per learner."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from cnn_course.instructor.batch import GradingPlan
from cnn_course.instructor.results import SubmissionResult

GRADEBOOK, RESULTS_CSV, GRADES_JSON, GRADESCOPE_DIR = "gradebook.csv", "results.csv", "grades.json", "gradescope"


def number(value: float) -> int | float:
    """Return a whole number of points as an int (2, not 2.0), anything else unchanged."""
    return int(value) if float(value).is_integer() else value


def write_gradebook(path: Path, plan: GradingPlan, results: list[SubmissionResult]) -> None:
    """One row per learner: total, max total, then each assigned exercise's points and status."""
    names = [spec.name for spec in plan.exercises]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "total", "max_total", *names, *(f"{name} status" for name in names), "note"])
        for result in results:
            writer.writerow(
                [result.learner, number(result.total), number(result.max_total)]
                + [number(e.points) for e in result.exercises]
                + [e.status for e in result.exercises]
                + [result.note]
            )


def write_results_csv(path: Path, results: list[SubmissionResult]) -> None:
    """One row per learner and exercise: lesson, exercise, points, max points, status and feedback message."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "lesson", "exercise", "points", "max_points", "status", "message"])
        for result in results:
            for e in result.exercises:
                writer.writerow([result.learner, e.lesson, e.exercise, number(e.points), number(e.max_points), e.status, e.message])


def grades_document(plan: GradingPlan, results: list[SubmissionResult], graded_at: datetime) -> dict[str, Any]:
    """Return everything the batch found, as the JSON export holds it."""
    return {
        "graded_at": graded_at.isoformat(timespec="seconds"),
        "configuration": plan.config.where,
        "limits": {"submission_seconds": plan.time_limit, "memory_gib": plan.memory_limit_gib, "exercise_seconds": plan.exercise_timeout},
        "exercises": [{"lesson": plan.lessons[s.name], "exercise": s.name, "max_points": number(s.points)} for s in plan.exercises],
        "submissions": [
            {
                "learner": r.learner,
                "source": r.source,
                "total": number(r.total),
                "max_total": number(r.max_total),
                "seconds": round(r.seconds, 1),
                "run": r.run,
                "note": r.note,
                "exercises": [
                    {"lesson": e.lesson, "exercise": e.exercise, "points": number(e.points), "max_points": number(e.max_points), "status": e.status, "message": e.message}
                    for e in r.exercises
                ],
            }
            for r in results
        ],
    }


def gradescope_results(result: SubmissionResult) -> dict[str, Any]:
    """Return one submission in Gradescope's autograder results.json format (one test per exercise)."""
    return {
        "score": number(result.total),
        "execution_time": round(result.seconds),
        "output": result.note or f"{number(result.total)} of {number(result.max_total)} points.",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": f"{e.lesson} · {e.exercise}",
                "number": str(index),
                "score": number(e.points),
                "max_score": number(e.max_points),
                "status": "passed" if e.status == "passed" else "failed",
                "output": f"{e.status}\n{e.message}".strip(),
                "visibility": "visible",
            }
            for index, e in enumerate(result.exercises, start=1)
        ],
    }


def write_exports(folder: Path, plan: GradingPlan, results: list[SubmissionResult], graded_at: datetime) -> list[Path]:
    """Write the gradebook, results.csv, grades.json and gradescope/LEARNER/results.json; return their paths."""
    written = [folder / GRADEBOOK, folder / RESULTS_CSV, folder / GRADES_JSON]
    write_gradebook(written[0], plan, results)
    write_results_csv(written[1], results)
    written[2].write_text(json.dumps(grades_document(plan, results, graded_at), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for result in results:
        path = folder / GRADESCOPE_DIR / result.learner / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(gradescope_results(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
