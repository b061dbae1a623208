"""From a grading run's signed records and exit to one result per assigned exercise, with the reason in words."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from cnn_course.batch.plan import GradingPlan
from cnn_course.batch.results_log import ResultsLog
from cnn_course.batch.submissions import Submission, link_note, model_file_problem
from cnn_course.gradebook.results import ExerciseResult, SubmissionResult, worst
from cnn_course.status import Status

# pytest's exit codes of a run that went to its end: all passed, some failed, and 5, which the grading plugin
# uses when every exercise is not attempted (nothing was graded; nothing crashed).
_FINISHED_CODES = (0, 1, 5)
_MEMORY_SIGNS = re.compile(
    r"MemoryError|bad_alloc|Cannot allocate memory|out of memory|OOM|ResourceExhausted", re.IGNORECASE
)


def describe_exit(code: int, log: Path) -> str:
    """Say in words how a grading process ended early, with a memory hint when its output suggests one."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        text = f"the grading process crashed ({name})"
        if name == "SIGKILL":
            text += ": killed by the system for using too much memory, or by the submission's own code"
    elif code in (2, 3, 4):
        text = f"pytest stopped with exit code {code} (interrupted, internal or usage error; see the log)"
    else:
        text = f"the grading process exited early (exit code {code})"
    output = log.read_text(encoding="utf-8", errors="replace")[-20_000:] if log.is_file() else ""
    if _MEMORY_SIGNS.search(output):
        text += "; it ran out of memory"
    return text


def _unfinished_message(exercise: str, running: str | None, how: str, plan: GradingPlan) -> str:
    if how == "timeout":
        limit = f"the {plan.time_limit:g} s limit for grading a whole submission"
        if exercise == running:
            per_exercise = plan.config.time_limits().get(exercise, plan.exercise_timeout)
            stop = f"the {per_exercise:g} s limit per exercise" if per_exercise else "the limit per exercise"
            return (
                f"{exercise}: still running when grading stopped at {limit}. Look for a loop that never ends, "
                "or code that catches every exception (a bare `except:`) and carries on, "
                f"so that {stop} cannot stop it."
            )
        during = f"while {running} was running" if running else "before this exercise's turn"
        return f"{exercise}: not graded: grading stopped at {limit}, {during}."
    if exercise == running:
        return f"{exercise}: {how} while grading this exercise."
    return f"{exercise}: not graded: {how}" + (f", while {running} was running." if running else ".")


def exercise_results(
    plan: GradingPlan, log: Path, results: ResultsLog, code: int | None, clean: Callable[[str], str]
) -> tuple[list[ExerciseResult], str, str]:
    """Combine the signed per-test records into one result per assigned exercise.

    Return them, the run kind and a note.
    """
    how = "timeout" if code is None else describe_exit(code, log)
    finished_ok = code in _FINISHED_CODES and results.finished
    if code in _FINISHED_CODES and not results.finished:
        how = "the grading run ended without its closing record"
    exercises, unfinished = [], False
    for spec in plan.exercises:
        tests = [t["test"] for t in (results.collected or []) if t["exercise"] == spec.name]
        records = [record for test in tests for record in results.results.get(test, [])]
        statuses = [record["status"] for record in records]
        messages = [clean(r["message"]) for r in records if r["status"] != Status.PASSED and r["message"]]
        if (
            results.collected is None
            or any(test not in results.results for test in tests)
            or (not tests and not finished_ok)
        ):
            unfinished = True
            statuses.append(Status.TIMEOUT if code is None else Status.ERROR)
            messages.append(_unfinished_message(spec.name, results.running, how, plan))
        elif not tests:
            statuses.append(Status.ERROR)
            messages.append(f"{spec.name}: no grader test ran for it; the instructor should check the graders.")
        status = worst(statuses)
        points = spec.points if status == Status.PASSED else 0.0
        hidden_records = [r for r in records if r.get("hidden")]
        hidden = "\n".join(
            dict.fromkeys(clean(r["message"]) for r in hidden_records if r["status"] != Status.PASSED and r["message"])
        )
        message = "\n".join(dict.fromkeys(messages))
        exercises.append(
            ExerciseResult(
                plan.lessons[spec.name],
                spec.name,
                points,
                spec.points,
                status,
                message,
                hidden=hidden if hidden_records else None,
            )
        )
    forged = (
        f"{results.foreign_lines} line(s) of the results log were not written by the grader and were ignored"
        if results.foreign_lines
        else ""
    )
    if not unfinished and finished_ok:
        if all(result.status == Status.NOT_ATTEMPTED for result in exercises):
            untouched = (
                "nothing to grade: no exercise is written (each still raises NotImplementedError) "
                "and no saved model was found"
            )
            return exercises, "not attempted", "; ".join(filter(None, [untouched, forged]))
        return exercises, "completed", forged
    notes = [forged] if forged else []
    if code is None:
        notes.insert(
            0,
            f"stopped at the {plan.time_limit:g} s limit"
            + (f" while grading {results.running}" if results.running else ""),
        )
        return exercises, "timeout", "; ".join(notes)
    notes.insert(0, how + (f" while grading {results.running}" if results.running else ""))
    return exercises, "crashed", "; ".join(notes)


