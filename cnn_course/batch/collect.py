"""A pytest plugin for the grading subprocess: it logs each test's exercise, status and feedback as JSON lines.

The log is written as the run goes (collected tests first, then `start` and `result` records, and
a `finished` record last), so a run killed halfway still tells the batch grader what finished and
what was running. Each line is numbered and signed with the run's key (`RESULTS_KEY`, set by the
worker from a pipe), so the batch ignores lines anything else appended. A hidden test's feedback is
reduced to the property it checks (its docstring's first line): never its code, assertion or
expected values.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any, TextIO

import pytest

from cnn_course.batch.results_log import sign
from cnn_course.checks.feedback import CheckFailed, ExerciseError, ExerciseTimeout, NotAttempted
from cnn_course.grading.plugin import CHECK_SEED, EXERCISE_OUTCOME
from cnn_course.status import Status

_LOG = pytest.StashKey[TextIO]()
_SEQUENCE = pytest.StashKey[list[int]]()
RESULTS_KEY = b""  # set by cnn_course.batch.worker before pytest starts


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnn-course-batch", "cnn-course batch grading")
    group.addoption("--results-log", help="write one JSON line per collected, started and finished test to this file")
    group.addoption("--hidden-tests", help="folder of hidden tests: their feedback names the property, nothing else")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--results-log")
    if path:
        config.stash[_LOG] = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed at unconfigure
        config.stash[_SEQUENCE] = [0]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _LOG in config.stash:
        config.stash[_LOG].close()


def _write(config: pytest.Config, record: dict[str, Any]) -> None:
    """Append one record, numbered and signed as `batch.read_results_log` checks it."""
    if _LOG in config.stash:
        sequence = config.stash[_SEQUENCE]
        payload = json.dumps(record)
        tag = sign(RESULTS_KEY, sequence[0], payload)
        config.stash[_LOG].write(json.dumps({"seq": sequence[0], "record": payload, "tag": tag}) + "\n")
        sequence[0] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _write(session.config, {"event": "finished", "exitstatus": int(exitstatus)})


def _identity(item: pytest.Item) -> dict[str, str | None]:
    exercise, lesson = item.get_closest_marker("exercise"), item.get_closest_marker("lesson")
    return {
        "test": item.nodeid,
        "exercise": exercise.args[0] if exercise else None,
        "lesson": lesson.args[0] if lesson else None,
    }


def is_hidden(item: pytest.Item) -> bool:
    """True when the test lives in the --hidden-tests folder."""
    folder = item.config.getoption("--hidden-tests")
    return bool(folder) and Path(item.path).resolve().is_relative_to(Path(folder).resolve())


def hidden_property(item: pytest.Item) -> str:
    """The property a hidden test checks: the first line of its docstring."""
    function = getattr(item, "obj", None)
    doc = ((function.__doc__ if function is not None else None) or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else "a property the instructor checks"


def _chain(error: BaseException | None) -> list[BaseException]:
    found: list[BaseException] = []
    while error is not None and error not in found:
        found.append(error)
        error = error.__cause__ or error.__context__
    return found


def classify(error: BaseException | None) -> Status:
    """Map what a failing test raised to a status: timeout, failed (wrong result) or error (anything else).

    The chain of exceptions counts: the grading plugin re-raises a timeout or a failed assertion of
    a hidden test as an ExerciseError with a learner-facing message.
    """
    chain = _chain(error)
    if any(isinstance(e, ExerciseTimeout) for e in chain):
        return Status.TIMEOUT
    if any(isinstance(e, AssertionError) for e in chain):
        return Status.FAILED
    return Status.ERROR


def _memory_note(error: BaseException | None) -> str:
    if not any(isinstance(e, MemoryError) for e in _chain(error)):
        return ""
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    allowed = "" if limit == resource.RLIM_INFINITY else f" (grading allows {limit / 2**30:g} GiB per submission)"
    return (
        f"\nIt ran out of memory{allowed}: look for arrays far larger than the data, e.g. a (N, N) array of all pairs."
    )


def _hidden_message(item: pytest.Item, exercise: str, status: Status, error: BaseException | None) -> str:
    what = hidden_property(item)
    if status == Status.FAILED:
        return f"{exercise}: fails a hidden test: {what}."
    if status == Status.TIMEOUT:
        return f"{exercise}: did not finish in time in a hidden test: {what}."
    causes = [type(e).__name__ for e in _chain(error)[1:] if not isinstance(e, ExerciseError)]
    raised = f"raised {causes[0]}" if causes else "could not run"
    return f"{exercise}: {raised} in a hidden test: {what}." + _memory_note(error)


def _public_message(report: pytest.TestReport, error: BaseException | None) -> str:
    if isinstance(error, NotAttempted | CheckFailed | ExerciseError):
        return str(error) + _memory_note(error)
    if isinstance(error, pytest.fail.Exception):
        return error.msg
    if report.skipped and isinstance(report.longrepr, tuple):
        return report.longrepr[2].removeprefix("Skipped: ")
    return report.longreprtext.strip() + _memory_note(error)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run each exercise's tests (public, then hidden) together, so a run stopped halfway keeps whole exercises."""
    first: dict[str | None, int] = {}
    for item in items:
        first.setdefault(_identity(item)["exercise"], len(first))
    items.sort(key=lambda item: first[_identity(item)["exercise"]])


def pytest_collection_finish(session: pytest.Session) -> None:
    tests = [_identity(item) for item in session.items]
    _write(
        session.config, {"event": "collected", "tests": tests, "check_seed": session.config.stash.get(CHECK_SEED, None)}
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _write(item.config, {"event": "start", **_identity(item)})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "call" or report.outcome != "passed":
        error = item.stash.get(EXERCISE_OUTCOME, None) or (call.excinfo.value if call.excinfo else None)
        identity, hidden = _identity(item), is_hidden(item)
        exercise = identity["exercise"] or item.name
        if report.passed:
            status, message = Status.PASSED, ""
        elif report.skipped:
            status = Status.NOT_ATTEMPTED
            visible = not hidden or isinstance(error, NotAttempted)
            message = _public_message(report, error) if visible else f"{exercise}: not graded yet."
        else:
            status = classify(error)
            message = _hidden_message(item, exercise, status, error) if hidden else _public_message(report, error)
        _write(item.config, {"event": "result", **identity, "status": status, "message": message, "hidden": hidden})
    return report