def rejected(plan: GradingPlan, submission: Submission, reason: str, when: str | None = None) -> SubmissionResult:
    """Return the result of a submission that could not be graded at all.

    Every exercise is an error, with the reason.
    """
    message = f"the submission could not be graded: {reason}"
    exercises = [
        ExerciseResult(plan.lessons[s.name], s.name, 0.0, s.points, Status.ERROR, message) for s in plan.exercises
    ]
    return SubmissionResult(submission.learner, submission.source, exercises, 0.0, "rejected", reason, when)


def model_notes(lessons: Path) -> dict[str, str]:
    """What is wrong with each saved-model file of a submission, by its name under models/."""
    models = lessons / "models"
    found = (
        {f"models/{path.name}": model_file_problem(path) for path in sorted(models.glob("*.keras"))}
        if models.is_dir()
        else {}
    )
    return {name: problem for name, problem in found.items() if problem}


def with_model_notes(result: ExerciseResult, notes: dict[str, str]) -> ExerciseResult:
    """A saved-model exercise that did not pass, with what is wrong with its file unless its message says so already."""
    if result.status == Status.PASSED or not result.exercise.startswith("trained_"):
        return result
    extra = [note for name, note in notes.items() if name not in result.message]
    return replace(result, message="\n".join([result.message, *extra]).strip()) if extra else result


def link_notes(links: list[str], root: Path, lessons: Path) -> dict[str, str]:
    """The feedback for each symbolic link left out of a submission (`links`: paths relative to its `root`), by the
    link's path as the learner knows it: relative to the `lessons` folder when inside it (models/mnist_cnn.keras)."""
    notes = {}
    for link in links:
        path = root / link
        name = path.relative_to(lessons).as_posix() if path.is_relative_to(lessons) else link
        notes[name] = link_note(name)
    return notes


def with_link_notes(exercises: list[ExerciseResult], notes: dict[str, str]) -> tuple[list[ExerciseResult], list[str]]:
    """Add each link's note (`link_notes`) to the exercises that did not pass and that it concerns: those of the lesson
    it stands for (01_mnist_data.ipynb), or whose message names it (models/mnist_cnn.keras). Return the results and
    the notes that concern no such exercise, for the submission's own note."""
    placed: set[str] = set()
    updated = []
    for result in exercises:
        concerned = [
            name
            for name in notes
            if result.status != Status.PASSED and (name in result.message or PurePosixPath(name).stem == result.lesson)
        ]
        placed.update(concerned)
        extra = [notes[name] for name in concerned]
        updated.append(replace(result, message="\n".join([result.message, *extra]).strip()) if extra else result)
    return updated, [note for name, note in notes.items() if name not in placed]
